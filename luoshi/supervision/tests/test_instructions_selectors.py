"""Reads of leaders' instructions: each scoped to the item, the writer or the recipients."""

import pytest

from luoshi.ledgers import services as ledger_services
from luoshi.ledgers.models import ItemStatus
from luoshi.supervision import selectors
from luoshi.supervision.models import Instruction
from luoshi.supervision.services import acknowledge_instruction, write_instruction


@pytest.fixture
def item(world):
    return world.advance(world.item, ItemStatus.ACCEPTED)


def _write(world, item, **kwargs):
    kwargs.setdefault("text", "请加快推进")
    return write_instruction(item=item, leader=world.leader, **kwargs)


def test_may_write_is_for_leaders(world, item):
    assert selectors.may_write_instruction(world.leader, item)
    assert not selectors.may_write_instruction(world.supervisor, item)
    assert not selectors.may_write_instruction(world.lead_liaison, item)


def test_written_counts_acknowledgements_and_answers(world, item):
    instruction = _write(world, item)
    acknowledge_instruction(instruction=instruction, user=world.lead_liaison)
    ledger_services.save_report(item=item, user=world.co_liaison, text="配合推进", percent_complete=20)

    row = selectors.instructions_written(world.leader).get()
    assert (row.recipient_count, row.acknowledged_count, row.answered_count) == (2, 1, 1)
    assert not selectors.instructions_written(world.lead_liaison).exists()


def test_received_is_the_users_own_and_their_units(world, item):
    to_lead = _write(world, item, recipients=[world.lead_unit])
    to_co = _write(world, item, recipients=[world.co_unit])

    assert list(selectors.instructions_received(world.lead_liaison)) == [to_lead]
    assert list(selectors.instructions_received(world.handler)) == [to_lead]
    assert list(selectors.instructions_received(world.co_liaison)) == [to_co]
    assert not selectors.instructions_received(world.unrelated_liaison).exists()
    assert not selectors.instructions_received(world.sub_liaison).exists()


def test_received_marks_what_awaits_the_user(world, item):
    instruction = _write(world, item)
    assert selectors.instructions_received(world.lead_liaison).get().awaiting_me
    acknowledge_instruction(instruction=instruction, user=world.lead_liaison)
    assert not selectors.instructions_received(world.lead_liaison).get().awaiting_me
    assert selectors.instructions_received(world.co_liaison).get().awaiting_me


def test_received_includes_the_person_addressed(world):
    item = world.make_item(owner=world.co_liaison, lead_leader=world.leader)
    item = world.advance(item, ItemStatus.ASSIGNED)
    instruction = _write(world, item, recipients=[world.co_liaison])
    assert list(selectors.instructions_received(world.co_liaison)) == [instruction]


def test_detail_follows_the_items_scope(world, item):
    instruction = _write(world, item)
    for user in (world.leader, world.supervisor, world.lead_liaison, world.co_liaison):
        assert selectors.instruction_for_detail(user, instruction.pk) == instruction
    for user in (world.unrelated_liaison, world.other_supervisor, world.sub_liaison, world.audit_admin):
        with pytest.raises(Instruction.DoesNotExist):
            selectors.instruction_for_detail(user, instruction.pk)


def test_to_answer_is_what_the_units_next_report_answers(world, item):
    instruction = _write(world, item)
    assert selectors.instructions_to_answer(item, world.lead_unit) == [instruction]
    assert selectors.instructions_to_answer(item, world.co_unit) == [instruction]
    assert selectors.instructions_to_answer(item, world.unrelated_unit) == []
    assert selectors.instructions_to_answer(item, None) == []

    ledger_services.save_report(item=item, user=world.lead_liaison, text="已落实", percent_complete=40)
    assert selectors.instructions_to_answer(item, world.lead_unit) == []
    assert selectors.instructions_to_answer(item, world.co_unit) == [instruction]
