"""The order screens: list, detail with its actions, issuing, replying with files, downloads, the item page."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core.tests import files
from luoshi.core.tests.files import upload
from luoshi.ledgers.models import ItemStatus
from luoshi.supervision import services
from luoshi.supervision.models import OrderEvent, OrderEvidence, OrderLevel, OrderStatus, SupervisionOrder
from luoshi.supervision.tests.test_orders_workflow import make_order

TODAY = timezone.localdate()


def login(client, user):
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


@pytest.fixture
def order(world):
    world.advance(world.item, ItemStatus.IN_PROGRESS)
    return make_order(world, level=OrderLevel.LISTED)


# List ----------------------------------------------------------------------------------------------------


def test_list_shows_the_orders_the_user_sees(client, world, order):
    make_order(world, organisation=world.unrelated_unit, subject="教育局的督办单")
    response = login(client, world.lead_liaison).get(reverse("supervision:order_list"))
    page = response.content.decode()
    assert response.status_code == 200
    assert order.number in page and order.subject in page and "挂牌督办" in page
    assert "教育局的督办单" not in page
    assert reverse("supervision:order_create") not in page  # only supervisors issue


def test_list_filters_overdue_replies(client, world, order):
    late = make_order(world, subject="逾期未回复的督办单")
    SupervisionOrder.objects.filter(pk=late.pk).update(reply_deadline=TODAY - dt.timedelta(days=1))
    response = login(client, world.supervisor).get(reverse("supervision:order_list"), {"overdue": "on"})
    page = response.content.decode()
    assert "逾期未回复的督办单" in page and order.subject not in page
    assert reverse("supervision:order_create") in page


def test_list_query_count_does_not_grow_with_rows(client, world, order):
    login(client, world.supervisor)
    url = reverse("supervision:order_list")
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    few = count()
    for index in range(15):
        make_order(world, subject=f"批量督办{index}", organisation=world.co_unit)
    assert count() == few


# Detail and actions -------------------------------------------------------------------------------------


def test_detail_shows_the_order_and_the_units_actions(client, world, order):
    response = login(client, world.lead_liaison).get(order.get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert "督〔" in page and order.subject in page and world.item.title in page
    assert 'data-action="sign"' in page and reverse("supervision:order_reply", args=[order.pk]) in page
    assert 'data-action="close"' not in page
    supervisor_page = login(client, world.supervisor).get(order.get_absolute_url()).content.decode()
    assert 'data-action="sign"' not in supervisor_page


def test_detail_query_count_does_not_grow_with_history(client, world, order):
    login(client, world.supervisor)
    client.get(order.get_absolute_url())
    with CaptureQueriesContext(connection) as before:
        client.get(order.get_absolute_url())
    services.reply_order(
        order=order, user=world.lead_liaison, reply="已办理", files=[upload("a.pdf", files.PDF)]
    )
    services.reopen_order(
        order=order, user=world.supervisor, comment="不全", reply_deadline=TODAY + dt.timedelta(days=3)
    )
    services.reply_order(
        order=order, user=world.lead_liaison, reply="已补充", files=[upload("b.png", files.PNG)]
    )
    with CaptureQueriesContext(connection) as after:
        client.get(order.get_absolute_url())
    assert len(after.captured_queries) == len(before.captured_queries)


def test_sign_from_the_page(client, world, order):
    response = login(client, world.handler).post(
        reverse("supervision:order_action", args=[order.pk]), {"action": "sign", "version": order.version}
    )
    assert response.status_code == 302
    assert SupervisionOrder.objects.get(pk=order.pk).status == OrderStatus.SIGNED


def test_a_stale_action_is_a_409_and_changes_nothing(client, world, order):
    seen = order.version
    services.sign_order(order=order, user=world.lead_liaison)
    response = login(client, world.handler).post(
        reverse("supervision:order_action", args=[order.pk]), {"action": "sign", "version": seen}
    )
    assert response.status_code == 409
    assert "督办单已被其他人更新" in response.content.decode()
    assert SupervisionOrder.objects.get(pk=order.pk).version == seen + 1


def test_a_refused_action_says_why(client, world, order):
    response = login(client, world.supervisor).post(
        reverse("supervision:order_action", args=[order.pk]),
        {"action": "close", "version": order.version},
        follow=True,
    )
    assert "当前状态为「已下发」，不能执行「办结」。" in messages_of(response)
    assert SupervisionOrder.objects.get(pk=order.pk).status == OrderStatus.ISSUED


def test_close_and_reopen_from_the_page(client, world, order):
    services.reply_order(order=order, user=world.lead_liaison, reply="已办理")
    login(client, world.supervisor)
    url = reverse("supervision:order_action", args=[order.pk])
    client.post(
        url, {"action": "close", "comment": "同意", "version": SupervisionOrder.objects.get().version}
    )
    assert SupervisionOrder.objects.get().status == OrderStatus.CLOSED
    deadline = TODAY + dt.timedelta(days=7)
    client.post(
        url,
        {
            "action": "reopen",
            "comment": "材料不全",
            "reply_deadline": deadline.isoformat(),
            "version": SupervisionOrder.objects.get().version,
        },
    )
    stored = SupervisionOrder.objects.get()
    assert (stored.status, stored.reply_deadline) == (OrderStatus.ISSUED, deadline)


def test_outsiders_get_404(client, world, order):
    for user in (world.co_liaison, world.other_supervisor, world.audit_admin, world.unrelated_liaison):
        login(client, user)
        assert client.get(order.get_absolute_url()).status_code == 404
        assert client.get(reverse("supervision:order_document", args=[order.pk])).status_code == 404
        response = client.post(
            reverse("supervision:order_action", args=[order.pk]), {"action": "sign", "version": 1}
        )
        assert response.status_code == 404
    assert SupervisionOrder.objects.get().status == OrderStatus.ISSUED


# Issuing ----------------------------------------------------------------------------------------------------


def test_issue_form_from_an_item_preselects_it(client, world):
    response = login(client, world.supervisor).get(
        reverse("supervision:order_create"), {"item": world.item.pk}
    )
    form = response.context["form"]
    assert form.initial["items"] == [world.item.pk]
    assert form.initial["organisation"] == world.lead_unit.pk
    assert world.item.title in response.content.decode()


def test_issue_from_the_form(client, world):
    deadline = TODAY + dt.timedelta(days=5)
    response = login(client, world.supervisor).post(
        reverse("supervision:order_create"),
        {
            "office": world.office.pk,
            "organisation": world.lead_unit.pk,
            "items": [world.item.pk],
            "level": OrderLevel.KEY,
            "subject": "关于推进重大项目的督办单",
            "content": "请加快推进。",
            "reply_deadline": deadline.isoformat(),
        },
    )
    order = SupervisionOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert (order.level, order.reply_deadline, order.issued_by) == (
        OrderLevel.KEY,
        deadline,
        world.supervisor,
    )
    assert list(order.items.all()) == [world.item]


def test_issue_refuses_a_past_deadline_on_the_form(client, world):
    response = login(client, world.supervisor).post(
        reverse("supervision:order_create"),
        {
            "office": world.office.pk,
            "organisation": world.lead_unit.pk,
            "items": [world.item.pk],
            "level": OrderLevel.GENERAL,
            "subject": "督办",
            "content": "请办理",
            "reply_deadline": (TODAY - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert "回复时限不能早于下发日期" in response.content.decode()
    assert not SupervisionOrder.objects.exists()


def test_only_supervisors_open_the_issue_form(client, world):
    for user in (world.lead_liaison, world.leader, world.audit_admin):
        assert login(client, user).get(reverse("supervision:order_create")).status_code == 404


# Replying ----------------------------------------------------------------------------------------------------


def test_reply_with_files(client, world, order):
    url = reverse("supervision:order_reply", args=[order.pk])
    assert login(client, world.lead_liaison).get(url).status_code == 200
    response = client.post(
        url,
        {
            "reply": "已完成",
            "version": order.version,
            "evidence": [upload("a.pdf", files.PDF), upload("b.png", files.PNG)],
        },
    )
    assert response.status_code == 302
    stored = SupervisionOrder.objects.get()
    assert stored.status == OrderStatus.REPLIED and stored.evidence.count() == 2


def test_reply_to_a_closed_order_shows_the_reason_and_changes_nothing(client, world, order):
    services.reply_order(order=order, user=world.lead_liaison, reply="已办理")
    services.close_order(order=order, user=world.supervisor)
    stored = SupervisionOrder.objects.get()
    events = OrderEvent.objects.count()

    response = login(client, world.lead_liaison).post(
        reverse("supervision:order_reply", args=[order.pk]),
        {"reply": "再补充", "version": stored.version, "evidence": [upload("a.pdf", files.PDF)]},
    )

    assert response.status_code == 200
    assert "该督办单已办结，不能再回复。" in response.content.decode()
    after = SupervisionOrder.objects.get()
    assert (after.version, after.reply, after.status) == (stored.version, "已办理", OrderStatus.CLOSED)
    assert OrderEvent.objects.count() == events and not OrderEvidence.objects.exists()


def test_a_stale_reply_is_a_409_keeping_the_input(client, world, order):
    seen = order.version
    services.sign_order(order=order, user=world.handler)
    response = login(client, world.lead_liaison).post(
        reverse("supervision:order_reply", args=[order.pk]), {"reply": "我的回复", "version": seen}
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "我的回复" in page and 'data-testid="stale-warning"' in page
    assert SupervisionOrder.objects.get().status == OrderStatus.SIGNED


def test_reply_form_is_the_units_only(client, world, order):
    for user in (world.supervisor, world.leader, world.co_liaison):
        assert login(client, user).get(reverse("supervision:order_reply", args=[order.pk])).status_code == 404


# Downloads -------------------------------------------------------------------------------------------------


def test_evidence_download_is_scoped_and_audited(client, world, order):
    services.reply_order(
        order=order, user=world.lead_liaison, reply="已办理", files=[upload("材料.pdf", files.PDF)]
    )
    evidence = OrderEvidence.objects.get()
    url = reverse("supervision:order_evidence", args=[evidence.pk])

    response = login(client, world.supervisor).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == files.PDF
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD, object_id=str(evidence.pk)).count() == 1
    assert login(client, world.co_liaison).get(url).status_code == 404


def test_document_download_is_audited(client, world, order):
    response = login(client, world.leader).get(reverse("supervision:order_document", args=[order.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].endswith("wordprocessingml.document")
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.object_id == str(order.pk) and event.after == {"format": "docx"}


# The item page ----------------------------------------------------------------------------------------------


def test_item_page_lists_the_orders_the_reader_sees(client, world, order):
    other = make_order(world, organisation=world.co_unit, subject="财政局的督办单")
    page = login(client, world.lead_liaison).get(world.item.get_absolute_url()).content.decode()
    assert order.get_absolute_url() in page and other.get_absolute_url() not in page
    assert f"{reverse('supervision:order_create')}?item={world.item.pk}" not in page
    assert reverse("supervision:interview_list") not in page

    page = login(client, world.supervisor).get(world.item.get_absolute_url()).content.decode()
    assert order.get_absolute_url() in page and other.get_absolute_url() in page
    assert f"{reverse('supervision:order_create')}?item={world.item.pk}" in page
    assert f"{reverse('supervision:interview_list')}?item={world.item.pk}" in page


def test_a_leader_writes_an_instruction_from_the_order_page(client, world, order):
    create = reverse("supervision:instruction_create", args=[world.item.pk])
    page = login(client, world.leader).get(order.get_absolute_url()).content.decode()
    assert f"{create}?order={order.pk}" in page
    liaison_page = login(client, world.lead_liaison).get(order.get_absolute_url()).content.decode()
    assert create not in liaison_page
