"""The supervision order's life: signed, replied with evidence (late or not), closed, reopened; refusals
that change nothing, stale versions, and the selectors that read orders."""

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from luoshi.core.exceptions import StaleObjectError
from luoshi.core.tests import files
from luoshi.core.tests.files import upload
from luoshi.ledgers.models import ItemStatus
from luoshi.notifications.models import Event, Notification
from luoshi.supervision import selectors, services
from luoshi.supervision.models import OrderEvent, OrderEvidence, OrderLevel, OrderStatus, SupervisionOrder

TODAY = dt.date(2026, 11, 23)
NOON = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)


def make_order(world, *, items=None, organisation=None, reply_deadline=None, **fields):
    """An order issued by the world's supervisor to the lead unit about the world's item."""
    return services.issue_order(
        office=world.office,
        organisation=organisation or world.lead_unit,
        items=items or [world.item],
        subject=fields.pop("subject", "关于加快推进重大项目建设的督办单"),
        content=fields.pop("content", "请于回复时限前报告推进情况。\n附佐证材料。"),
        reply_deadline=reply_deadline or timezone.localdate() + dt.timedelta(days=10),
        user=world.supervisor,
        **fields,
    )


def _stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def _snapshot(order: SupervisionOrder) -> tuple:
    stored = SupervisionOrder.objects.get(pk=order.pk)
    return (
        stored.status,
        stored.version,
        stored.reply,
        stored.reply_deadline,
        stored.signed_at,
        stored.closed_at,
        OrderEvent.objects.filter(order=order).count(),
        OrderEvidence.objects.filter(order=order).count(),
        Notification.objects.count(),
    )


@pytest.fixture
def order(world):
    world.advance(world.item, ItemStatus.IN_PROGRESS)
    return make_order(world, level=OrderLevel.KEY)


# Numbering ---------------------------------------------------------------------------------------------


def test_orders_are_numbered_per_year(world):
    with time_machine.travel(NOON, tick=False):
        first = make_order(world)
        second = make_order(world)
    assert (first.number, second.number) == ("督〔2026〕1号", "督〔2026〕2号")
    with time_machine.travel(dt.datetime(2027, 1, 4, 9, tzinfo=dt.UTC), tick=False):
        assert make_order(world).number == "督〔2027〕1号"


# Signing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["lead_liaison", "handler"])
def test_unit_worker_signs(world, order, role):
    user = getattr(world, role)

    services.sign_order(order=order, user=user, version=order.version)

    stored = SupervisionOrder.objects.get(pk=order.pk)
    assert stored.status == OrderStatus.SIGNED and stored.signed_by == user and stored.signed_at
    assert order.status == OrderStatus.SIGNED  # the caller's instance is brought up to date
    event = stored.events.last()
    assert (event.action, event.from_status, event.to_status, event.actor) == (
        "sign",
        "issued",
        "signed",
        user,
    )


@pytest.mark.parametrize("role", ["supervisor", "co_liaison", "leader", "unrelated_liaison"])
def test_only_the_unit_signs(world, order, role):
    before = _snapshot(order)
    with pytest.raises(ValidationError, match="您无权执行「签收」"):
        services.sign_order(order=order, user=getattr(world, role))
    assert _snapshot(order) == before


# Replying ---------------------------------------------------------------------------------------------


def test_reply_with_evidence_signs_and_tells_the_office(world, order):
    with time_machine.travel(NOON, tick=False):
        order = SupervisionOrder.objects.get(pk=order.pk)
        services.reply_order(
            order=order,
            user=world.handler,
            reply="  已完成用地报批。 ",
            files=[upload("报批材料.pdf", files.PDF), upload("现场.png", files.PNG)],
            version=order.version,
        )

    stored = SupervisionOrder.objects.get(pk=order.pk)
    assert stored.status == OrderStatus.REPLIED
    assert stored.reply == "已完成用地报批。"
    assert stored.replied_by == world.handler and stored.replied_at == NOON
    # Replying to an order not yet signed signs it.
    assert stored.signed_by == world.handler and stored.signed_at == NOON
    assert not stored.reply_is_late
    evidence = list(stored.evidence.order_by("pk"))
    assert [e.original_name for e in evidence] == ["报批材料.pdf", "现场.png"]
    assert [e.content_type for e in evidence] == ["application/pdf", "image/png"]
    assert all(e.sm3 and e.uploaded_by == world.handler for e in evidence)
    assert stored.events.get(action="reply").comment == "已完成用地报批。"
    told = Notification.objects.filter(event=Event.ORDER_REPLIED)
    assert [n.recipient for n in told] == [world.supervisor]
    assert told[0].url == stored.get_absolute_url()
    assert f"{world.lead_unit}已回复督〔2026〕" in told[0].title


def test_reply_after_the_deadline_is_marked_late(world):
    world.advance(world.item, ItemStatus.IN_PROGRESS)
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), tick=False):
        order = make_order(world, reply_deadline=dt.date(2026, 11, 20))
    with time_machine.travel(NOON, tick=False):
        services.reply_order(order=order, user=world.lead_liaison, reply="已办理")

    stored = SupervisionOrder.objects.get(pk=order.pk)
    assert stored.reply_is_late
    assert "逾期回复" in Notification.objects.get(event=Event.ORDER_REPLIED).title


def test_reply_on_the_deadline_is_not_late(world):
    world.advance(world.item, ItemStatus.IN_PROGRESS)
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), tick=False):
        order = make_order(world, reply_deadline=TODAY)
    with time_machine.travel(NOON, tick=False):
        services.reply_order(order=order, user=world.lead_liaison, reply="已办理")
    assert not SupervisionOrder.objects.get(pk=order.pk).reply_is_late


def test_reply_needs_text(world, order):
    before = _snapshot(order)
    with pytest.raises(ValidationError) as error:
        services.reply_order(order=order, user=world.lead_liaison, reply="   ")
    assert error.value.message_dict == {"reply": ["请填写办理情况。"]}
    assert _snapshot(order) == before


def test_a_bad_file_refuses_the_reply_and_stores_nothing(world, order):
    before = _snapshot(order)
    with pytest.raises(ValidationError, match="不是允许的类型"):
        services.reply_order(
            order=order,
            user=world.lead_liaison,
            reply="已办理",
            files=[upload("材料.pdf", files.PDF), upload("程序.exe", files.EXE)],
        )
    assert _snapshot(order) == before
    assert _stored_files() == []


def test_reply_to_a_closed_order_is_refused_and_changes_nothing(world, order):
    services.reply_order(order=order, user=world.lead_liaison, reply="已办理")
    services.close_order(order=order, user=world.supervisor, comment="同意办结")
    before = _snapshot(order)

    with pytest.raises(ValidationError) as error:
        services.reply_order(
            order=order, user=world.lead_liaison, reply="补充材料", files=[upload("补充.pdf", files.PDF)]
        )

    assert error.value.messages == ["该督办单已办结，不能再回复。"]
    assert _snapshot(order) == before
    assert len(_stored_files()) == 0
    with pytest.raises(ValidationError, match="该督办单已办结，不能再签收。"):
        services.sign_order(order=order, user=world.lead_liaison)


def test_stale_version_is_refused(world, order):
    seen = order.version
    services.sign_order(order=order, user=world.lead_liaison, version=seen)
    before = _snapshot(order)

    with pytest.raises(StaleObjectError):
        services.reply_order(order=order, user=world.handler, reply="已办理", version=seen)
    assert _snapshot(order) == before


# Closing and reopening -------------------------------------------------------------------------------


def test_supervisor_closes_a_replied_order(world, order):
    services.reply_order(order=order, user=world.lead_liaison, reply="已办理")

    services.close_order(order=order, user=world.supervisor, comment="办理到位", version=order.version)

    stored = SupervisionOrder.objects.get(pk=order.pk)
    assert stored.status == OrderStatus.CLOSED
    assert (stored.closed_by, stored.decision_comment) == (world.supervisor, "办理到位")
    assert [e.action for e in stored.events.all()] == ["issued", "reply", "close"]


def test_close_needs_a_reply_and_the_issuing_office(world, order):
    with pytest.raises(ValidationError, match="当前状态为「已下发」，不能执行「办结」"):
        services.close_order(order=order, user=world.supervisor)
    services.reply_order(order=order, user=world.lead_liaison, reply="已办理")
    before = _snapshot(order)
    for user in (world.other_supervisor, world.lead_liaison, world.leader):
        with pytest.raises(ValidationError, match="您无权执行「办结」"):
            services.close_order(order=order, user=user)
    assert _snapshot(order) == before


def test_reopen_sends_the_order_back_with_a_new_deadline(world, order):
    services.reply_order(order=order, user=world.lead_liaison, reply="已办理")
    services.close_order(order=order, user=world.supervisor)
    new_deadline = timezone.localdate() + dt.timedelta(days=5)

    services.reopen_order(
        order=order,
        user=world.supervisor,
        comment="佐证材料不全",
        reply_deadline=new_deadline,
        version=order.version,
    )

    stored = SupervisionOrder.objects.get(pk=order.pk)
    assert stored.status == OrderStatus.ISSUED
    assert stored.reply_deadline == new_deadline
    assert (stored.reply, stored.replied_at, stored.closed_at, stored.signed_at) == ("", None, None, None)
    assert stored.decision_comment == "佐证材料不全"
    event = stored.events.last()
    assert (event.action, event.from_status, event.to_status) == ("reopen", "closed", "issued")
    assert "佐证材料不全" in event.comment and new_deadline.isoformat() in event.comment
    reopened = Notification.objects.filter(event=Event.ORDER_ISSUED, title__contains="重新督办")
    assert {n.recipient for n in reopened} == {world.lead_liaison, world.handler}
    # The unit can answer again.
    services.reply_order(order=order, user=world.handler, reply="已补齐材料")
    assert SupervisionOrder.objects.get(pk=order.pk).status == OrderStatus.REPLIED
    assert Notification.objects.filter(event=Event.ORDER_REPLIED).count() == 2


def test_reopen_needs_a_reason_and_a_future_deadline(world, order):
    services.reply_order(order=order, user=world.lead_liaison, reply="已办理")
    before = _snapshot(order)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="须填写理由"):
        services.reopen_order(order=order, user=world.supervisor, comment=" ", reply_deadline=tomorrow)
    with pytest.raises(ValidationError) as error:
        services.reopen_order(order=order, user=world.supervisor, comment="不全", reply_deadline=None)
    assert error.value.message_dict == {"reply_deadline": ["请填写新的回复时限。"]}
    with pytest.raises(ValidationError, match="不能早于今天"):
        services.reopen_order(
            order=order, user=world.supervisor, comment="不全", reply_deadline=tomorrow - dt.timedelta(days=2)
        )
    with pytest.raises(ValidationError, match="您无权执行「重新督办」"):
        services.reopen_order(
            order=order, user=world.other_supervisor, comment="不全", reply_deadline=tomorrow
        )
    assert _snapshot(order) == before


def test_available_actions_follow_the_state_and_the_role(world, order):
    def names(user):
        return [t.name for t in services.available_order_actions(order, user)]

    assert names(world.lead_liaison) == ["sign", "reply"]
    assert names(world.supervisor) == []
    services.reply_order(order=order, user=world.lead_liaison, reply="已办理")
    assert names(world.lead_liaison) == []
    assert names(world.supervisor) == ["close", "reopen"]


# Selectors ----------------------------------------------------------------------------------------------


def test_order_list_scope(world, order):
    other = make_order(world, organisation=world.unrelated_unit)
    seen = {
        name: set(selectors.order_list(user).values_list("pk", flat=True))
        for name, user in {**world.business_users, **world.admins}.items()
    }
    assert seen["supervisor"] == {order.pk, other.pk}
    assert seen["lead_liaison"] == seen["handler"] == {order.pk}
    assert seen["unrelated_liaison"] == {other.pk}
    # In charge of the lead unit; copied on both as the item's lead leader.
    assert seen["leader"] == {order.pk, other.pk}
    for name in ("other_supervisor", "co_liaison", "sub_liaison", "system_admin", "audit_admin"):
        assert seen[name] == set(), name


def test_order_for_detail_and_evidence_follow_the_scope(world, order):
    services.reply_order(
        order=order, user=world.lead_liaison, reply="已办理", files=[upload("a.pdf", files.PDF)]
    )
    evidence = OrderEvidence.objects.get()
    assert selectors.order_for_detail(world.handler, order.pk) == order
    assert selectors.order_evidence_for_download(world.supervisor, evidence.pk) == evidence
    for user in (world.co_liaison, world.other_supervisor, world.audit_admin):
        with pytest.raises(SupervisionOrder.DoesNotExist):
            selectors.order_for_detail(user, order.pk)
        with pytest.raises(OrderEvidence.DoesNotExist):
            selectors.order_evidence_for_download(user, evidence.pk)


def test_item_orders_shows_only_visible_orders(world, order):
    make_order(world, organisation=world.unrelated_unit)
    assert selectors.item_orders(world.item, world.supervisor) == list(
        SupervisionOrder.objects.order_by("-year", "-serial")
    )
    assert selectors.item_orders(world.item, world.lead_liaison) == [order]
    assert selectors.item_orders(world.item, world.co_liaison) == []


def test_issuable_items_are_the_offices_own(world):
    assert list(selectors.issuable_items(world.supervisor)) == [world.item]
    assert list(selectors.issuable_items(world.other_supervisor)) == []
    assert list(selectors.issuable_items(world.lead_liaison)) == []
