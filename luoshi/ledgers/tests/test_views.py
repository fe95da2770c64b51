"""Every ledgers screen, for the roles that use it, and what bad input gets."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from luoshi.ledgers.models import EventKind, ExtensionStatus, Item, ItemStatus, ProgressReport, ReportStatus

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def login(client, user):
    client.force_login(user)
    return client


def test_login_page_and_login_lands_on_my_work(client, world):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "密码" in response.content.decode()
    response = client.post(
        reverse("login"), {"username": "supervisor", "password": world.password}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("ledgers:my_work")


def test_bad_login_is_told_in_chinese(client, world):
    response = client.post(reverse("login"), {"username": "supervisor", "password": "wrong"})
    assert "用户名或密码不正确" in response.content.decode()


def test_anonymous_is_sent_to_login(client, world):
    for url in (
        reverse("ledgers:my_work"),
        reverse("ledgers:item_list"),
        reverse("ledgers:item_detail", args=[world.item.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_my_work_shows_each_role_what_waits(client, world):
    world.advance(world.item, ItemStatus.ASSIGNED)
    page = login(client, world.lead_liaison).get(reverse("ledgers:my_work")).content.decode()
    assert 'data-section="to_accept"' in page
    assert world.item.title in page
    page = login(client, world.supervisor).get(reverse("ledgers:my_work")).content.decode()
    assert 'data-section="to_review"' in page


def test_admin_has_no_business_screens(client, world):
    login(client, world.system_admin)
    assert client.get(reverse("ledgers:item_list")).status_code == 404
    assert client.get(reverse("ledgers:item_detail", args=[world.item.pk])).status_code == 404


def test_item_list_filters_by_unit_subtree_colour_and_text(client, world):
    other = world.make_item(title="教育园区建设", lead_org=world.unrelated_unit)
    sub = world.make_item(title="投资项目储备", lead_org=world.sub_unit)
    login(client, world.supervisor)
    url = reverse("ledgers:item_list")
    page = client.get(url, {"org": world.lead_unit.pk}).content.decode()
    assert world.item.title in page and sub.title in page and other.title not in page
    page = client.get(url, {"q": "jyj"}).content.decode()  # pinyin initials of 区教育局's short name
    assert other.title in page and world.item.title not in page
    page = client.get(url, {"q": "园区"}).content.decode()
    assert other.title in page and sub.title not in page
    page = client.get(url, {"color": "red"}).content.decode()
    assert world.item.title not in page


def test_item_list_htmx_returns_only_the_results(client, world):
    login(client, world.supervisor)
    response = client.get(reverse("ledgers:item_list"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert 'id="results"' in body
    assert "<html" not in body


def test_item_list_query_count_does_not_grow_with_rows(client, world):
    login(client, world.supervisor)
    url = reverse("ledgers:item_list")
    client.get(url)  # warm-up: warnings refresh, session, caches

    def count():
        with CaptureQueriesContext(connection) as context:
            assert client.get(url, {"per_page": 100}).status_code == 200
        return len(context.captured_queries)

    few = count()
    for index in range(30):
        world.make_item(title=f"批量事项{index}", co_orgs=[world.co_unit], lead_leader=world.leader)
    assert count() == few


def test_item_detail_query_count_does_not_grow_with_timeline(client, world):
    item = world.advance(world.item, ItemStatus.IN_PROGRESS)
    login(client, world.supervisor)
    url = reverse("ledgers:item_detail", args=[item.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    from luoshi.ledgers import services

    for index in range(10):
        services.add_comment(item=item, user=world.supervisor, text=f"评论{index}")
    with CaptureQueriesContext(connection) as after:
        client.get(url)
    assert len(after.captured_queries) == len(before.captured_queries)


def test_create_item_with_bad_dates_writes_nothing(client, world):
    login(client, world.supervisor)
    count = Item.objects.count()
    today = timezone.localdate()
    response = client.post(
        reverse("ledgers:item_create", args=[world.ledger.pk]),
        {
            "kind": "task",
            "title": "新事项",
            "source": "meeting",
            "lead_org": world.lead_unit.pk,
            "start_date": today.isoformat(),
            "deadline": (today - dt.timedelta(days=3)).isoformat(),
            "report_cycle": "monthly",
            "weight": "1",
        },
    )
    assert response.status_code == 200
    assert "不能早于开始日期" in response.content.decode()
    assert Item.objects.count() == count


def test_create_item_with_unknown_unit_and_wrong_date(client, world):
    login(client, world.supervisor)
    response = client.post(
        reverse("ledgers:item_create", args=[world.ledger.pk]),
        {
            "kind": "task",
            "title": "新事项",
            "source": "meeting",
            "lead_org": 999999,
            "start_date": "2026-02-30",
            "report_cycle": "monthly",
            "weight": "1",
        },
    )
    body = response.content.decode()
    assert "选择一个有效的选项" in body or "有效" in body
    assert "日期" in body


def test_create_item_as_supervisor(client, world):
    login(client, world.supervisor)
    today = timezone.localdate()
    response = client.post(
        reverse("ledgers:item_create", args=[world.ledger.pk]),
        {
            "kind": "task",
            "title": "建设智慧社区",
            "source": "meeting",
            "lead_org": world.lead_unit.pk,
            "co_orgs": [world.co_unit.pk],
            "start_date": today.isoformat(),
            "deadline": (today + dt.timedelta(days=90)).isoformat(),
            "report_cycle": "monthly",
            "weight": "1",
        },
    )
    item = Item.objects.get(title="建设智慧社区")
    assert response.status_code == 302
    assert list(item.co_orgs.all()) == [world.co_unit]


def test_stale_edit_is_refused_and_keeps_the_input(client, world):
    item = world.item
    login(client, world.supervisor)
    form_version = item.version
    from luoshi.ledgers import services

    services.update_item(
        item=Item.objects.get(pk=item.pk), user=world.supervisor, version=form_version, title="别人改的标题"
    )
    response = client.post(
        reverse("ledgers:item_edit", args=[item.pk]),
        {
            "version": form_version,
            "kind": "task",
            "title": "我的标题",
            "source": "meeting",
            "lead_org": world.lead_unit.pk,
            "start_date": item.start_date.isoformat(),
            "deadline": item.deadline.isoformat(),
            "report_cycle": "monthly",
            "weight": "1",
        },
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert "已被其他人修改" in body
    assert "我的标题" in body  # the user's input is still in the form
    assert "别人改的标题" in body  # and they see what is stored now
    assert Item.objects.get(pk=item.pk).title == "别人改的标题"


def test_workflow_through_the_screens(client, world):
    item = world.item
    login(client, world.supervisor)
    url = reverse("ledgers:item_transition", args=[item.pk])
    client.post(url, {"action": "assign", "version": Item.objects.get(pk=item.pk).version})
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ASSIGNED

    login(client, world.lead_liaison)
    response = client.post(url, {"action": "accept"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="panels"' in response.content.decode()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ACCEPTED

    response = client.post(url, {"action": "complete"}, follow=True)
    assert "无权" in response.content.decode() or "不能执行" in response.content.decode()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ACCEPTED


def test_report_with_evidence_then_review(client, world):
    item = world.advance(world.item, ItemStatus.ACCEPTED)
    login(client, world.lead_liaison)
    response = client.post(
        reverse("ledgers:report_create", args=[item.pk]),
        {
            "text": "完成可研批复",
            "percent_complete": 40,
            "evidence": [SimpleUploadedFile("批复.pdf", PDF, content_type="application/pdf")],
        },
    )
    assert response.status_code == 302
    report = ProgressReport.objects.get(item=item)
    assert report.status == ReportStatus.SUBMITTED
    evidence = report.evidence.get()
    assert client.get(reverse("ledgers:evidence_download", args=[evidence.pk])).status_code == 200

    login(client, world.unrelated_liaison)
    assert client.get(reverse("ledgers:evidence_download", args=[evidence.pk])).status_code == 404

    login(client, world.supervisor)
    client.post(
        reverse("ledgers:report_review", args=[report.pk]), {"decision": "return", "comment": "请补充照片"}
    )
    report.refresh_from_db()
    assert report.status == ReportStatus.RETURNED
    assert item.events.filter(kind=EventKind.REPORT_RETURNED).exists()


def test_evidence_of_wrong_type_is_refused_and_nothing_written(client, world):
    item = world.advance(world.item, ItemStatus.ACCEPTED)
    login(client, world.lead_liaison)
    response = client.post(
        reverse("ledgers:report_create", args=[item.pk]),
        {
            "text": "进展",
            "percent_complete": 10,
            "evidence": [
                SimpleUploadedFile(
                    "报告.pdf", b"MZ\x90\x00 this is a program", content_type="application/pdf"
                )
            ],
        },
    )
    assert response.status_code == 200
    assert "不是允许的类型" in response.content.decode()
    assert not ProgressReport.objects.filter(item=item).exists()


def test_evidence_over_the_size_limit_is_refused(client, world, settings):
    settings.EVIDENCE_MAX_BYTES = 20
    item = world.advance(world.item, ItemStatus.ACCEPTED)
    login(client, world.lead_liaison)
    response = client.post(
        reverse("ledgers:report_create", args=[item.pk]),
        {"text": "进展", "percent_complete": 10, "evidence": [SimpleUploadedFile("a.pdf", PDF)]},
    )
    assert "超过" in response.content.decode()
    assert not ProgressReport.objects.filter(item=item).exists()


def test_extension_request_and_decision(client, world):
    item = world.advance(world.item, ItemStatus.IN_PROGRESS)
    login(client, world.lead_liaison)
    new_deadline = item.deadline + dt.timedelta(days=30)
    client.post(
        reverse("ledgers:extension_request", args=[item.pk]),
        {"new_deadline": new_deadline.isoformat(), "reason": "征地未完成"},
    )
    extension = item.extension_requests.get()
    login(client, world.supervisor)
    client.post(
        reverse("ledgers:extension_decide", args=[extension.pk]), {"decision": "approve", "comment": "同意"}
    )
    extension.refresh_from_db()
    item.refresh_from_db()
    assert extension.status == ExtensionStatus.APPROVED
    assert item.deadline == new_deadline
    assert item.original_deadline != new_deadline


def test_bulk_assign_is_all_or_nothing(client, world):
    draft = world.make_item(title="待交办")
    done = world.advance(world.make_item(title="已交办"), ItemStatus.ASSIGNED)
    login(client, world.supervisor)
    response = client.post(
        reverse("ledgers:item_bulk"), {"action": "assign", "pk": [draft.pk, done.pk]}, follow=True
    )
    assert "没有任何事项被修改" in response.content.decode()
    assert Item.objects.get(pk=draft.pk).status == ItemStatus.DRAFT


def test_saved_filter_round_trip(client, world):
    login(client, world.supervisor)
    client.post(reverse("ledgers:saved_filter_save"), {"name": "红色", "query": "color=red"})
    page = client.get(reverse("ledgers:item_list")).content.decode()
    assert "红色" in page and "?color=red" in page


def test_ledger_list_and_create(client, world):
    login(client, world.supervisor)
    assert world.ledger.name in client.get(reverse("ledgers:ledger_list")).content.decode()
    response = client.post(
        reverse("ledgers:ledger_create"),
        {
            "name": "民生实事",
            "year": 2026,
            "owner_office": world.office.pk,
            "item_kind": "task",
            "default_report_cycle": "monthly",
            "yellow_tolerance": 10,
            "red_tolerance": 30,
            "due_soon_days": 3,
            "report_grace_days": 2,
        },
    )
    assert response.status_code == 302
    login(client, world.lead_liaison)
    assert client.get(reverse("ledgers:ledger_create")).status_code == 404


def test_my_work_links_a_long_section_to_the_full_list(client, world):
    for index in range(12):
        world.advance(world.make_item(title=f"待签收事项{index}"), ItemStatus.ASSIGNED)
    page = login(client, world.lead_liaison).get(reverse("ledgers:my_work")).content.decode()
    assert 'data-testid="count-to_accept">12<' in page
    assert "查看全部" in page and "status=assigned" in page
