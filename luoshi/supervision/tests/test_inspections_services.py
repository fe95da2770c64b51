"""Inspections: planning, findings with photos, and a problem's way from assignment to closure (销号)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from luoshi.core.tests import files
from luoshi.core.tests.files import upload
from luoshi.ledgers import services as item_services
from luoshi.ledgers.models import EventKind, ItemKind, ItemStatus
from luoshi.notifications.models import Event, Notification
from luoshi.orgs.tests.factories import UserFactory
from luoshi.supervision import services
from luoshi.supervision.models import Inspection, InspectionKind, InspectionStatus

TODAY = timezone.localdate()


def plan(world, *, kind=InspectionKind.ANNOUNCED, team=None, **extra):
    return services.save_inspection(
        user=world.supervisor,
        office=world.office,
        title="营商环境专项督查",
        kind=kind,
        planned_on=TODAY,
        team=team or [world.supervisor],
        targets=[world.lead_unit, world.co_unit],
        plan="查阅台账、实地察看",
        **extra,
    )


def find(world, inspection, *, user=None, **extra):
    values = {"description": "窗口办事指南未更新", "organisation": world.lead_unit, "found_on": TODAY} | extra
    return services.save_finding(user=user or world.supervisor, inspection=inspection, **values)


def ledger(world):
    return services.rectification_ledger_for_year(office=world.office, year=TODAY.year, user=world.supervisor)


def assign(world, finding, **extra):
    values = {
        "ledger": ledger(world),
        "deadline": TODAY + dt.timedelta(days=30),
        "measures": [
            ("更新办事指南", TODAY + dt.timedelta(days=10)),
            ("建立更新机制", TODAY + dt.timedelta(days=20)),
        ],
        "user": world.supervisor,
    } | extra
    return services.assign_problem(finding=finding, **values)


def rectify(world, problem):
    """The unit accepts the problem and its measures and asks to complete them all."""
    for item in [problem, *problem.children.all()]:
        for action, comment in (("accept", ""), ("request_completion", "已整改到位")):
            item_services.transition_item(item=item, action=action, user=world.lead_liaison, comment=comment)


def test_plan_and_mark_done(world):
    inspection = plan(world)
    assert inspection.status == InspectionStatus.PLANNED
    assert set(inspection.targets.all()) == {world.lead_unit, world.co_unit}
    done = services.mark_inspection_done(inspection=inspection, user=world.supervisor)
    assert done.status == InspectionStatus.DONE
    with pytest.raises(ValidationError, match="已经标记为完成"):
        services.mark_inspection_done(inspection=done, user=world.supervisor)


def test_planning_refusals(world):
    with pytest.raises(ValidationError, match="本单位的督办员"):
        services.save_inspection(
            user=world.other_supervisor,
            office=world.office,
            title="x",
            kind=InspectionKind.ANNOUNCED,
            planned_on=TODAY,
            team=[world.supervisor],
            targets=[world.lead_unit],
        )
    gone = UserFactory(is_active=False)
    with pytest.raises(ValidationError, match="已停用"):
        plan(world, team=[world.supervisor, gone])
    with pytest.raises(ValidationError, match="问题整改台账"):
        plan(world, rectification_ledger=world.ledger)


def test_planning_tells_nobody(world):
    plan(world, kind=InspectionKind.UNANNOUNCED)
    assert not Notification.objects.exists()


def test_finding_by_team_member_with_photo(world):
    inspection = plan(world, team=[world.supervisor, world.handler])
    finding = find(world, inspection, user=world.handler, photos=[upload("现场.png", files.PNG)])
    photo = finding.photos.get()
    assert photo.content_type == "image/png"
    assert photo.sm3


def test_finding_by_someone_not_on_the_team_is_refused(world):
    inspection = plan(world)
    with pytest.raises(ValidationError, match="督查组成员"):
        find(world, inspection, user=world.handler)


def test_photo_that_is_not_an_image_is_refused(world):
    inspection = plan(world)
    with pytest.raises(ValidationError, match="不是图片"):
        find(world, inspection, photos=[upload("照片.pdf", files.PDF)])
    assert not inspection.findings.exists()


def test_finding_unit_must_be_a_target(world):
    inspection = plan(world)
    with pytest.raises(ValidationError, match="督查对象"):
        find(world, inspection, organisation=world.unrelated_unit)


def test_rectification_ledger_is_made_once(world):
    first = ledger(world)
    assert first.name == f"{TODAY.year}年问题整改台账"
    assert first.item_kind == ItemKind.PROBLEM
    assert ledger(world) == first


def test_assign_problem_creates_problem_and_measures(world, django_capture_on_commit_callbacks):
    inspection = plan(world)
    finding = find(world, inspection)
    with django_capture_on_commit_callbacks(execute=True):
        problem = assign(world, finding)
    finding.refresh_from_db()
    assert finding.problem == problem
    assert problem.kind == ItemKind.PROBLEM and problem.status == ItemStatus.ASSIGNED
    assert problem.lead_org == world.lead_unit
    measures = list(problem.children.order_by("sort_order"))
    assert [m.title for m in measures] == ["更新办事指南", "建立更新机制"]
    assert all(m.kind == ItemKind.MEASURE and m.status == ItemStatus.ASSIGNED for m in measures)
    inspection.refresh_from_db()
    assert inspection.rectification_ledger == problem.ledger
    note = Notification.objects.get(event=Event.INSPECTION_PROBLEM)
    assert note.recipient == world.lead_liaison


def test_assign_refusals(world):
    inspection = plan(world)
    finding = find(world, inspection, commitment_required=True)
    with pytest.raises(ValidationError, match="公开承诺"):
        assign(world, finding)
    with pytest.raises(ValidationError, match="至少填写一项"):
        assign(world, finding, commitment="一周内整改", measures=[])
    with pytest.raises(ValidationError, match="不能晚于"):
        assign(world, finding, commitment="x", measures=[("a", TODAY + dt.timedelta(days=99))])
    with pytest.raises(ValidationError, match="问题整改台账"):
        assign(world, finding, commitment="x", ledger=world.ledger)
    problem = assign(world, finding, commitment="一周内整改到位")
    finding.refresh_from_db()
    assert finding.commitment == "一周内整改到位" and problem.pk
    with pytest.raises(ValidationError, match="已经交办"):
        assign(world, finding)


def test_unannounced_problem_waits_for_the_inspection_to_be_done(world):
    inspection = plan(world, kind=InspectionKind.UNANNOUNCED)
    finding = find(world, inspection)
    with pytest.raises(ValidationError, match="明察暗访须先标记完成"):
        assign(world, finding)
    assert not Notification.objects.exists()
    services.mark_inspection_done(inspection=inspection, user=world.supervisor)
    assert assign(world, finding).pk


def test_verify_close_walk(world):
    inspection = plan(world)
    finding = find(world, inspection)
    problem = assign(world, finding)
    with pytest.raises(ValidationError, match="申请办结后"):
        services.verify_rectification(finding=finding, user=world.supervisor, comment="ok", passed=True)
    rectify(world, problem)
    with pytest.raises(ValidationError, match="尚未办结"):
        services.close_problem(finding=finding, user=world.supervisor)
    finding = services.verify_rectification(
        finding=finding, user=world.supervisor, comment="经查属实", passed=True
    )
    assert finding.verified_by == world.supervisor and finding.verified_at
    problem.refresh_from_db()
    assert problem.status == ItemStatus.COMPLETED
    assert problem.events.filter(kind=EventKind.RECTIFICATION_VERIFIED).exists()
    closed = services.close_problem(finding=finding, user=world.supervisor)
    assert closed.status == ItemStatus.CLOSED
    assert set(problem.children.values_list("status", flat=True)) == {ItemStatus.CLOSED}


def test_failed_verification_returns_the_problem(world):
    finding = find(world, plan(world))
    problem = assign(world, finding)
    rectify(world, problem)
    services.verify_rectification(finding=finding, user=world.supervisor, comment="佐证不足", passed=False)
    problem.refresh_from_db()
    finding.refresh_from_db()
    assert problem.status == ItemStatus.IN_PROGRESS
    assert finding.verified_at is None and finding.verification_comment == "佐证不足"


def test_closing_an_unverified_problem_is_refused(world):
    finding = find(world, plan(world))
    problem = assign(world, finding)
    with pytest.raises(ValidationError, match="尚未办结"):
        services.close_problem(finding=finding, user=world.supervisor)
    rectify(world, problem)
    # The plain item workflow neither completes nor closes an inspection's problem before 验收.
    assert "complete" not in [t.name for t in item_services.available_actions(problem, world.supervisor)]
    with pytest.raises(ValidationError):
        item_services.transition_item(item=problem, action="complete", user=world.supervisor)
    services.verify_rectification(finding=finding, user=world.supervisor, comment="合格", passed=True)
    problem.refresh_from_db()
    assert "close" in [t.name for t in item_services.available_actions(problem, world.supervisor)]


def test_plain_items_keep_the_plain_workflow(world):
    item = world.advance(world.item, ItemStatus.COMPLETION_REQUESTED)
    assert "complete" in [t.name for t in item_services.available_actions(item, world.supervisor)]


def test_verification_needs_the_measures_asked_to_complete(world):
    finding = find(world, plan(world))
    problem = assign(world, finding)
    item_services.transition_item(item=problem, action="accept", user=world.lead_liaison)
    item_services.transition_item(
        item=problem, action="request_completion", user=world.lead_liaison, comment="已整改"
    )
    with pytest.raises(ValidationError, match="尚未申请办结"):
        services.verify_rectification(finding=finding, user=world.supervisor, comment="ok", passed=True)


def test_only_the_office_verifies(world):
    finding = find(world, plan(world))
    problem = assign(world, finding)
    rectify(world, problem)
    with pytest.raises(ValidationError, match="组织单位的督办员"):
        services.verify_rectification(finding=finding, user=world.other_supervisor, comment="x", passed=True)
    assert Inspection.objects.count() == 1


def test_edit_finding_until_assigned(world):
    inspection = plan(world)
    finding = find(world, inspection)
    edited = services.save_finding(
        user=world.supervisor,
        inspection=inspection,
        description="办事指南两处过期",
        organisation=world.co_unit,
        found_on=TODAY,
        finding=finding,
        version=finding.version,
    )
    assert (edited.description, edited.organisation) == ("办事指南两处过期", world.co_unit)
    assign(world, edited)
    with pytest.raises(ValidationError, match="不能再修改"):
        services.save_finding(
            user=world.supervisor,
            inspection=inspection,
            description="改写",
            organisation=world.co_unit,
            found_on=TODAY,
            finding=edited,
        )


def test_only_the_office_marks_done(world):
    inspection = plan(world)
    with pytest.raises(ValidationError, match="组织单位的督办员"):
        services.mark_inspection_done(inspection=inspection, user=world.other_supervisor)
