"""The inbox, the header badge, preferences, robots and the dead letters, through the browser's requests."""

from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from luoshi.notifications import services
from luoshi.notifications.models import (
    Channel,
    ChannelKind,
    Delivery,
    DeliveryStatus,
    Event,
    Notification,
    Preference,
)
from luoshi.notifications.tests.conftest import SECRET
from luoshi.notifications.tests.factories import make_channel


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _notify(user, n: int, event=Event.URGED, prefix="催办"):
    for i in range(n):
        services.notify(
            event=event, recipients=[user], title=f"{prefix}{i}", url=f"/items/{i}/", key=f"{prefix}:{i}"
        )


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_inbox_shows_own_messages_unread_first(client, world):
    _notify(world.handler, 2)
    _notify(world.lead_liaison, 1, prefix="别人的")
    services.mark_read(user=world.handler, notification=Notification.objects.get(key="催办:1"))
    client.force_login(world.handler)

    page = client.get(reverse("notifications:inbox")).content.decode()

    assert "催办0" in page and "催办1" in page and "别人的" not in page
    assert page.index("催办0") < page.index("催办1")
    assert 'href="/items/0/"' in page
    assert page.count(">标为已读<") == 1


def test_inbox_filters_by_event(client, world):
    _notify(world.handler, 1)
    _notify(world.handler, 1, event=Event.DIGEST, prefix="摘要")
    client.force_login(world.handler)

    page = client.get(reverse("notifications:inbox"), {"event": Event.DIGEST}).content.decode()
    assert "摘要0" in page and "催办0" not in page


def test_inbox_and_badge_queries_do_not_grow_with_rows(client, world):
    client.force_login(world.handler)
    _notify(world.handler, 2)
    url = reverse("notifications:inbox")
    few = _queries(client, url)
    _notify(world.handler, 20, prefix="更多")
    assert _queries(client, url) == few


def test_header_badge_is_one_count_query(client, world):
    _notify(world.handler, 3)
    client.force_login(world.handler)

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("notifications:preferences")).content.decode()
    assert 'data-testid="unread-badge">3<' in page
    counts = [q["sql"] for q in queries if "notifications_notification" in q["sql"]]
    assert len(counts) == 1 and "COUNT" in counts[0]

    services.mark_all_read(user=world.handler)
    assert "unread-badge" not in client.get(reverse("notifications:preferences")).content.decode()


def test_mark_one_and_all_read(client, world):
    _notify(world.handler, 3)
    _notify(world.lead_liaison, 1, prefix="别人的")
    client.force_login(world.handler)
    first = Notification.objects.get(key="催办:0")

    assert client.post(reverse("notifications:mark_read", args=[first.pk])).status_code == 302
    first.refresh_from_db()
    assert first.read_at is not None

    others = Notification.objects.get(recipient=world.lead_liaison)
    assert client.post(reverse("notifications:mark_read", args=[others.pk])).status_code == 404

    response = client.post(reverse("notifications:mark_all_read"))
    assert "已将 2 条消息标为已读。" in _messages(response)
    assert not Notification.objects.filter(recipient=world.handler, read_at__isnull=True).exists()
    assert Notification.objects.get(pk=others.pk).read_at is None


def test_preferences_page_saves_choices(client, world):
    client.force_login(world.handler)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert "督办升级" in page and "报送提醒" in page

    response = client.post(reverse("notifications:preferences"), {"email_events": [Event.REPORT_DUE]})
    assert response.status_code == 302
    assert services.email_preferences(world.handler)[Event.REPORT_DUE] is True
    assert services.email_preferences(world.handler)[Event.URGED] is False
    assert Preference.objects.filter(user=world.handler).count() == len(Event.values)

    response = client.post(reverse("notifications:preferences"), {"email_events": ["nonsense"]})
    assert response.status_code == 200 and "nonsense" in response.content.decode()


def test_channel_list_is_scoped(client, world):
    make_channel(user=world.supervisor, ledger=world.ledger, name="督查室钉钉群")
    make_channel(
        user=world.co_liaison, organisation=world.co_unit, name="财政局企微群", kind=ChannelKind.WECOM
    )
    client.force_login(world.supervisor)

    page = client.get(reverse("notifications:channel_list")).content.decode()
    assert "督查室钉钉群" in page and "财政局企微群" not in page
    assert "good-token" not in page  # the token stays out of lists

    client.force_login(world.handler)
    assert client.get(reverse("notifications:channel_list")).status_code == 404


def test_channel_list_queries_do_not_grow(client, world):
    client.force_login(world.supervisor)
    make_channel(user=world.supervisor, ledger=world.ledger)
    few = _queries(client, reverse("notifications:channel_list"))
    for n in range(10):
        make_channel(user=world.supervisor, organisation=world.office, name=f"群{n}")
    assert _queries(client, reverse("notifications:channel_list")) == few


def test_create_channel_for_own_ledger_only(client, world, robot):
    client.force_login(world.supervisor)
    data = {
        "kind": ChannelKind.FEISHU,
        "name": "督查室飞书群",
        "webhook_url": robot.url("feishu"),
        "secret": SECRET,
        "ledger": world.ledger.pk,
        "events": [Event.URGED, Event.OVERDUE],
        "is_active": "on",
    }
    response = client.post(reverse("notifications:channel_create"), data)
    channel = Channel.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "notifications:channel_edit", args=[channel.pk]
    )
    assert channel.events == [Event.URGED, Event.OVERDUE] and channel.created_by == world.supervisor

    # Another office's supervisor cannot pick this ledger, nor see the robot.
    client.force_login(world.other_supervisor)
    response = client.post(reverse("notifications:channel_create"), {**data, "name": "抢占"})
    assert response.status_code == 200 and "ledger" in response.context["form"].errors
    assert client.get(reverse("notifications:channel_edit", args=[channel.pk])).status_code == 404


def test_create_channel_shows_what_to_fix(client, world):
    client.force_login(world.lead_liaison)
    data = {
        "kind": ChannelKind.WECOM,
        "name": "群",
        "webhook_url": "file:///etc/passwd",
        "organisation": world.lead_unit.pk,
    }
    response = client.post(reverse("notifications:channel_create"), data)

    assert response.status_code == 200
    assert "http://" in " ".join(response.context["form"].errors["webhook_url"])
    assert not Channel.objects.exists()


def test_edit_keeps_the_secret_and_refuses_a_stale_version(client, world):
    channel = make_channel(user=world.supervisor, ledger=world.ledger)
    client.force_login(world.supervisor)
    page = client.get(reverse("notifications:channel_edit", args=[channel.pk])).content.decode()
    assert SECRET not in page

    data = {
        "kind": channel.kind,
        "name": "改名后的群",
        "webhook_url": channel.webhook_url,
        "secret": "",
        "ledger": world.ledger.pk,
        "is_active": "on",
        "version": channel.version,
    }
    assert client.post(reverse("notifications:channel_edit", args=[channel.pk]), data).status_code == 302
    channel.refresh_from_db()
    assert channel.name == "改名后的群" and channel.secret == SECRET and channel.version == 2

    response = client.post(
        reverse("notifications:channel_edit", args=[channel.pk]), {**data, "name": "旧版本"}
    )
    assert response.status_code == 409
    assert Channel.objects.get(pk=channel.pk).name == "改名后的群"


def test_test_send_shows_the_robots_answer(client, world, robot):
    good = make_channel(user=world.supervisor, ledger=world.ledger, url=robot.url("dingtalk"))
    bad = make_channel(
        user=world.supervisor, organisation=world.office, url=robot.url("dingtalk"), secret="wrong"
    )
    client.force_login(world.supervisor)

    response = client.post(reverse("notifications:channel_test", args=[good.pk]))
    assert any("测试消息已发送" in m and "ok" in m for m in _messages(response))
    assert robot.requests[-1]["body"]["markdown"]["title"] == "【落实】测试消息"

    response = client.post(reverse("notifications:channel_test", args=[bad.pk]))
    assert any("测试消息发送失败" in m and "310000" in m for m in _messages(response))
    assert not Delivery.objects.exists()

    client.force_login(world.other_supervisor)
    assert client.post(reverse("notifications:channel_test", args=[good.pk])).status_code == 404


def _dead(world, channel, key="dead:1"):
    services.notify(
        event=Event.OVERDUE,
        recipients=[],
        title=f"超期 {key}",
        key=key,
        ledger=channel.ledger,
        organisations=[channel.organisation] if channel.organisation else [],
    )
    delivery = Delivery.objects.get(key=key, channel=channel)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DEAD, attempts=6, last_error="310000 sign not match"
    )
    return delivery


def test_dead_letters_list_and_retry(client, world):
    mine = _dead(world, make_channel(user=world.supervisor, ledger=world.ledger))
    theirs = _dead(world, make_channel(user=world.co_liaison, organisation=world.co_unit), key="dead:2")
    client.force_login(world.supervisor)

    page = client.get(reverse("notifications:delivery_list")).content.decode()
    assert "超期 dead:1" in page and "310000 sign not match" in page and "超期 dead:2" not in page

    assert client.post(reverse("notifications:delivery_retry", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notifications:delivery_retry", args=[mine.pk])).status_code == 302
    mine.refresh_from_db()
    assert mine.status == DeliveryStatus.PENDING and mine.attempts == 0

    client.force_login(world.system_admin)
    table = client.get(reverse("notifications:delivery_list")).context["table"]
    assert [row.record.title for row in table.page.object_list] == ["超期 dead:2"]  # dead:1 is pending again

    client.force_login(world.handler)
    assert client.get(reverse("notifications:delivery_list")).status_code == 404


def test_dead_letter_queries_do_not_grow(client, world):
    channel = make_channel(user=world.supervisor, ledger=world.ledger)
    _dead(world, channel)
    client.force_login(world.supervisor)
    few = _queries(client, reverse("notifications:delivery_list"))
    for n in range(10):
        _dead(world, channel, key=f"more:{n}")
    assert _queries(client, reverse("notifications:delivery_list")) == few
