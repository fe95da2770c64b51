"""Leaders' instructions: writing, acknowledging, answering with a report, closing, and the item's counter."""

import pytest
from django.core.exceptions import ValidationError

from luoshi.ledgers import services as ledger_services
from luoshi.ledgers.models import EventKind, Item, ItemEvent, ItemStatus
from luoshi.notifications.models import Event, Notification
from luoshi.orgs.models import LeaderCharge
from luoshi.orgs.tests.factories import leader as make_leader
from luoshi.supervision.models import Instruction, InstructionRecipient
from luoshi.supervision.services import (
    acknowledge_instruction,
    answer_instructions,
    close_instruction,
    instruction_rows_for,
    instruction_targets,
    write_instruction,
)


@pytest.fixture
def item(world):
    return world.advance(world.item, ItemStatus.ACCEPTED)


def _write(world, item, **kwargs):
    kwargs.setdefault("text", "请加快推进，月底前完成土地报批。")
    return write_instruction(item=item, leader=world.leader, **kwargs)


def _counter(item) -> int:
    return Item.objects.values_list("open_instructions", flat=True).get(pk=item.pk)


def _report(user, item, text="已按批示完成土地报批"):
    return ledger_services.save_report(item=item, user=user, text=text, percent_complete=50)


def test_write_goes_to_the_lead_unit_co_units_and_owner(world):
    item = world.make_item(co_orgs=[world.co_unit], owner=world.handler, lead_leader=world.leader)
    item = world.advance(item, ItemStatus.ASSIGNED)

    instruction = _write(world, item, urgent=True)

    rows = InstructionRecipient.objects.filter(instruction=instruction)
    assert {row.organisation_id for row in rows if row.organisation_id} == {
        world.lead_unit.pk,
        world.co_unit.pk,
    }
    assert [row.user_id for row in rows if row.user_id] == [world.handler.pk]
    assert instruction.is_open and instruction.is_urgent and instruction.leader == world.leader
    assert _counter(item) == 1
    event = ItemEvent.objects.get(item=item, kind=EventKind.INSTRUCTION)
    assert event.comment == "请加快推进，月底前完成土地报批。" and event.actor == world.leader
    told = set(
        Notification.objects.filter(key=f"instruction:{instruction.pk}").values_list("recipient", flat=True)
    )
    assert told == {world.lead_liaison.pk, world.handler.pk, world.co_liaison.pk}
    assert Notification.objects.filter(key=f"instruction:{instruction.pk}", event=Event.INSTRUCTION).exists()


def test_counter_counts_each_open_instruction(world, item):
    _write(world, item)
    _write(world, item, text="注意安全生产")
    assert _counter(item) == 2


def test_recipients_can_be_narrowed_but_not_widened(world, item):
    instruction = _write(world, item, recipients=[world.co_unit])
    assert list(instruction.recipients.values_list("organisation", flat=True)) == [world.co_unit.pk]

    with pytest.raises(ValidationError, match="只能发给"):
        _write(world, item, recipients=[world.unrelated_unit])
    with pytest.raises(ValidationError, match="至少选择"):
        _write(world, item, recipients=[])
    assert Instruction.objects.count() == 1


def test_targets_are_the_items_units_and_owner(world):
    item = world.make_item(co_orgs=[world.co_unit], owner=world.handler)
    assert instruction_targets(item) == [world.lead_unit, world.co_unit, world.handler]


@pytest.mark.parametrize("text", ["", "   "])
def test_text_is_required(world, item, text):
    with pytest.raises(ValidationError) as caught:
        _write(world, item, text=text)
    assert "text" in caught.value.message_dict
    assert not Instruction.objects.exists() and _counter(item) == 0


def test_only_a_leader_who_sees_the_item_writes(world, item):
    with pytest.raises(ValidationError, match="只有领导"):
        write_instruction(item=item, leader=world.supervisor, text="请加快")
    outsider = make_leader(world.government, charges=[world.unrelated_unit], username="edu_leader")
    with pytest.raises(ValidationError, match="无权"):
        write_instruction(item=item, leader=outsider, text="请加快")
    assert not Instruction.objects.exists()
    assert not ItemEvent.objects.filter(kind=EventKind.INSTRUCTION).exists()


def test_a_deleted_item_is_refused(world):
    item = world.make_item()
    Item.objects.filter(pk=item.pk).delete()
    with pytest.raises(ValidationError, match="不存在或已删除"):
        write_instruction(item=item, leader=world.leader, text="请加快")
    assert not Instruction.objects.exists()


def test_the_report_must_be_the_items(world, item):
    report = _report(world.lead_liaison, item)
    other = world.advance(world.make_item(lead_leader=world.leader), ItemStatus.ACCEPTED)
    with pytest.raises(ValidationError, match="不属于此事项"):
        _write(world, other, report=report)
    instruction = _write(world, item, report=report)
    assert instruction.report == report


def test_acknowledge_once_then_nothing_changes(world, item):
    instruction = _write(world, item)

    assert acknowledge_instruction(instruction=instruction, user=world.lead_liaison) == 1
    row = instruction.recipients.get(organisation=world.lead_unit)
    assert row.acknowledged_by == world.lead_liaison and row.acknowledged_at is not None
    events = ItemEvent.objects.filter(item=item, kind=EventKind.INSTRUCTION_ACKNOWLEDGED)
    assert events.count() == 1 and events.get().comment == str(world.lead_unit)
    told = Notification.objects.filter(recipient=world.leader, event=Event.INSTRUCTION_ACKNOWLEDGED)
    assert told.count() == 1

    # The handler of the same unit: already acknowledged for the unit, so nothing more.
    assert acknowledge_instruction(instruction=instruction, user=world.handler) == 0
    assert acknowledge_instruction(instruction=instruction, user=world.lead_liaison) == 0
    assert events.count() == 1 and told.count() == 1
    row.refresh_from_db()
    assert row.acknowledged_by == world.lead_liaison


def test_only_recipients_acknowledge(world, item):
    instruction = _write(world, item, recipients=[world.lead_unit])
    for user in (world.co_liaison, world.unrelated_liaison, world.supervisor):
        with pytest.raises(ValidationError, match="不是此批示的接收"):
            acknowledge_instruction(instruction=instruction, user=user)
    assert not InstructionRecipient.objects.filter(acknowledged_at__isnull=False).exists()


def test_rows_for_a_user(world, item):
    instruction = _write(world, item)
    assert [row.organisation for row in instruction_rows_for(instruction, world.co_liaison)] == [
        world.co_unit
    ]
    assert instruction_rows_for(instruction, world.unrelated_liaison) == []


def test_a_report_answers_its_units_rows(world, item):
    instruction = _write(world, item)
    report = _report(world.lead_liaison, item)

    lead_row = instruction.recipients.get(organisation=world.lead_unit)
    co_row = instruction.recipients.get(organisation=world.co_unit)
    assert lead_row.answered_by == report and lead_row.answered_at is not None
    assert co_row.answered_at is None
    co_report = _report(world.co_liaison, item, text="配合做好资金保障")
    co_row.refresh_from_db()
    assert co_row.answered_by == co_report
    # Answered but never acknowledged: still open.
    instruction.refresh_from_db()
    assert instruction.is_open and _counter(item) == 1


def test_a_draft_answers_nothing_until_submitted(world, item):
    instruction = _write(world, item)
    draft = ledger_services.save_report(
        item=item, user=world.lead_liaison, text="草稿", percent_complete=10, submit=False
    )
    assert not instruction.recipients.filter(answered_at__isnull=False).exists()
    ledger_services.submit_report(report=draft, user=world.lead_liaison)
    assert instruction.recipients.get(organisation=world.lead_unit).answered_by == draft


def test_the_lead_units_report_answers_for_the_owner(world):
    item = world.make_item(owner=world.handler, lead_leader=world.leader)
    item = world.advance(item, ItemStatus.ACCEPTED)
    instruction = _write(world, item)
    _report(world.lead_liaison, item)
    assert not instruction.recipients.filter(answered_at__isnull=True).exists()


def test_closes_when_every_recipient_acknowledged_and_answered(world, item):
    instruction = _write(world, item)
    acknowledge_instruction(instruction=instruction, user=world.lead_liaison)
    _report(world.lead_liaison, item)
    _report(world.co_liaison, item, text="配合做好资金保障")
    assert _counter(item) == 1
    acknowledge_instruction(instruction=instruction, user=world.co_liaison)

    instruction.refresh_from_db()
    assert not instruction.is_open
    assert _counter(item) == 0
    closing = ItemEvent.objects.get(item=item, kind=EventKind.INSTRUCTION, action="closed")
    assert "办结" in closing.comment
    # A later report changes nothing on a closed instruction.
    assert answer_instructions(report=item.reports.first(), user=world.lead_liaison) == 0
    assert _counter(item) == 0


def test_leader_closes_by_hand(world, item):
    instruction = _write(world, item)
    with pytest.raises(ValidationError, match="只有作出批示的领导"):
        close_instruction(instruction=instruction, user=world.lead_liaison)

    close_instruction(instruction=instruction, user=world.leader)
    instruction.refresh_from_db()
    assert not instruction.is_open and _counter(item) == 0
    with pytest.raises(ValidationError, match="已办结"):
        close_instruction(instruction=instruction, user=world.leader)
    assert _counter(item) == 0
    # Acknowledging a closed instruction is still recorded, and reopens nothing.
    assert acknowledge_instruction(instruction=instruction, user=world.lead_liaison) == 1
    assert _counter(item) == 0


def test_another_leader_may_not_close(world, item):
    instruction = _write(world, item)
    other = make_leader(world.government, charges=[world.lead_unit], username="second_leader")
    assert LeaderCharge.objects.filter(leader=other).exists()
    with pytest.raises(ValidationError):
        close_instruction(instruction=instruction, user=other)
    assert _counter(item) == 1
