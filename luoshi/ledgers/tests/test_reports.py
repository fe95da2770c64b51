import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from luoshi.core.exceptions import TransitionNotAllowed
from luoshi.core.tests import files
from luoshi.core.tests.files import upload
from luoshi.ledgers import services
from luoshi.ledgers.models import (
    EventKind,
    Evidence,
    ExtensionRequest,
    ExtensionStatus,
    FieldTarget,
    FieldType,
    Item,
    ItemEvent,
    ItemStatus,
    ProgressReport,
    ReportStatus,
)
from luoshi.ledgers.periods import period_containing
from luoshi.ledgers.tests.factories import LedgerFieldFactory


def _messages(error) -> str:
    return " ".join(error.value.messages)


def _today():
    return timezone.localdate()


def _report(item, user, percent=40, **kwargs):
    kwargs.setdefault("text", "完成项目选址")
    return services.save_report(item=item, user=user, percent_complete=percent, **kwargs)


@pytest.fixture
def running(world):
    """The world's item, accepted by the lead unit (not yet started)."""
    return world.advance(world.item, ItemStatus.ACCEPTED)


def test_first_lead_report_starts_the_item_and_sets_percent(world, running):
    report = _report(running, world.lead_liaison, 40)
    assert report.status == ReportStatus.SUBMITTED
    assert report.organisation == world.lead_unit
    assert report.submitted_at is not None
    period = period_containing(_today(), running.report_cycle)
    assert (report.period_start, report.period_end) == (period.start, period.end)
    item = Item.objects.get(pk=running.pk)
    assert item.status == ItemStatus.IN_PROGRESS
    assert item.percent_complete == 40
    assert item.last_report_period_end == period.end
    assert ItemEvent.objects.filter(item=item, kind=EventKind.REPORT_SUBMITTED, report=report).exists()
    assert ItemEvent.objects.filter(item=item, action="start").exists()


def test_handler_of_lead_unit_may_report(world, running):
    assert _report(running, world.handler, 10).organisation == world.lead_unit


def test_save_draft_does_not_submit(world, running):
    report = _report(running, world.lead_liaison, 30, submit=False)
    assert report.status == ReportStatus.DRAFT
    assert Item.objects.get(pk=running.pk).percent_complete == 0
    services.submit_report(report=report, user=world.lead_liaison)
    assert Item.objects.get(pk=running.pk).percent_complete == 30


def test_returned_then_resubmitted_in_place(world, running):
    report = _report(running, world.lead_liaison, 40)
    with pytest.raises(ValidationError) as error:
        _report(running, world.lead_liaison, 50)
    assert "本周期" in _messages(error) and "已报送" in _messages(error)
    with pytest.raises(TransitionNotAllowed) as error:
        services.review_report(report=report, user=world.supervisor, accept=False)
    assert "须填写理由" in _messages(error)
    services.review_report(report=report, user=world.supervisor, accept=False, comment="请补充投资数据")
    report.refresh_from_db()
    assert report.status == ReportStatus.RETURNED
    assert report.review_comment == "请补充投资数据"
    assert Item.objects.get(pk=running.pk).last_report_period_end is None  # no longer counts
    again = _report(running, world.lead_liaison, 45, text="已补充")
    assert again.pk == report.pk
    assert again.status == ReportStatus.SUBMITTED
    assert ProgressReport.objects.filter(item=running).count() == 1
    assert Item.objects.get(pk=running.pk).percent_complete == 45
    services.review_report(report=again, user=world.supervisor, accept=True)
    assert ProgressReport.objects.get(pk=report.pk).status == ReportStatus.ACCEPTED
    kinds = set(ItemEvent.objects.filter(item=running).values_list("kind", flat=True))
    assert {EventKind.REPORT_RETURNED, EventKind.REPORT_ACCEPTED} <= kinds


@pytest.mark.parametrize("who", ["lead_liaison", "co_liaison", "other_supervisor", "leader"])
def test_only_ledger_supervisor_reviews(world, running, who):
    report = _report(running, world.lead_liaison)
    with pytest.raises(TransitionNotAllowed) as error:
        services.review_report(report=report, user=getattr(world, who), accept=True)
    assert "您无权执行「审核通过」" in _messages(error)


def test_co_unit_report_does_not_move_lead_percent(world, running):
    _report(running, world.lead_liaison, 20)
    co = _report(running, world.co_liaison, 90)
    assert co.organisation == world.co_unit
    item = Item.objects.get(pk=running.pk)
    assert item.percent_complete == 20


def test_co_unit_report_does_not_start_the_item(world, running):
    _report(running, world.co_liaison, 50)
    assert Item.objects.get(pk=running.pk).status == ItemStatus.ACCEPTED


@pytest.mark.parametrize("who", ["unrelated_liaison", "sub_liaison", "supervisor", "leader"])
def test_outsiders_may_not_report(world, running, who):
    with pytest.raises(ValidationError) as error:
        _report(running, getattr(world, who))
    assert "您所在单位不承担此事项" in _messages(error)


@pytest.mark.parametrize(
    "status", [ItemStatus.DRAFT, ItemStatus.ASSIGNED, ItemStatus.COMPLETED, ItemStatus.SUSPENDED]
)
def test_report_not_allowed_in_status(world, status):
    item = world.advance(world.item, status)
    with pytest.raises(ValidationError) as error:
        _report(item, world.lead_liaison)
    assert "不能报送进展" in _messages(error)
    assert not ProgressReport.objects.exists()


def test_report_input_validation(world, running):
    with pytest.raises(ValidationError) as error:
        _report(running, world.lead_liaison, 101)
    assert "0 到 100" in error.value.message_dict["percent_complete"][0]
    with pytest.raises(ValidationError) as error:
        _report(running, world.lead_liaison, 10, text="   ")
    assert "请填写工作进展" in error.value.message_dict["text"][0]


def test_report_measures_validated(world, running):
    LedgerFieldFactory(
        ledger=world.ledger,
        target=FieldTarget.REPORT,
        key="invested",
        label="完成投资",
        field_type=FieldType.NUMBER,
    )
    report = _report(running, world.lead_liaison, measures={"invested": "1,200"})
    assert report.measures == {"invested": "1200"}
    with pytest.raises(ValidationError) as error:
        _report(running, world.co_liaison, measures={"invested": "很多"})
    assert "须为数字" in error.value.message_dict["invested"][0]


def test_late_report_for_a_past_period_is_marked_late(world, running):
    report = _report(running, world.lead_liaison, 10, period_day=_previous_period_day(running))
    assert report.is_late
    assert not _report(running, world.lead_liaison, 20).is_late


def test_percent_rolls_up_to_parent_by_weight(world):
    parent = world.item
    light = world.advance(world.make_item(parent=parent, weight=Decimal("1")), ItemStatus.ACCEPTED)
    heavy = world.advance(world.make_item(parent=parent, weight=Decimal("3")), ItemStatus.ACCEPTED)
    _report(light, world.lead_liaison, 100)
    assert Item.objects.get(pk=parent.pk).percent_complete == 25
    _report(heavy, world.lead_liaison, 40)
    assert Item.objects.get(pk=parent.pk).percent_complete == 55  # (100×1 + 40×3) / 4
    # A suspended child no longer counts.
    services.transition_item(item=heavy, action="suspend", user=world.supervisor, comment="暂缓")
    assert Item.objects.get(pk=parent.pk).percent_complete == 100


def test_roll_up_walks_to_the_root(world):
    root = world.item
    middle = world.make_item(parent=root)
    leaf = world.advance(world.make_item(parent=middle), ItemStatus.ACCEPTED)
    _report(leaf, world.lead_liaison, 60)
    assert Item.objects.get(pk=middle.pk).percent_complete == 60
    assert Item.objects.get(pk=root.pk).percent_complete == 60


def test_evidence_attached(world, running):
    report = _report(
        running,
        world.lead_liaison,
        files=[upload("现场照片.png", files.PNG), upload("纪要.docx", files.docx_bytes())],
    )
    evidence = list(Evidence.objects.filter(report=report).order_by("id"))
    assert [e.original_name for e in evidence] == ["现场照片.png", "纪要.docx"]
    assert evidence[0].content_type == "image/png" and evidence[0].is_image
    assert evidence[0].uploaded_by == world.lead_liaison
    with evidence[0].file.open("rb") as stored:
        assert stored.read() == files.PNG
    assert evidence[0].sha256 in evidence[0].file.name  # server-made name, not the upload's


def test_bad_evidence_refused_and_nothing_written(world, running):
    before_events = ItemEvent.objects.count()
    with pytest.raises(ValidationError) as error:
        _report(
            running,
            world.lead_liaison,
            60,
            files=[upload("好.pdf", files.PDF), upload("病毒.pdf", files.EXE, "application/pdf")],
        )
    assert "病毒.pdf" in _messages(error)
    assert not ProgressReport.objects.exists()
    assert not Evidence.objects.exists()
    item = Item.objects.get(pk=running.pk)
    assert (item.percent_complete, item.status) == (0, ItemStatus.ACCEPTED)
    assert ItemEvent.objects.count() == before_events


# extensions -----------------------------------------------------------------------------------


def _extend(world, item, days=30, reason="征地拆迁未完成", user=None):
    return services.request_extension(
        item=item,
        user=user or world.lead_liaison,
        new_deadline=item.deadline + dt.timedelta(days=days),
        reason=reason,
    )


def test_approved_extension_moves_deadline_but_not_assessment(world, running):
    original = running.deadline
    request = _extend(world, running)
    assert request.old_deadline == original
    services.decide_extension(request=request, user=world.supervisor, approve=True, comment="同意")
    item = Item.objects.get(pk=running.pk)
    assert item.deadline == original + dt.timedelta(days=30)
    assert item.original_deadline == original
    assert item.assessed_deadline == original
    request.refresh_from_db()
    assert (request.status, request.excused, request.decided_by) == (
        ExtensionStatus.APPROVED,
        False,
        world.supervisor,
    )
    assert ItemEvent.objects.filter(item=item, kind=EventKind.EXTENSION_APPROVED).exists()


def test_excused_extension_moves_assessed_deadline(world, running):
    original = running.deadline
    request = _extend(world, running)
    services.decide_extension(request=request, user=world.supervisor, approve=True, excused=True)
    item = Item.objects.get(pk=running.pk)
    assert item.assessed_deadline == item.deadline == original + dt.timedelta(days=30)
    assert item.original_deadline == original


def test_refused_extension_needs_comment_and_keeps_deadline(world, running):
    request = _extend(world, running)
    with pytest.raises(TransitionNotAllowed) as error:
        services.decide_extension(request=request, user=world.supervisor, approve=False)
    assert "须填写理由" in _messages(error)
    services.decide_extension(
        request=request, user=world.supervisor, approve=False, comment="理由不充分", excused=True
    )
    request.refresh_from_db()
    assert (request.status, request.excused) == (ExtensionStatus.REFUSED, False)
    assert Item.objects.get(pk=running.pk).deadline == running.deadline
    assert ItemEvent.objects.filter(item=running, kind=EventKind.EXTENSION_REFUSED).exists()
    # Decided once: cannot be decided again.
    with pytest.raises(TransitionNotAllowed):
        services.decide_extension(request=request, user=world.supervisor, approve=True)


def test_only_one_pending_extension(world, running):
    first = _extend(world, running)
    with pytest.raises(ValidationError) as error:
        _extend(world, running, days=40)
    assert "已有一份待审批的延期申请" in _messages(error)
    with pytest.raises(IntegrityError):  # the database enforces it too
        ExtensionRequest.objects.create(
            item=running,
            requested_by=world.lead_liaison,
            old_deadline=first.old_deadline,
            new_deadline=first.new_deadline,
            reason="x",
        )


def test_after_a_decision_a_new_request_is_allowed(world, running):
    first = _extend(world, running)
    services.decide_extension(request=first, user=world.supervisor, approve=False, comment="不同意")
    assert _extend(world, running, days=10).status == ExtensionStatus.PENDING


def test_extension_request_refusals(world, running):
    with pytest.raises(ValidationError) as error:
        _extend(world, running, user=world.co_liaison)
    assert "只有牵头单位联络员可以申请延期" in _messages(error)
    with pytest.raises(ValidationError) as error:
        _extend(world, running, days=0)
    assert "须晚于现完成时限" in error.value.message_dict["new_deadline"][0]
    with pytest.raises(ValidationError) as error:
        _extend(world, running, reason="  ")
    assert "请填写延期理由" in error.value.message_dict["reason"][0]
    standing = world.advance(world.make_item(is_standing=True), ItemStatus.ACCEPTED)
    with pytest.raises(ValidationError) as error:
        services.request_extension(
            item=standing, user=world.lead_liaison, new_deadline=_today() + dt.timedelta(days=9), reason="x"
        )
    assert "无需延期" in _messages(error)
    done = world.advance(world.make_item(), ItemStatus.COMPLETED)
    with pytest.raises(ValidationError) as error:
        _extend(world, done)
    assert "不能申请延期" in _messages(error)
    assert not ExtensionRequest.objects.exists()


@pytest.mark.parametrize("who", ["lead_liaison", "other_supervisor", "leader"])
def test_only_supervisor_decides_extension(world, running, who):
    request = _extend(world, running)
    with pytest.raises(TransitionNotAllowed) as error:
        services.decide_extension(request=request, user=getattr(world, who), approve=True)
    assert "您无权执行「批准延期」" in _messages(error)


# a returned report stops counting ---------------------------------------------------------------


def _previous_period_day(item):
    return period_containing(_today(), item.report_cycle).previous(item.report_cycle).start


def test_returned_report_no_longer_sets_the_percent(world, running):
    earlier = _report(running, world.lead_liaison, 30, period_day=_previous_period_day(running))
    latest = _report(running, world.lead_liaison, 70)
    assert Item.objects.get(pk=running.pk).percent_complete == 70
    services.review_report(report=latest, user=world.supervisor, accept=False, comment="数据不实")
    item = Item.objects.get(pk=running.pk)
    assert item.percent_complete == 30  # the latest report that still counts
    assert item.last_report_period_end == earlier.period_end
    assert item.warning_as_of == _today()
    services.review_report(report=earlier, user=world.supervisor, accept=False, comment="请补充")
    item = Item.objects.get(pk=running.pk)
    assert (item.percent_complete, item.last_report_period_end) == (0, None)


def test_returned_report_rolls_up_to_the_parent(world):
    parent = world.item
    child = world.advance(world.make_item(parent=parent), ItemStatus.ACCEPTED)
    report = _report(child, world.lead_liaison, 60)
    assert Item.objects.get(pk=parent.pk).percent_complete == 60
    services.review_report(report=report, user=world.supervisor, accept=False, comment="请核实")
    assert Item.objects.get(pk=child.pk).percent_complete == 0
    assert Item.objects.get(pk=parent.pk).percent_complete == 0


def test_returned_co_unit_report_changes_nothing_on_the_item(world, running):
    _report(running, world.lead_liaison, 40)
    co = _report(running, world.co_liaison, 90)
    before = Item.objects.get(pk=running.pk)
    services.review_report(report=co, user=world.supervisor, accept=False, comment="请补充")
    after = Item.objects.get(pk=running.pk)
    assert (after.percent_complete, after.last_report_period_end, after.version) == (
        40,
        before.last_report_period_end,
        before.version,
    )


def test_catch_up_report_for_an_earlier_period_keeps_the_later_progress(world, running):
    latest = _report(running, world.lead_liaison, 60)
    _report(running, world.lead_liaison, 35, period_day=_previous_period_day(running))
    item = Item.objects.get(pk=running.pk)
    assert (item.percent_complete, item.last_report_period_end) == (60, latest.period_end)


def test_item_with_children_takes_its_percent_from_them_not_from_its_own_report(world):
    parent = world.advance(world.item, ItemStatus.ACCEPTED)
    child = world.advance(world.make_item(parent=parent), ItemStatus.ACCEPTED)
    _report(child, world.lead_liaison, 20)
    summary = _report(parent, world.lead_liaison, 90, text="总体推进情况")
    item = Item.objects.get(pk=parent.pk)
    assert item.percent_complete == 20
    assert item.status == ItemStatus.IN_PROGRESS
    assert item.last_report_period_end == summary.period_end
    services.review_report(report=summary, user=world.supervisor, accept=False, comment="请补充")
    assert Item.objects.get(pk=parent.pk).percent_complete == 20


# query budget -----------------------------------------------------------------------------------


def _fresh(user):
    """The user as a request has it: loaded, with the access profile built once."""
    from luoshi.orgs.models import User
    from luoshi.orgs.selectors import access_profile

    user = User.objects.get(pk=user.pk)
    access_profile(user)
    return user


def test_report_submit_and_review_query_budget(world, django_assert_max_num_queries):
    parent = world.advance(world.item, ItemStatus.ACCEPTED)
    child = world.advance(world.make_item(parent=parent), ItemStatus.ACCEPTED)
    LedgerFieldFactory(ledger=world.ledger, target=FieldTarget.REPORT, key="invested", label="完成投资")
    liaison, supervisor = _fresh(world.lead_liaison), _fresh(world.supervisor)
    item = Item.objects.get(pk=child.pk)
    # The first report of a child item: starts it, sets its percent and rolls up one level. Each of its
    # two audited writes costs three queries (lock the chain head, insert the event, move the head).
    with django_assert_max_num_queries(21):
        report = services.save_report(
            item=item,
            user=liaison,
            text="已开工",
            percent_complete=40,
            measures={"invested": "10"},
            period_day=_previous_period_day(item),
        )
    report = ProgressReport.objects.select_related("item__ledger", "item__lead_org").get(pk=report.pk)
    with django_assert_max_num_queries(10):
        services.review_report(report=report, user=supervisor, accept=True)
    second = _report(Item.objects.get(pk=child.pk), liaison, 70)
    second = ProgressReport.objects.select_related("item__ledger", "item__lead_org").get(pk=second.pk)
    # Returning it recounts the item's progress from the remaining reports and rolls it up.
    with django_assert_max_num_queries(22):
        services.review_report(report=second, user=supervisor, accept=False, comment="请核实")
    assert Item.objects.get(pk=parent.pk).percent_complete == 40


# an injected clock ------------------------------------------------------------------------------


def _at(days_ago, hour=10):
    return timezone.make_aware(dt.datetime.combine(_today() - dt.timedelta(days=days_ago), dt.time(hour)))


def test_report_services_read_the_injected_clock(world, running):
    submitted_at = _at(40)
    report = _report(running, world.lead_liaison, 30, now=submitted_at)
    assert report.submitted_at == submitted_at
    period = period_containing(submitted_at.date(), running.report_cycle)
    assert (report.period_start, report.period_end) == (period.start, period.end)
    assert not report.is_late  # on time by the clock it was submitted on
    late = _report(running, world.co_liaison, 30, period_day=period.start, now=_at(0))
    assert late.is_late
    reviewed_at = _at(1)
    services.review_report(report=report, user=world.supervisor, accept=True, now=reviewed_at)
    report.refresh_from_db()
    assert report.reviewed_at == reviewed_at
    events = ItemEvent.objects.filter(report=report)
    assert {(e.kind, e.created_at) for e in events} == {
        (EventKind.REPORT_SUBMITTED, submitted_at),
        (EventKind.REPORT_ACCEPTED, reviewed_at),
    }
    assert ItemEvent.objects.get(item=running, action="start").created_at == submitted_at
    draft = _report(running, world.lead_liaison, 50, submit=False)
    services.submit_report(report=draft, user=world.lead_liaison, now=_at(0, hour=11))
    assert ProgressReport.objects.get(pk=draft.pk).submitted_at == _at(0, hour=11)


def test_extension_services_read_the_injected_clock(world, running):
    requested_at, decided_at = _at(5), _at(2)
    request = services.request_extension(
        item=running,
        user=world.lead_liaison,
        new_deadline=running.deadline + dt.timedelta(days=10),
        reason="雨季停工",
        now=requested_at,
    )
    assert ExtensionRequest.objects.get(pk=request.pk).created_at == requested_at
    services.decide_extension(request=request, user=world.supervisor, approve=True, now=decided_at)
    request.refresh_from_db()
    assert request.decided_at == decided_at
    assert Item.objects.get(pk=running.pk).warning_as_of == decided_at.date()
    kinds = dict(ItemEvent.objects.filter(item=running).values_list("kind", "created_at"))
    assert kinds[EventKind.EXTENSION_REQUESTED] == requested_at
    assert kinds[EventKind.EXTENSION_APPROVED] == decided_at
