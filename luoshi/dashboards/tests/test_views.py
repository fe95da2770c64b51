import datetime as dt
import json
from collections import Counter
from urllib.parse import parse_qs, urlsplit

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from luoshi.assessment import services as assessment
from luoshi.assessment.tests.factories import Q3_AS_OF, office_scheme, q3
from luoshi.ledgers.models import Item, ItemStatus, ScheduleCategory, WarningColor
from luoshi.ledgers.tests.factories import LedgerFactory, advance
from luoshi.orgs.models import Role
from luoshi.orgs.tests.factories import OrganisationFactory, UserFactory, grant, liaison

URL = reverse("dashboards:battle_map")


def _query(url):
    return parse_qs(urlsplit(url).query)


def _populate(world):
    """Items in known states: 2 done on time (lead unit, co unit), 1 done late, 1 red, 1 draft."""
    today = timezone.localdate()
    on_time = world.make_item(title="按时办结")
    advance(on_time, ItemStatus.COMPLETED, supervisor=world.supervisor, liaison=world.lead_liaison)
    late = world.make_item(
        title="超期办结", start_date=today - dt.timedelta(days=60), deadline=today - dt.timedelta(days=5)
    )
    advance(late, ItemStatus.CLOSED, supervisor=world.supervisor, liaison=world.lead_liaison)
    co = world.make_item(title="财政按时", lead_org=world.co_unit)
    advance(co, ItemStatus.COMPLETED, supervisor=world.supervisor, liaison=world.co_liaison)
    red = world.make_item(
        title="已超期", start_date=today - dt.timedelta(days=60), deadline=today - dt.timedelta(days=1)
    )
    advance(red, ItemStatus.IN_PROGRESS, supervisor=world.supervisor, liaison=world.lead_liaison)
    return {"on_time": on_time, "late": late, "co": co, "red": red}


def test_for_business_roles_only(client, world):
    for name, user in {**world.business_users, **world.admins}.items():
        client.force_login(user)
        expected = 404 if name in world.admins else 200
        assert client.get(URL).status_code == expected, name
    client.logout()
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_counts_match_the_data(client, world):
    _populate(world)
    client.force_login(world.supervisor)
    response = client.get(URL)
    assert response.status_code == 200
    context = response.context
    items = list(Item.objects.visible_to(world.supervisor))
    assert context["total"] == len(items) == 5

    colors = {c["key"]: c["count"] for c in context["colors"]}
    assert colors == {key: Counter(i.warning_color for i in items)[key] for key in WarningColor.values}
    assert colors[WarningColor.DONE] == 3 and colors[WarningColor.RED] == 1

    statuses = {s["key"]: s["count"] for s in context["statuses"]}
    assert statuses == {key: Counter(i.status for i in items)[key] for key in ItemStatus.values}
    assert statuses[ItemStatus.COMPLETED] == 2 and statuses[ItemStatus.CLOSED] == 1

    schedule = {s["key"]: s["count"] for s in context["schedule"]}
    assert [s["label"] for s in context["schedule"]] == [
        "已完成",
        "达到序时进度",
        "未达到序时进度",
        "尚未启动",
    ]
    assert schedule[ScheduleCategory.DONE] == 3
    assert schedule[ScheduleCategory.BEHIND] == Counter(i.schedule_category for i in items)["behind"] == 1

    # Units ranked by on-time rate: 区财政局 1/1, 区发改局 1/2.
    units = [(u["row"].org_id, u["row"].done, u["row"].on_time, u["row"].rate) for u in context["units"]]
    assert units == [(world.co_unit.pk, 1, 1, 100.0), (world.lead_unit.pk, 2, 1, 50.0)]

    # Deadline months of this year, by colour.
    year = timezone.localdate().year
    assert context["year"] == year and len(context["months"]) == 12
    expected = Counter(i.deadline.month for i in items if i.deadline and i.deadline.year == year)
    assert [m["total"] for m in context["months"]] == [expected[m] for m in range(1, 13)]

    html = response.content.decode()
    assert 'data-testid="units"' in html and "区财政局" in html and "50.0%" in html
    assert 'id="battle-map-data" type="application/json"' in html
    assert "vendor/echarts/echarts.min.js" in html and "dashboards/battle_map.js" in html
    assert " style=" not in html and "<script>" not in html


def test_every_figure_drills_down_to_the_item_list(client, world):
    _populate(world)
    client.force_login(world.supervisor)
    response = client.get(URL, {"ledger": world.ledger.pk})
    context = response.context
    item_list = reverse("ledgers:item_list")
    red = next(c for c in context["colors"] if c["key"] == WarningColor.RED)
    assert red["url"].startswith(item_list)
    assert _query(red["url"]) == {"ledger": [str(world.ledger.pk)], "color": ["red"]}
    completed = next(s for s in context["statuses"] if s["key"] == ItemStatus.COMPLETED)
    assert _query(completed["url"])["status"] == ["completed"]
    behind = next(s for s in context["schedule"] if s["key"] == ScheduleCategory.BEHIND)
    assert _query(behind["url"])["schedule"] == ["behind"]
    unit = context["units"][0]
    assert _query(unit["url"]) == {
        "ledger": [str(world.ledger.pk)],
        "lead_org": [str(world.co_unit.pk)],
        "status": ["completed", "closed"],
    }
    march = context["months"][2]
    assert _query(march["url"])["deadline_after"] == [f"{context['year']}-03-01"]
    assert _query(march["url"])["deadline_before"] == [f"{context['year']}-03-31"]
    # The same URLs reach the charts through the JSON data, and the plain tables as links.
    html = response.content.decode()
    data = json.loads(html.split('id="battle-map-data" type="application/json">')[1].split("</script>")[0])
    assert {d["url"] for d in data["colors"]} == {c["url"] for c in context["colors"]}
    assert data["units"][0]["url"] == unit["url"]
    assert red["url"].replace("&", "&amp;") in html
    # Drilling down: the item list shows exactly the red items.
    listed = client.get(red["url"]).context["table"].page.object_list
    assert [row.record.title for row in listed] == ["已超期"]


def test_scoped_to_what_the_user_may_see(client, world):
    _populate(world)
    world.advance(world.item, ItemStatus.ASSIGNED)  # a draft is the office's alone
    client.force_login(world.unrelated_liaison)
    assert client.get(URL).context["total"] == 0
    client.force_login(world.co_liaison)
    context = client.get(URL).context
    visible = Item.objects.visible_to(world.co_liaison)
    assert context["total"] == visible.count() == 2  # led by co_unit, and world.item as co-unit
    assert [u["row"].org_id for u in context["units"]] == [world.co_unit.pk]


def test_filter_by_ledger(client, world):
    _populate(world)
    other = LedgerFactory(name="另一台账", owner_office=world.office)
    world.make_item(ledger=other, title="别的台账事项")
    client.force_login(world.supervisor)
    assert client.get(URL).context["total"] == 6
    response = client.get(URL, {"ledger": other.pk})
    assert response.context["total"] == 1 and response.context["ledger"] == other
    assert response.context["units"] == []
    # A ledger the user cannot see is not a filter; the page says so and shows what they may see.
    client.force_login(world.unrelated_liaison)
    response = client.get(URL, {"ledger": other.pk})
    assert response.status_code == 200 and response.context["ledger"] is None
    assert "筛选条件无效" in response.content.decode()


def test_query_count_does_not_grow_with_items_or_units(client, world):
    client.force_login(world.supervisor)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    for _ in range(4):
        world.make_item()
    assert Item.objects.count() == 5
    few = count()
    today = timezone.localdate()
    for i in range(25):
        unit = OrganisationFactory(name=f"测试乡镇{i}", parent=world.government)
        deadline = today + dt.timedelta(days=20 * i - 200)
        item = world.make_item(
            lead_org=unit, start_date=min(today, deadline) - dt.timedelta(days=10), deadline=deadline
        )
        if i % 3 == 0:
            advance(item, ItemStatus.COMPLETED, supervisor=world.supervisor, liaison=liaison(unit))
    assert Item.objects.count() == 30
    many = count()
    assert many == few
    assert many <= 15, many  # 11 today: session, user, profile (2), warnings check, ledgers, 5 GROUP BYs


def test_the_latest_published_ranking_is_on_the_battle_map(client, world):
    scheme = office_scheme(world, objection_days=0)
    period = q3(world, scheme)
    assessment.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    client.force_login(world.lead_liaison)
    assert "battle-map-ranking" not in client.get(URL).content.decode()  # not yet published
    assessment.publish(user=world.supervisor, period=period)
    page = client.get(URL).content.decode()
    assert (
        'data-testid="battle-map-ranking"' in page
        and "2026年第三季度" in page
        and 'id="ranking-data"' in page
    )
    assert "区直部门" in page and "垂管单位" in page
    # A unit that no scheme assesses sees no ranking.
    other = OrganisationFactory(name="区审计局", parent=world.government)
    outsider = UserFactory(username="outsider")
    grant(outsider, other, Role.LIAISON)
    client.force_login(outsider)
    assert "battle-map-ranking" not in client.get(URL).content.decode()
