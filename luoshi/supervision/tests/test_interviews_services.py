"""Interviews (约谈) and accountability (问责): what the services accept and refuse, and who reads them."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from luoshi.core.exceptions import StaleObjectError
from luoshi.ledgers.tests.factories import LedgerFactory
from luoshi.supervision import selectors, services
from luoshi.supervision.models import Accountability, AccountabilityForm, Interview
from luoshi.supervision.tests.test_orders_workflow import make_order

TODAY = timezone.localdate()


def interview(world, **fields):
    values = {
        "user": world.supervisor,
        "office": world.office,
        "held_on": TODAY - dt.timedelta(days=1),
        "interviewer": world.leader,
        "organisation": world.lead_unit,
        "interviewee": "刘局长（区发改局局长）",
        "reason": "重大项目连续三个月红色预警",
        "outcome": "限期一个月整改",
        "items": [world.item],
    }
    return services.save_interview(**{**values, **fields})


def accountability(world, **fields):
    values = {
        "user": world.supervisor,
        "office": world.office,
        "form": AccountabilityForm.CRITICISM,
        "organisation": world.lead_unit,
        "decided_on": TODAY,
        "reason": "约谈后仍未整改到位",
        "items": [world.item],
    }
    return services.save_accountability(**{**values, **fields})


# Interviews --------------------------------------------------------------------------------------------


def test_record_an_interview_with_items_and_orders(world):
    order = make_order(world)

    record = interview(world, orders=[order], interviewee="  刘局长 ")

    stored = Interview.objects.get(pk=record.pk)
    assert (stored.office, stored.interviewer, stored.organisation) == (
        world.office,
        world.leader,
        world.lead_unit,
    )
    assert stored.interviewee == "刘局长" and stored.created_by == world.supervisor
    assert list(stored.items.all()) == [world.item] and list(stored.orders.all()) == [order]


def test_edit_an_interview_checks_the_version(world):
    record = interview(world)
    seen = record.version

    services.save_interview(
        user=world.supervisor,
        office=world.office,
        held_on=record.held_on,
        interviewer=world.supervisor,
        organisation=world.lead_unit,
        interviewee=record.interviewee,
        reason=record.reason,
        outcome="已整改",
        interview=Interview.objects.get(pk=record.pk),
        version=seen,
    )
    stored = Interview.objects.get(pk=record.pk)
    assert (stored.outcome, stored.interviewer, stored.version) == ("已整改", world.supervisor, seen + 1)
    assert list(stored.items.all()) == []

    with pytest.raises(StaleObjectError):
        interview(world, outcome="旧页面", interview=Interview.objects.get(pk=record.pk), version=seen)
    assert Interview.objects.get(pk=record.pk).outcome == "已整改"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"held_on": TODAY + dt.timedelta(days=1)}, "held_on", "约谈日期不能晚于今天。"),
        ({"held_on": None}, "held_on", "请填写约谈日期。"),
        ({"interviewee": " "}, "interviewee", "请填写被约谈人。"),
        ({"reason": ""}, "reason", "请填写约谈事由。"),
        ({"organisation": None}, "organisation", "请选择被约谈单位。"),
    ],
)
def test_interview_refusals(world, fields, field, message):
    with pytest.raises(ValidationError) as error:
        interview(world, **fields)
    assert error.value.message_dict == {field: [message]}
    assert not Interview.objects.exists()


def test_interviewer_is_a_leader_or_supervisor(world):
    with pytest.raises(ValidationError, match="约谈人须为领导或督办员"):
        interview(world, interviewer=world.lead_liaison)


def test_interview_links_only_the_offices_own_items_and_orders(world):
    foreign_ledger = LedgerFactory(name="市级台账", owner_office=world.other_office)
    foreign_item = world.make_item(ledger=foreign_ledger, title="市级事项", user=world.other_supervisor)
    with pytest.raises(ValidationError, match="「市级事项」不是本单位督办的事项"):
        interview(world, items=[foreign_item])
    foreign_order = services.issue_order(
        office=world.other_office,
        organisation=world.lead_unit,
        items=[foreign_item],
        subject="市级督办",
        content="请办理",
        reply_deadline=TODAY + dt.timedelta(days=3),
        user=world.other_supervisor,
    )
    with pytest.raises(ValidationError, match="不是本单位下发的督办单"):
        interview(world, orders=[foreign_order])
    assert not Interview.objects.exists()


@pytest.mark.parametrize("role", ["other_supervisor", "lead_liaison", "leader", "audit_admin"])
def test_only_the_offices_supervisors_record(world, role):
    with pytest.raises(ValidationError, match="只有本单位的督办员可以登记约谈和问责"):
        interview(world, user=getattr(world, role))
    with pytest.raises(ValidationError, match="只有本单位的督办员可以登记约谈和问责"):
        accountability(world, user=getattr(world, role))
    assert not Interview.objects.exists() and not Accountability.objects.exists()


# Accountability -------------------------------------------------------------------------------------------


def test_accountability_of_a_person_with_its_interview_and_order(world):
    order = make_order(world)
    talk = interview(world)

    record = accountability(
        world, form=AccountabilityForm.ADMONITION, person=" 刘某（局长）", interview=talk, orders=[order]
    )

    stored = Accountability.objects.get(pk=record.pk)
    assert stored.get_form_display() == "诫勉谈话"
    assert (stored.person, stored.interview, stored.organisation) == ("刘某（局长）", talk, world.lead_unit)
    assert list(stored.orders.all()) == [order] and list(stored.items.all()) == [world.item]
    assert str(stored) == "诫勉谈话 · 刘某（局长）"


def test_accountability_of_a_unit(world):
    record = accountability(world, form=AccountabilityForm.ORGANISATIONAL)
    assert record.person == "" and str(record) == f"组织调整 · {world.lead_unit}"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"decided_on": TODAY + dt.timedelta(days=1)}, "decided_on", "决定日期不能晚于今天。"),
        ({"form": "fine"}, "form", "请选择问责方式。"),
        ({"organisation": None}, "organisation", "请选择问责单位（问责个人时选择其所在单位）。"),
        ({"reason": " "}, "reason", "请填写问责事由。"),
    ],
)
def test_accountability_refusals(world, fields, field, message):
    with pytest.raises(ValidationError) as error:
        accountability(world, **fields)
    assert error.value.message_dict == {field: [message]}
    assert not Accountability.objects.exists()


def test_accountability_interview_must_be_the_offices(world):
    other_ledger = LedgerFactory(name="市级台账", owner_office=world.other_office)
    item = world.make_item(ledger=other_ledger, user=world.other_supervisor)
    foreign = services.save_interview(
        user=world.other_supervisor,
        office=world.other_office,
        held_on=TODAY,
        interviewer=world.other_supervisor,
        organisation=world.lead_unit,
        interviewee="刘局长",
        reason="市级约谈",
        items=[item],
    )
    with pytest.raises(ValidationError, match="所选约谈不是本单位组织的"):
        accountability(world, interview=foreign)


# Selectors -------------------------------------------------------------------------------------------------


def test_records_are_the_offices_and_the_audit_admins(world):
    talk, decision = interview(world), accountability(world)
    for user in (world.supervisor, world.audit_admin):
        assert list(selectors.interview_list(user)) == [talk]
        assert list(selectors.accountability_list(user)) == [decision]
        assert selectors.interview_for_detail(user, talk.pk) == talk
        assert selectors.accountability_for_detail(user, decision.pk) == decision
    for name in ("other_supervisor", "leader", "lead_liaison", "handler", "co_liaison", "system_admin"):
        user = getattr(world, name)
        assert not selectors.interview_list(user).exists(), name
        assert not selectors.accountability_list(user).exists(), name
    # Reading is not writing: the audit admin edits nothing.
    assert list(selectors.editable_interviews(world.supervisor)) == [talk]
    assert list(selectors.editable_accountabilities(world.supervisor)) == [decision]
    assert not selectors.editable_interviews(world.audit_admin).exists()
    assert not selectors.editable_accountabilities(world.audit_admin).exists()
