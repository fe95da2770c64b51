"""Every URL × every role × an object inside the world's scope, one outside everyone's, and a guessed id.

The URLconf is walked; each URL name must have a rule in ``RULES`` (``test_every_url_is_declared``),
and each rule says, per role, what a request gets: the page, a redirect, a refusal with nothing
written, or 404 — never 403, never a 500, never another unit's data. A POST that must not act is
checked against a snapshot of every row an action could write.

Objects (``luoshi.testing.access.Scene``): ``item`` is in progress in the world's ledger, led by
lead_unit with co-unit co_unit and lead leader ``leader``; its viewers are supervisor, leader,
lead_liaison, handler and co_liaison. sub_liaison (a unit *below* the lead unit), unrelated_liaison
and other_supervisor are neighbours who must not see it. ``foreign_*`` objects belong to an office
and units no user of the world is in.

The scene is built once per module (and per xdist worker) inside a transaction that is rolled back
at the end; each test runs in a savepoint of its own, so actions that succeed leave no trace.
"""

import datetime as dt
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from luoshi.assessment import services as assessment
from luoshi.assessment.models import UnitScore
from luoshi.core.tests.files import PNG
from luoshi.exchange.models import ExportKind
from luoshi.exchange.services import queue_export, render_export, start_outline, upload_import
from luoshi.ledgers.models import ItemEvent, ItemStatus
from luoshi.ledgers.services import transition_item
from luoshi.notifications.models import Channel, Delivery, DeliveryStatus, Event, Notification
from luoshi.notifications.services import notify, save_channel
from luoshi.security.tests.factories import locked_out, signed_in
from luoshi.supervision.models import Instruction, InstructionRecipient
from luoshi.supervision.services import (
    assign_problem,
    issue_order,
    rectification_ledger_for_year,
    reply_order,
    save_accountability,
    save_finding,
    save_inspection,
    save_interview,
    verify_rectification,
    write_instruction,
)
from luoshi.testing import fixtures
from luoshi.testing.access import (
    DONE,
    DONE_JSON,
    FORM,
    LOGIN,
    MISSING_PK,
    NOT_FOUND,
    OK,
    PDF,
    REFUSED,
    Outcome,
    Scene,
    build_scene,
    error_messages,
    has_chinese,
    location_matches,
    redirect_to,
    snapshot,
    snapshot_diff,
    url_routes,
)

# URLs that are not ours to scope: Django's language switch and the sign-in/sign-out views.
NOT_SCOPED = {"set_language", "login", "logout"}

ROLES = (
    "anonymous",
    "supervisor",
    "other_supervisor",
    "leader",
    "lead_liaison",
    "handler",
    "sub_liaison",
    "co_liaison",
    "unrelated_liaison",
    "system_admin",
    "security_admin",
    "audit_admin",
)
BUSINESS = frozenset(ROLES[1:9])
ADMINS = frozenset(ROLES[9:])
SIGNED_IN = BUSINESS | ADMINS
SUPERVISORS = frozenset({"supervisor", "other_supervisor"})
ITEM_VIEWERS = frozenset({"supervisor", "leader", "lead_liaison", "handler", "co_liaison"})
ORDER_VIEWERS = frozenset({"supervisor", "leader", "lead_liaison", "handler"})
ORDER_UNIT = frozenset({"lead_liaison", "handler"})
RECORD_READERS = frozenset({"supervisor", "other_supervisor", "audit_admin"})
# The assessing office, and the assessed lead unit's people and the leader in charge of it.
ASSESSED = frozenset({"supervisor", "leader", "lead_liaison", "handler"})


def each(outcome: Outcome, roles) -> dict[str, Outcome]:
    return dict.fromkeys(roles, outcome)


@dataclass(frozen=True)
class Rule:
    """How one URL answers one HTTP method.

    ``inside``/``outside`` pick the object (from the scene, for the signed-in user or ``None``): its pk
    fills the URL's keyword argument, or ``data`` puts it in the request. ``expect`` is the outcome per
    role with the inside object (or, for a URL without one, the page); roles left out get 404, the
    anonymous visitor the sign-in page. ``outside_expect``/``missing_expect`` do the same for the
    foreign object and for id ``MISSING_PK``; by default every signed-in role gets 404.
    A URL with no object shows ``marker`` (inside's text) to ``shows`` and to no role outside
    ``viewers``, and never shows a foreign object.
    """

    name: str
    method: str
    expect: Mapping[str, Outcome]
    inside: Callable | None = None
    outside: Callable | None = None
    data: Callable | None = None  # (scene, obj) → GET query or POST body
    outside_expect: Mapping[str, Outcome] = field(default_factory=dict)
    missing_expect: Mapping[str, Outcome] = field(default_factory=dict)
    marker: Callable | None = None
    shows: frozenset = frozenset()
    viewers: frozenset = ITEM_VIEWERS
    cases: tuple[str, ...] | None = None
    whole_tree: bool = False  # the screen's duty is every unit's data (the audit trail)

    @property
    def all_cases(self) -> tuple[str, ...]:
        if self.cases is not None:
            return self.cases
        return ("inside", "outside", "missing") if self.inside else ("page",)

    def outcome(self, role: str, case: str) -> Outcome:
        table = {"outside": self.outside_expect, "missing": self.missing_expect}.get(case, self.expect)
        return table.get(role, LOGIN if role == "anonymous" else NOT_FOUND)


def _item(scene, user):
    return scene.item


def _foreign_item(scene, user):
    return scene.foreign_item


def _today_plus(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


REPORT = {"text": "完成前期手续", "percent_complete": "50", "problems": "", "next_steps": ""}


def _pdf(name: str) -> SimpleUploadedFile:
    """A new upload per request (a file object is read once); unlike the scene's, so not a duplicate."""
    return SimpleUploadedFile(name, PDF + name.encode(), content_type="application/pdf")


def _workbook(unit: str = "区发展和改革局") -> SimpleUploadedFile:
    """A small ledger workbook led by ``unit``, as an upload (read once per request)."""
    book = openpyxl.Workbook()
    book.active.append(["重点任务", "牵头单位", "完成时限"])
    book.active.append(["导入的事项", unit, "12月"])
    stream = io.BytesIO()
    book.save(stream)
    return SimpleUploadedFile("导入.xlsx", stream.getvalue())


def _import_batch(scene, user, unit: str = "区发展和改革局"):
    """An upload in progress, the world supervisor's (for any other role, someone else's)."""
    return upload_import(ledger=scene.world.ledger, user=scene.world.supervisor, upload=_workbook(unit))


def _foreign_import_batch(scene, user):
    return upload_import(ledger=scene.foreign_ledger, user=scene.foreign_supervisor, upload=_workbook())


OUTLINE_TEXT = "2026年重点工作方案\n一、加快项目审批。牵头单位：区发改局；完成时限：12月底前"


def _outline_draft(scene, user):
    """A proposed outline, the world supervisor's (for any other role, someone else's)."""
    return start_outline(ledger=scene.world.ledger, user=scene.world.supervisor, text=OUTLINE_TEXT)


def _foreign_outline_draft(scene, user):
    return start_outline(ledger=scene.foreign_ledger, user=scene.foreign_supervisor, text=OUTLINE_TEXT)


def _instruction(scene):
    return write_instruction(item=scene.item, leader=scene.world.leader, text="本区领导批示")


def _foreign_instruction(scene):
    instruction = Instruction.objects.create(
        item=scene.foreign_item, leader=scene.foreign_supervisor, text="外区领导批示"
    )
    InstructionRecipient.objects.create(instruction=instruction, organisation=scene.foreign_unit)
    return instruction


def _order(scene, user=None):
    """The world supervisor's order to the lead unit about the scene's item (copied to ``leader``)."""
    return issue_order(
        office=scene.world.office,
        organisation=scene.world.lead_unit,
        items=[scene.item],
        subject="本区督办单",
        content="本区督办要求",
        reply_deadline=timezone.localdate() + dt.timedelta(days=10),
        user=scene.world.supervisor,
    )


def _foreign_order(scene, user=None):
    return issue_order(
        office=scene.foreign_office,
        organisation=scene.foreign_unit,
        items=[scene.foreign_item],
        subject="外区督办单",
        content="外区督办要求",
        reply_deadline=timezone.localdate() + dt.timedelta(days=10),
        user=scene.foreign_supervisor,
    )


def _order_evidence(scene, user):
    order = _order(scene)
    reply_order(order=order, user=scene.world.lead_liaison, reply="本区已办理", files=[_pdf("本区回复.pdf")])
    return order.evidence.get()


def _foreign_order_evidence(scene, user):
    order = _foreign_order(scene)
    reply_order(order=order, user=scene.foreign_liaison, reply="外区已办理", files=[_pdf("外区回复.pdf")])
    return order.evidence.get()


def _order_data(scene, obj):
    return {
        "office": scene.world.office.pk,
        "organisation": scene.world.lead_unit.pk,
        "items": [scene.item.pk],
        "level": "key",
        "subject": "新下发的督办单",
        "content": "请加快推进",
        "reply_deadline": _today_plus(10),
    }


def _interview(scene, user):
    return save_interview(
        user=scene.world.supervisor,
        office=scene.world.office,
        held_on=timezone.localdate(),
        interviewer=scene.world.leader,
        organisation=scene.world.lead_unit,
        interviewee="本区被约谈人",
        reason="本区约谈事由",
        items=[scene.item],
    )


def _foreign_interview(scene, user):
    return save_interview(
        user=scene.foreign_supervisor,
        office=scene.foreign_office,
        held_on=timezone.localdate(),
        interviewer=scene.foreign_supervisor,
        organisation=scene.foreign_unit,
        interviewee="外区被约谈人",
        reason="外区约谈事由",
    )


def _interview_data(scene, obj):
    return {
        "office": scene.world.office.pk,
        "held_on": _today_plus(0),
        "interviewer": scene.world.leader.pk,
        "organisation": scene.world.lead_unit.pk,
        "interviewee": "刘局长",
        "reason": "连续红色预警",
        "items": [scene.item.pk],
        "version": getattr(obj, "version", ""),
    }


def _accountability(scene, user):
    return save_accountability(
        user=scene.world.supervisor,
        office=scene.world.office,
        form="criticism",
        organisation=scene.world.lead_unit,
        decided_on=timezone.localdate(),
        reason="本区问责事由",
        items=[scene.item],
    )


def _foreign_accountability(scene, user):
    return save_accountability(
        user=scene.foreign_supervisor,
        office=scene.foreign_office,
        form="criticism",
        organisation=scene.foreign_unit,
        decided_on=timezone.localdate(),
        reason="外区问责事由",
    )


def _accountability_data(scene, obj):
    return {
        "office": scene.world.office.pk,
        "form": "admonition",
        "organisation": scene.world.lead_unit.pk,
        "person": "刘某",
        "decided_on": _today_plus(0),
        "reason": "约谈后仍未整改",
        "version": getattr(obj, "version", ""),
    }


# Inspections: ``inside`` is the world office's announced inspection of lead_unit (team: supervisor), whose
# leader in charge also sees it; ``outside`` the foreign office's of foreign_unit.


def _inspection_parts(scene, foreign: bool):
    if foreign:
        return scene.foreign_supervisor, scene.foreign_office, scene.foreign_unit, scene.foreign_liaison
    w = scene.world
    return w.supervisor, w.office, w.lead_unit, w.lead_liaison


def _inspection_of(scene, foreign: bool = False):
    supervisor, office, unit, _liaison = _inspection_parts(scene, foreign)
    return save_inspection(
        user=supervisor,
        office=office,
        title=f"{'外区' if foreign else '本区'}专项督查",
        kind="announced",
        planned_on=timezone.localdate(),
        team=[supervisor],
        targets=[unit],
    )


def _finding_of(scene, foreign: bool = False, photos=()):
    supervisor, _office, unit, _liaison = _inspection_parts(scene, foreign)
    return save_finding(
        user=supervisor,
        inspection=_inspection_of(scene, foreign),
        description=f"{'外区' if foreign else '本区'}发现问题",
        organisation=unit,
        found_on=timezone.localdate(),
        photos=photos,
    )


def _rectified_finding(scene, foreign: bool = False, verified: bool = False):
    """A finding assigned as a problem with one measure, both of which the unit asked to complete."""
    supervisor, office, _unit, liaison = _inspection_parts(scene, foreign)
    finding = _finding_of(scene, foreign)
    today = timezone.localdate()
    ledger = rectification_ledger_for_year(office=office, year=today.year, user=supervisor)
    problem = assign_problem(
        finding=finding,
        ledger=ledger,
        deadline=today + dt.timedelta(days=30),
        measures=[("整改措施", today + dt.timedelta(days=10))],
        user=supervisor,
    )
    for item in (problem, *problem.children.all()):
        transition_item(item=item, action="accept", user=liaison)
        transition_item(item=item, action="request_completion", user=liaison, comment="已整改")
    if verified:
        verify_rectification(finding=finding, user=supervisor, comment="验收通过", passed=True)
    return finding


def _finding_photo(scene, foreign: bool = False):
    upload = SimpleUploadedFile("现场.png", PNG, content_type="image/png")
    return _finding_of(scene, foreign, photos=[upload]).photos.get()


# Assessment ------------------------------------------------------------------------------------------
# The world's scheme assesses lead_unit alone (so its liaison, handler and the leader in charge of it are
# "its" people); the foreign office's assesses foreign_unit. Periods are scored as of today.


def _assessment_parts(scene, foreign: bool):
    w = scene.world
    if foreign:
        return scene.foreign_supervisor, scene.foreign_office, scene.foreign_unit, scene.foreign_liaison
    return w.supervisor, w.office, w.lead_unit, w.lead_liaison


def build_assessment(scene, foreign: bool) -> SimpleNamespace:
    """One office's assessment objects in every state a rule needs, built once with the module's scene
    (each test's writes are rolled back with its savepoint). The scheme publishes without a window
    (``objection_days=0``), so an open period can be published; objections are still open today."""
    supervisor, office, unit, liaison = _assessment_parts(scene, foreign)
    tag = "外区" if foreign else "本区"
    today = timezone.localdate()

    def scheme(name):
        created = assessment.save_scheme(
            user=supervisor, office=office, year=2026, name=name, objection_days=0
        )
        assessment.save_group(user=supervisor, scheme=created, name="区直部门", units=[unit])
        return created

    main = scheme(f"{tag}绩效考核")
    main.indicator = assessment.save_indicator(
        user=supervisor,
        scheme=main,
        name="按时办结",
        category="common",
        max_points=100,
        rule_kind="measure",
        measure="按时办结率_牵头",
        points_per_unit=100,
    )
    main.bonus = assessment.save_indicator(
        user=supervisor, scheme=main, name="创新争先", category="bonus", max_points=5, rule_kind="manual"
    )

    def period(days_ago: int, runs: int = 1):
        created = assessment.create_period(
            user=supervisor,
            scheme=main,
            kind="quarter",
            name=f"{tag}第{days_ago}天起",
            start=today - dt.timedelta(days=days_ago),
            end=today,
        )
        for _run in range(runs):
            assessment.run_scoring(user=supervisor, period=created)
        created.refresh_from_db()
        created.scheme = main
        return created

    open_period = period(80)
    publicised = period(170)
    assessment.publicise(user=supervisor, period=publicised)
    publicised.refresh_from_db()
    publicised.scheme = main
    manual_period = period(350)
    two_runs = period(260, runs=2)
    # Added after every run, so nothing rests on it: the one indicator that can be deleted.
    main.spare = assessment.save_indicator(
        user=supervisor, scheme=main, name="备用加分", category="bonus", max_points=1, rule_kind="manual"
    )
    book_scheme = scheme(f"{tag}责任书考核")
    return SimpleNamespace(
        scheme=main,
        open_period=open_period,
        publicised=publicised,
        two_runs=two_runs,
        manual_score=assessment.enter_manual_score(
            user=supervisor,
            period=manual_period,
            organisation=unit,
            indicator=main.bonus,
            points=3,
            reason="省级表彰",
            evidence=[_pdf(f"{tag}表彰文件.pdf")],
        ),
        objection=assessment.file_objection(
            user=liaison, period=publicised, organisation=unit, text="按时办结率有误"
        ),
        unit_score=UnitScore.objects.get(run=publicised.publicised_run),
        book=assessment.sign_book(
            user=supervisor,
            scheme=book_scheme,
            organisation=unit,
            targets=[],
            copies=[_pdf(f"{tag}责任书.pdf")],
        ),
    )


def _scheme_data(scene, obj):
    return {
        "office": scene.world.office.pk,
        "year": 2026,
        "name": "新的考核方案",
        "full_marks": "100",
        "require_full_marks": "on",
        "grading": "bands",
        "excellent_line": "90",
        "good_line": "80",
        "fair_line": "60",
        "list_size": 3,
        "objection_days": 5,
        "version": getattr(obj, "version", ""),
    }


def _indicator_data(scene, obj):
    return {
        "name": "报送质量",
        "category": "deduction",
        "max_points": "5",
        "rule_kind": "formula",
        "formula": "0.1*迟报 + 0.5*漏报",
        "base_points": "0",
        "sort_order": 2,
        "version": getattr(obj, "version", ""),
    }


def _scheme_indicator(period, name: str):
    """The pk of the period's scheme's ``name`` indicator (none for the missing-id case)."""
    scheme = getattr(period, "scheme", None)
    return getattr(scheme, name).pk if scheme is not None else ""


def _manual_data(scene, obj):
    return {
        "organisation": scene.world.lead_unit.pk,
        "indicator": getattr(obj, "indicator_id", None) or _scheme_indicator(obj, "bonus"),
        "points": "4",
        "reason": "市级表彰",
        "evidence": [_pdf("表彰.pdf")],
        "version": getattr(obj, "version", ""),
    }


def _inspection_data(scene, obj):
    return {
        "office": scene.world.office.pk,
        "title": "新的专项督查",
        "kind": "unannounced",
        "planned_on": _today_plus(0),
        "team": [scene.world.supervisor.pk],
        "targets": [scene.world.lead_unit.pk],
        "version": getattr(obj, "version", ""),
    }


def _assign_data(scene, obj):
    return {
        "deadline": _today_plus(30),
        "measure_1": "整改措施一",
        "measure_deadline_1": _today_plus(10),
    }


CHANNEL_MANAGERS = frozenset(
    {"supervisor", "other_supervisor", "lead_liaison", "sub_liaison", "co_liaison", "unrelated_liaison"}
)


def _notification(user, key: str):
    notify(event=Event.URGED, recipients=[user], title=f"催办{key}", key=f"matrix:{key}")
    return Notification.objects.get(recipient=user, key=f"matrix:{key}")


def _channel(user, **scope):
    channel = Channel(
        kind="dingtalk", name="矩阵机器人", webhook_url="http://127.0.0.1:9/?access_token=t", **scope
    )
    return save_channel(user=user, channel=channel)


def _dead_delivery(channel):
    notify(
        event=Event.OVERDUE, recipients=[], title="超期", key=f"matrix:{channel.pk}", ledger=channel.ledger
    )
    delivery = Delivery.objects.get(channel=channel)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DEAD, attempts=6, last_error="refused"
    )
    return delivery


def _export(scene, user):
    """A finished background export of the world's ledger, the world supervisor's."""
    return _rendered_export(scene.world.supervisor, scene.world.ledger)


def _foreign_export(scene, user):
    return _rendered_export(scene.foreign_supervisor, scene.foreign_ledger)


def _rendered_export(user, ledger):
    job = queue_export(user=user, kind=ExportKind.LEDGER, title=ledger.name, rows=1, ledger=ledger)
    render_export(job.pk)
    return job


RULES = [
    # The root only redirects to 我的工作, which has its own rule; there is nothing to scope here.
    Rule("home", "get", expect=each(redirect_to("ledgers:my_work"), ROLES)),
    # ledgers ---------------------------------------------------------------------------------------
    Rule(
        "ledgers:my_work",
        "get",
        expect={**each(OK, BUSINESS), **each(redirect_to("orgs:home"), ADMINS)},
        marker=lambda s: s.item.title,
        shows=frozenset({"supervisor"}),  # the lead unit's report waits for review
    ),
    Rule(
        "ledgers:ledger_list",
        "get",
        expect=each(OK, BUSINESS),
        marker=lambda s: s.world.ledger.name,
        shows=ITEM_VIEWERS,
    ),
    Rule("ledgers:ledger_create", "get", expect=each(OK, SUPERVISORS)),
    Rule("ledgers:ledger_create", "post", expect=each(FORM, SUPERVISORS), data=lambda s, o: {}),
    Rule(
        "ledgers:ledger_detail",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect=each(redirect_to("ledgers:item_list"), ITEM_VIEWERS),
    ),
    Rule(
        "ledgers:ledger_edit",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect={"supervisor": OK},
    ),
    Rule(
        "ledgers:ledger_edit",
        "post",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        data=lambda s, o: {},
        expect={"supervisor": FORM},
    ),
    Rule(
        "ledgers:item_create",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect={"supervisor": OK},
    ),
    Rule(
        "ledgers:item_create",
        "post",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        data=lambda s, o: {},
        expect={"supervisor": FORM},
    ),
    Rule(
        "ledgers:item_list",
        "get",
        expect=each(OK, BUSINESS),
        marker=lambda s: s.item.title,
        shows=ITEM_VIEWERS,
    ),
    # The bulk form checks the ticked ids against the supervisor's scope: an id outside it (or one that
    # does not exist) is one and the same "not a valid choice", so nothing can be probed.
    Rule(
        "ledgers:item_bulk",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {
            "action": "deadline",
            "pk": [o.pk],
            "deadline": "2026-12-31",
            "comment": "统一调整",
        },
        expect={"supervisor": DONE, "other_supervisor": REFUSED},
        outside_expect=each(REFUSED, SUPERVISORS),
        missing_expect=each(REFUSED, SUPERVISORS),
    ),
    Rule(
        "ledgers:item_autocomplete",
        "get",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {"q": o.title},
        expect=each(OK, SIGNED_IN),
        outside_expect=each(OK, SIGNED_IN),
        marker=lambda s: s.item.title,
        shows=ITEM_VIEWERS,
        cases=("inside", "outside"),
    ),
    Rule(
        "ledgers:saved_filter_save",
        "post",
        data=lambda s, o: {"name": "红色预警", "query": "color=red"},
        expect=each(DONE, SIGNED_IN),
    ),
    Rule(
        "ledgers:saved_filter_delete",
        "post",
        # Inside: the signed-in user's own saved filter; outside: another user's.
        inside=lambda s, u: s.saved_filter_of(u) if u else s.foreign_filter,
        outside=lambda s, u: s.foreign_filter,
        expect=each(DONE, SIGNED_IN),
    ),
    # Ledger configuration: the supervisors of the ledger's own office.
    Rule(
        "ledgers:ledger_settings",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect={"supervisor": OK},
    ),
    Rule(
        "ledgers:ledger_field_create",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect={"supervisor": OK},
    ),
    Rule(
        "ledgers:ledger_field_create",
        "post",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        data=lambda s, o: {},
        expect={"supervisor": FORM},
    ),
    Rule(
        "ledgers:ledger_field_edit",
        "get",
        inside=lambda s, u: s.field,
        outside=lambda s, u: s.foreign_field,
        expect={"supervisor": OK},
    ),
    Rule(
        "ledgers:ledger_field_edit",
        "post",
        inside=lambda s, u: s.field,
        outside=lambda s, u: s.foreign_field,
        data=lambda s, o: {},
        expect={"supervisor": FORM},
    ),
    Rule(
        "ledgers:ledger_field_delete",
        "post",
        inside=lambda s, u: s.field,
        outside=lambda s, u: s.foreign_field,
        expect={"supervisor": DONE},
    ),
    Rule(
        "ledgers:tag_create",
        "post",
        data=lambda s, o: {"name": "重点督办"},
        expect=each(DONE_JSON, SUPERVISORS),
    ),
    Rule("ledgers:item_detail", "get", inside=_item, outside=_foreign_item, expect=each(OK, ITEM_VIEWERS)),
    Rule("ledgers:item_edit", "get", inside=_item, outside=_foreign_item, expect={"supervisor": OK}),
    Rule(
        "ledgers:item_edit",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {},
        expect={"supervisor": FORM},
    ),
    Rule(
        "ledgers:item_transition",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {"action": "suspend", "comment": "暂缓实施"},
        expect={**each(REFUSED, ITEM_VIEWERS), "supervisor": DONE},
    ),
    Rule(
        "ledgers:item_comment",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {"text": "请加快进度"},
        expect=each(DONE, ITEM_VIEWERS),
    ),
    Rule(
        "ledgers:item_milestones",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {"phases": "方案制定 5\n组织实施 10"},
        expect={**each(REFUSED, ITEM_VIEWERS), "supervisor": DONE},
    ),
    # Milestones: the item's viewers who may not change one are told nothing (404), as for any object.
    Rule(
        "ledgers:milestone_edit",
        "post",
        inside=lambda s, u: s.milestone,
        outside=lambda s, u: s.foreign_milestone,
        data=lambda s, o: {
            f"milestone-{o.pk}-name": "方案制定（调整）",
            f"milestone-{o.pk}-start_date": s.milestone.start_date.isoformat(),
            f"milestone-{o.pk}-due_date": s.milestone.due_date.isoformat(),
            f"milestone-{o.pk}-version": s.milestone.version,
        },
        expect={"supervisor": DONE},
    ),
    Rule(
        "ledgers:milestone_complete",
        "post",
        inside=lambda s, u: s.milestone,
        outside=lambda s, u: s.foreign_milestone,
        data=lambda s, o: {
            f"done-{o.pk}-done_on": timezone.localdate().isoformat(),
            f"done-{o.pk}-version": s.milestone.version,
        },
        expect=each(DONE, {"supervisor", "lead_liaison"}),
    ),
    Rule(
        "ledgers:extension_request",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {"new_deadline": _today_plus(200), "reason": "征地拆迁未完成"},
        expect={**each(REFUSED, ITEM_VIEWERS), "lead_liaison": DONE},
    ),
    Rule(
        "ledgers:report_create",
        "get",
        inside=_item,
        outside=_foreign_item,
        expect=each(OK, {"lead_liaison", "handler", "co_liaison"}),
    ),
    Rule(
        "ledgers:report_create",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: REPORT,
        # The lead unit has reported this period already (told on the form); the co-unit submits its draft.
        expect={"lead_liaison": FORM, "handler": FORM, "co_liaison": DONE},
    ),
    # A draft belongs to the unit that wrote it: the lead unit sees it on the item, but may not edit it.
    Rule(
        "ledgers:report_edit",
        "get",
        inside=lambda s, u: s.draft_report,
        outside=lambda s, u: s.foreign_draft_report,
        expect={"co_liaison": OK},
    ),
    Rule(
        "ledgers:report_edit",
        "post",
        inside=lambda s, u: s.draft_report,
        outside=lambda s, u: s.foreign_draft_report,
        data=lambda s, o: {**REPORT, "save": "draft"},
        expect={"co_liaison": DONE},
    ),
    Rule(
        "ledgers:report_review",
        "post",
        inside=lambda s, u: s.lead_report,
        outside=lambda s, u: s.foreign_lead_report,
        data=lambda s, o: {"decision": "accept", "comment": ""},
        expect={**each(REFUSED, ITEM_VIEWERS), "supervisor": DONE},
    ),
    Rule(
        "ledgers:extension_decide",
        "post",
        inside=lambda s, u: s.extension,
        outside=lambda s, u: s.foreign_extension,
        data=lambda s, o: {"decision": "approve", "comment": ""},
        expect={**each(REFUSED, ITEM_VIEWERS), "supervisor": DONE},
    ),
    Rule(
        "ledgers:evidence_download",
        "get",
        inside=lambda s, u: s.evidence,
        outside=lambda s, u: s.foreign_evidence,
        expect=each(OK, ITEM_VIEWERS),
    ),
    # Item attachments: the ledger's supervisors and the lead unit's liaison add them; the scene's
    # ``attachment`` was uploaded by the lead liaison, so it and the supervisor may remove it.
    Rule(
        "ledgers:attachment_upload",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {"file": _pdf("会议纪要.pdf"), "description": "专题会议纪要"},
        expect={**each(REFUSED, ITEM_VIEWERS), "supervisor": DONE, "lead_liaison": DONE},
    ),
    Rule(
        "ledgers:attachment_download",
        "get",
        inside=lambda s, u: s.attachment,
        outside=lambda s, u: s.foreign_attachment,
        expect=each(OK, ITEM_VIEWERS),
    ),
    Rule(
        "ledgers:attachment_delete",
        "post",
        inside=lambda s, u: s.attachment,
        outside=lambda s, u: s.foreign_attachment,
        expect={**each(REFUSED, ITEM_VIEWERS), "supervisor": DONE, "lead_liaison": DONE},
    ),
    # dashboards ------------------------------------------------------------------------------------
    Rule("dashboards:battle_map", "get", expect=each(OK, BUSINESS)),
    # audit (the audit admin's duty alone) ----------------------------------------------------------
    Rule("audit:event_list", "get", expect={"audit_admin": OK}, whole_tree=True),
    # orgs: admin screens. An admin's scope is the whole tree, so the foreign unit and person are in it.
    Rule(
        "orgs:home",
        "get",
        expect={
            "system_admin": OK,
            "security_admin": redirect_to("orgs:user_list"),
            "audit_admin": redirect_to("audit:event_list"),
        },
    ),
    Rule("orgs:organisation_list", "get", expect={"system_admin": OK}),
    Rule("orgs:organisation_create", "get", expect={"system_admin": OK}),
    Rule("orgs:organisation_create", "post", data=lambda s, o: {}, expect={"system_admin": FORM}),
    Rule(
        "orgs:organisation_edit",
        "get",
        inside=lambda s, u: s.world.lead_unit,
        outside=lambda s, u: s.foreign_unit,
        expect={"system_admin": OK},
        outside_expect={"system_admin": OK},
    ),
    Rule(
        "orgs:organisation_edit",
        "post",
        inside=lambda s, u: s.world.lead_unit,
        outside=lambda s, u: s.foreign_unit,
        data=lambda s, o: {},
        expect={"system_admin": FORM},
        outside_expect={"system_admin": FORM},
    ),
    Rule("orgs:user_list", "get", expect=each(OK, {"system_admin", "security_admin"})),
    Rule("orgs:user_create", "get", expect={"system_admin": OK}),
    Rule("orgs:user_create", "post", data=lambda s, o: {}, expect={"system_admin": FORM}),
    Rule(
        "orgs:user_edit",
        "get",
        inside=lambda s, u: s.world.handler,
        outside=lambda s, u: s.foreign_liaison,
        expect={"system_admin": OK},
        outside_expect={"system_admin": OK},
    ),
    Rule(
        "orgs:user_edit",
        "post",
        inside=lambda s, u: s.world.handler,
        outside=lambda s, u: s.foreign_liaison,
        data=lambda s, o: {},
        expect={"system_admin": FORM},
        outside_expect={"system_admin": FORM},
    ),
    # Roles and charges are the security admin's duty alone (三员分立), not the system admin's.
    Rule(
        "orgs:user_roles",
        "get",
        inside=lambda s, u: s.world.handler,
        outside=lambda s, u: s.foreign_liaison,
        expect={"security_admin": OK},
        outside_expect={"security_admin": OK},
    ),
    Rule(
        "orgs:user_roles",
        "post",
        inside=lambda s, u: s.world.handler,
        outside=lambda s, u: s.foreign_liaison,
        data=lambda s, o: {},
        expect={"security_admin": FORM},
        outside_expect={"security_admin": FORM},
    ),
    Rule(
        "orgs:membership_revoke",
        "post",
        inside=lambda s, u: s.membership_of(s.world.handler),
        outside=lambda s, u: s.membership_of(s.foreign_liaison),
        expect={"security_admin": DONE},
        outside_expect={"security_admin": DONE},
    ),
    # Pickers for forms and filters (units, people, leaders): the directory, for anyone signed in.
    Rule("orgs:org_autocomplete", "get", data=lambda s, o: {"q": "区"}, expect=each(OK, SIGNED_IN)),
    Rule("orgs:user_autocomplete", "get", data=lambda s, o: {"q": "联络"}, expect=each(OK, SIGNED_IN)),
    Rule("orgs:leader_autocomplete", "get", data=lambda s, o: {"q": "王"}, expect=each(OK, SIGNED_IN)),
    # security: password policy, lockout, sessions ---------------------------------------------------
    # The security admin's duty covers every account, so the foreign person's session and lockout too.
    Rule("security:policy", "get", expect={"security_admin": OK}),
    Rule("security:policy", "post", data=lambda s, o: {}, expect={"security_admin": FORM}),
    Rule("security:session_list", "get", expect={"security_admin": OK}),
    Rule(
        "security:session_end",
        "post",
        inside=lambda s, u: signed_in(s.world.handler),
        outside=lambda s, u: signed_in(s.foreign_liaison),
        expect={"security_admin": DONE},
        outside_expect={"security_admin": DONE},
    ),
    Rule(
        "security:user_sessions_end",
        "post",
        inside=lambda s, u: signed_in(s.world.handler).user,
        outside=lambda s, u: signed_in(s.foreign_liaison).user,
        expect={"security_admin": DONE},
        outside_expect={"security_admin": DONE},
    ),
    Rule("security:lockout_list", "get", expect={"security_admin": OK}),
    Rule(
        "security:unlock",
        "post",
        inside=lambda s, u: locked_out(s.world.handler.username),
        outside=lambda s, u: locked_out(s.foreign_liaison.username),
        expect={"security_admin": DONE},
        outside_expect={"security_admin": DONE},
    ),
    # Everyone changes their own password, and only their own.
    Rule("security:password_change", "get", expect=each(OK, SIGNED_IN)),
    Rule("security:password_change", "post", data=lambda s, o: {}, expect=each(FORM, SIGNED_IN)),
    # security: two-factor sign-in -------------------------------------------------------------------
    # Enforcement is off here (conftest) and nobody in the scene has an app: the code page sends everyone
    # on, enrolment and 账号安全 are open to every signed-in user, and what needs a device is refused
    # with a reason. Only the security admin resets; OIDC is not configured, so its URLs are 404.
    Rule("twofactor:security", "get", expect=each(OK, SIGNED_IN)),
    Rule("twofactor:verify", "get", expect=each(redirect_to("ledgers:my_work"), SIGNED_IN)),
    Rule(
        "twofactor:verify",
        "post",
        data=lambda s, o: {"code": "123456"},
        expect=each(redirect_to("ledgers:my_work"), SIGNED_IN),
    ),
    Rule("twofactor:enrol", "get", expect=each(OK, SIGNED_IN)),
    Rule("twofactor:enrol", "post", data=lambda s, o: {"code": ""}, expect=each(FORM, SIGNED_IN)),
    Rule("twofactor:recovery_codes", "post", expect=each(REFUSED, SIGNED_IN)),
    Rule("twofactor:remove", "post", expect=each(REFUSED, SIGNED_IN)),
    Rule("twofactor:user_list", "get", expect={"security_admin": OK}),
    Rule(
        "twofactor:reset",
        "get",
        inside=lambda s, u: s.world.handler,
        outside=lambda s, u: s.foreign_liaison,
        expect={"security_admin": OK},
        outside_expect={"security_admin": OK},
    ),
    Rule(
        "twofactor:reset",
        "post",
        inside=lambda s, u: s.world.handler,
        outside=lambda s, u: s.foreign_liaison,
        expect={"security_admin": REFUSED},
        outside_expect={"security_admin": REFUSED},
    ),
    Rule("twofactor:oidc_sign_in", "get", expect=each(NOT_FOUND, ROLES)),
    Rule("twofactor:oidc_callback", "get", expect=each(NOT_FOUND, ROLES)),
    # audit: the trail, its export and verification ------------------------------------------------
    Rule("audit:event_export", "get", expect={"audit_admin": OK}, whole_tree=True),
    # personal data -------------------------------------------------------------------------------
    # 显示完整号码: the system admin (accounts) and supervisors (for unit contacts, here a handler and a
    # foreign liaison); everyone else 404, as for anything they may not see.
    Rule(
        "orgs:user_phone",
        "get",
        inside=lambda s, u: s.world.handler,
        outside=lambda s, u: s.foreign_liaison,
        expect=each(OK, {"system_admin", *SUPERVISORS}),
        outside_expect=each(OK, {"system_admin", *SUPERVISORS}),
    ),
    # exchange: import ------------------------------------------------------------------------------
    # Only the ledger's supervisors import into it, and an upload in progress is its uploader's alone.
    Rule(
        "exchange:import_upload",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect={"supervisor": OK},
    ),
    Rule(
        "exchange:import_upload",
        "post",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        data=lambda s, o: {"file": _workbook()},
        expect={"supervisor": DONE},
    ),
    Rule(
        "exchange:import_preview",
        "get",
        inside=_import_batch,
        outside=_foreign_import_batch,
        expect={"supervisor": OK},
    ),
    Rule(
        "exchange:import_columns",
        "post",
        inside=_import_batch,
        outside=_foreign_import_batch,
        data=lambda s, o: {"column_0": "title", "column_1": "lead_org", "column_2": "deadline"},
        expect={"supervisor": DONE},
    ),
    Rule(
        "exchange:import_names",
        "post",
        # 发改部门 matches no unit: the supervisor says it is 区发展和改革局.
        inside=lambda s, u: _import_batch(s, u, unit="发改部门"),
        outside=_foreign_import_batch,
        data=lambda s, o: {"unit_0": s.world.lead_unit.pk},
        expect={"supervisor": DONE},
    ),
    Rule(
        "exchange:import_confirm",
        "post",
        inside=_import_batch,
        outside=_foreign_import_batch,
        expect={"supervisor": DONE},
    ),
    # exchange: export ------------------------------------------------------------------------------
    # Workbooks are zipped, so the markers cannot be read here; what each one holds is tested in
    # luoshi/exchange/tests/test_export_views.py.
    Rule(
        "exchange:ledger_export",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect=each(OK, ITEM_VIEWERS),
    ),
    Rule("exchange:item_list_export", "get", expect=each(OK, BUSINESS)),
    Rule(
        "exchange:ledger_template",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect=each(OK, ITEM_VIEWERS),
    ),
    # exchange: outline -----------------------------------------------------------------------------
    # Only the ledger's supervisors outline a document into it, and a draft is its author's alone.
    Rule(
        "exchange:outline_start",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect={"supervisor": OK},
    ),
    Rule(
        "exchange:outline_start",
        "post",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        data=lambda s, o: {"text": OUTLINE_TEXT},
        expect={"supervisor": DONE},
    ),
    Rule(
        "exchange:outline_editor",
        "get",
        inside=_outline_draft,
        outside=_foreign_outline_draft,
        expect={"supervisor": OK},
    ),
    Rule(
        "exchange:outline_editor",
        "post",
        inside=_outline_draft,
        outside=_foreign_outline_draft,
        data=lambda s, o: {"operation": "rename", "node": 1, "title": "加快重大项目审批", "version": 1},
        expect={"supervisor": DONE},
    ),
    Rule(
        "exchange:outline_save",
        "post",
        inside=_outline_draft,
        outside=_foreign_outline_draft,
        data=lambda s, o: {"version": 1},
        expect={"supervisor": DONE},
    ),
    # exchange: briefing ----------------------------------------------------------------------------
    # A .docx (compressed, so no marker can be read in it): whoever sees the ledger gets its briefing,
    # and every business user the briefing of their own filtered item list.
    Rule(
        "exchange:ledger_briefing",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect=each(OK, ITEM_VIEWERS),
    ),
    Rule("exchange:item_list_briefing", "get", expect=each(OK, BUSINESS)),
    # supervision: instructions ---
    # Leaders write them on items they see; the item's units acknowledge them; the writer closes them.
    # ``inside`` is the world leader's instruction on the scene's item to its lead unit and co-unit;
    # ``outside`` one on the foreign item (written directly: no user of the world may write there).
    Rule(
        "supervision:instruction_create",
        "get",
        inside=_item,
        outside=_foreign_item,
        expect={"leader": OK},
    ),
    Rule(
        "supervision:instruction_create",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {"text": "请加快推进", "recipients": [f"org:{s.world.lead_unit.pk}"]},
        expect={"leader": DONE},
    ),
    Rule("supervision:instruction_written", "get", expect={"leader": OK}),
    Rule("supervision:instruction_received", "get", expect=each(OK, BUSINESS)),
    Rule(
        "supervision:instruction_detail",
        "get",
        inside=lambda s, u: _instruction(s),
        outside=lambda s, u: _foreign_instruction(s),
        expect=each(OK, ITEM_VIEWERS),
    ),
    Rule(
        "supervision:instruction_acknowledge",
        "post",
        inside=lambda s, u: _instruction(s),
        outside=lambda s, u: _foreign_instruction(s),
        expect={
            **each(REFUSED, {"supervisor", "leader"}),
            **each(DONE, {"lead_liaison", "handler", "co_liaison"}),
        },
    ),
    Rule(
        "supervision:instruction_close",
        "post",
        inside=lambda s, u: _instruction(s),
        outside=lambda s, u: _foreign_instruction(s),
        expect={**each(REFUSED, ITEM_VIEWERS), "leader": DONE},
    ),
    # supervision: orders and notices ---
    # An order is its office's, the unit's it is issued to and the leaders' in charge or copied:
    # ``inside`` is the world supervisor's order to the lead unit about the scene's item, ``outside`` the
    # foreign office's to the foreign unit. The unit signs and replies; others are refused or get 404.
    Rule("supervision:order_list", "get", expect=each(OK, BUSINESS)),
    Rule("supervision:order_create", "get", expect=each(OK, SUPERVISORS)),
    Rule(
        "supervision:order_create",
        "post",
        data=_order_data,
        expect={"supervisor": DONE, "other_supervisor": FORM},
    ),
    Rule(
        "supervision:order_detail",
        "get",
        inside=_order,
        outside=_foreign_order,
        expect=each(OK, ORDER_VIEWERS),
    ),
    Rule(
        "supervision:order_reply",
        "get",
        inside=_order,
        outside=_foreign_order,
        expect=each(OK, ORDER_UNIT),
    ),
    Rule(
        "supervision:order_reply",
        "post",
        inside=_order,
        outside=_foreign_order,
        data=lambda s, o: {"reply": "已办理", "version": getattr(o, "version", "")},
        expect=each(DONE, ORDER_UNIT),
    ),
    Rule(
        "supervision:order_action",
        "post",
        inside=_order,
        outside=_foreign_order,
        data=lambda s, o: {"action": "sign", "version": getattr(o, "version", 1)},
        expect={**each(REFUSED, {"supervisor", "leader"}), **each(DONE, ORDER_UNIT)},
    ),
    # A .docx (compressed: its text is tested in luoshi/supervision/tests/test_orders_document.py).
    Rule(
        "supervision:order_document",
        "get",
        inside=_order,
        outside=_foreign_order,
        expect=each(OK, ORDER_VIEWERS),
    ),
    Rule(
        "supervision:order_evidence",
        "get",
        inside=_order_evidence,
        outside=_foreign_order_evidence,
        expect=each(OK, ORDER_VIEWERS),
    ),
    # supervision: interviews and accountability ---
    # The office's supervisors write them; the audit admin reads every office's and writes none.
    Rule("supervision:interview_list", "get", expect=each(OK, RECORD_READERS)),
    Rule("supervision:interview_create", "get", expect=each(OK, SUPERVISORS)),
    Rule(
        "supervision:interview_create",
        "post",
        data=_interview_data,
        expect={"supervisor": DONE, "other_supervisor": FORM},
    ),
    Rule(
        "supervision:interview_detail",
        "get",
        inside=_interview,
        outside=_foreign_interview,
        expect=each(OK, {"supervisor", "audit_admin"}),
        outside_expect={"audit_admin": OK},
    ),
    Rule(
        "supervision:interview_edit",
        "get",
        inside=_interview,
        outside=_foreign_interview,
        expect={"supervisor": OK},
    ),
    Rule(
        "supervision:interview_edit",
        "post",
        inside=_interview,
        outside=_foreign_interview,
        data=_interview_data,
        expect={"supervisor": DONE},
    ),
    Rule("supervision:accountability_list", "get", expect=each(OK, RECORD_READERS)),
    Rule("supervision:accountability_create", "get", expect=each(OK, SUPERVISORS)),
    Rule(
        "supervision:accountability_create",
        "post",
        data=_accountability_data,
        expect={"supervisor": DONE, "other_supervisor": FORM},
    ),
    Rule(
        "supervision:accountability_detail",
        "get",
        inside=_accountability,
        outside=_foreign_accountability,
        expect=each(OK, {"supervisor", "audit_admin"}),
        outside_expect={"audit_admin": OK},
    ),
    Rule(
        "supervision:accountability_edit",
        "get",
        inside=_accountability,
        outside=_foreign_accountability,
        expect={"supervisor": OK},
    ),
    Rule(
        "supervision:accountability_edit",
        "post",
        inside=_accountability,
        outside=_foreign_accountability,
        data=_accountability_data,
        expect={"supervisor": DONE},
    ),
    # notifications ---------------------------------------------------------------------------------
    # Everyone has an inbox and preferences, and marks only their own messages read. Robots: a ledger's by
    # its office's supervisors, a unit's by its liaisons; the dead letters also to the system admin (all of
    # them). The scene's robots point at a closed local port, so a test send is refused with its error.
    Rule("notifications:inbox", "get", expect=each(OK, SIGNED_IN)),
    Rule(
        "notifications:mark_read",
        "post",
        inside=lambda s, u: _notification(u or s.world.handler, "own"),
        outside=lambda s, u: _notification(s.foreign_supervisor, "foreign"),
        expect=each(DONE, SIGNED_IN),
    ),
    Rule(
        "notifications:mark_all_read",
        "post",
        inside=lambda s, u: _notification(u or s.world.handler, "own"),
        expect=each(DONE, SIGNED_IN),
        cases=("inside",),
    ),
    Rule("notifications:preferences", "get", expect=each(OK, SIGNED_IN)),
    Rule(
        "notifications:preferences",
        "post",
        data=lambda s, o: {"email_events": ["urged", "digest"]},
        expect=each(DONE, SIGNED_IN),
    ),
    Rule("notifications:channel_list", "get", expect=each(OK, CHANNEL_MANAGERS)),
    Rule("notifications:channel_create", "get", expect=each(OK, CHANNEL_MANAGERS)),
    Rule("notifications:channel_create", "post", data=lambda s, o: {}, expect=each(FORM, CHANNEL_MANAGERS)),
    Rule(
        "notifications:channel_edit",
        "get",
        inside=lambda s, u: _channel(s.world.supervisor, ledger=s.world.ledger),
        outside=lambda s, u: _channel(s.foreign_supervisor, ledger=s.foreign_ledger),
        expect={"supervisor": OK},
    ),
    Rule(
        "notifications:channel_edit",
        "post",
        inside=lambda s, u: _channel(s.world.lead_liaison, organisation=s.world.lead_unit),
        outside=lambda s, u: _channel(s.foreign_liaison, organisation=s.foreign_unit),
        data=lambda s, o: {},
        expect={"lead_liaison": FORM},
    ),
    Rule(
        "notifications:channel_test",
        "post",
        inside=lambda s, u: _channel(s.world.supervisor, ledger=s.world.ledger),
        outside=lambda s, u: _channel(s.foreign_supervisor, ledger=s.foreign_ledger),
        expect={"supervisor": REFUSED},
    ),
    Rule("notifications:delivery_list", "get", expect=each(OK, {*CHANNEL_MANAGERS, "system_admin"})),
    Rule(
        "notifications:delivery_retry",
        "post",
        inside=lambda s, u: _dead_delivery(_channel(s.world.supervisor, ledger=s.world.ledger)),
        outside=lambda s, u: _dead_delivery(_channel(s.foreign_supervisor, ledger=s.foreign_ledger)),
        expect=each(DONE, {"supervisor", "system_admin"}),
        outside_expect={"system_admin": DONE},
    ),
    # supervision: urging and escalation ---
    # Only the supervisors of the ledger's office urge its items and edit its ladder; a reader of the item
    # (the leader, the units) gets 404. The bulk urge checks the ticked ids against the supervisor's scope
    # like the item list's bulk form: a foreign or missing id is refused with nothing written.
    Rule("supervision:urge_item", "get", inside=_item, outside=_foreign_item, expect={"supervisor": OK}),
    Rule(
        "supervision:urge_item",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {"message": "请加快进度"},
        expect={"supervisor": DONE},
    ),
    Rule(
        "supervision:urge_bulk",
        "post",
        inside=_item,
        outside=_foreign_item,
        data=lambda s, o: {"pk": [o.pk], "comment": "请加快进度"},
        expect={"supervisor": DONE, "other_supervisor": REFUSED},
        outside_expect=each(REFUSED, SUPERVISORS),
        missing_expect=each(REFUSED, SUPERVISORS),
    ),
    Rule("supervision:urge_list", "get", expect=each(OK, SUPERVISORS)),
    Rule(
        "supervision:escalation_policy",
        "get",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        expect={"supervisor": OK},
    ),
    Rule(
        "supervision:escalation_policy",
        "post",
        inside=lambda s, u: s.world.ledger,
        outside=lambda s, u: s.foreign_ledger,
        data=lambda s, o: {
            "style": "standard",
            "is_active": "on",
            "urgent_start": "supervision_notice",
            "offset_remind": "-3",
            "offset_urge_notice": "1",
            "offset_supervision_notice": "5",
        },
        expect={"supervisor": DONE},
    ),
    # exchange: background export ---
    # 我的导出 lists each business user's own jobs; a finished file is its requester's alone, everyone
    # else (whoever else sees the ledger included) gets 404.
    Rule("exchange:export_list", "get", expect=each(OK, BUSINESS)),
    Rule(
        "exchange:export_download",
        "get",
        inside=_export,
        outside=_foreign_export,
        expect={"supervisor": OK},
    ),
    # supervision: inspections and rectification ---
    # The organising office plans, records, assigns, verifies and closes; the leader in charge of a
    # targeted unit reads the inspection; the rectification overview is for supervisors and leaders.
    Rule("supervision:inspection_list", "get", expect=each(OK, BUSINESS)),
    Rule("supervision:inspection_create", "get", expect=each(OK, SUPERVISORS)),
    Rule(
        "supervision:inspection_create",
        "post",
        data=_inspection_data,
        expect={"supervisor": DONE, "other_supervisor": FORM},
    ),
    Rule(
        "supervision:inspection_detail",
        "get",
        inside=lambda s, u: _inspection_of(s),
        outside=lambda s, u: _inspection_of(s, foreign=True),
        expect=each(OK, {"supervisor", "leader"}),
    ),
    Rule(
        "supervision:inspection_edit",
        "get",
        inside=lambda s, u: _inspection_of(s),
        outside=lambda s, u: _inspection_of(s, foreign=True),
        expect={"supervisor": OK},
    ),
    Rule(
        "supervision:inspection_edit",
        "post",
        inside=lambda s, u: _inspection_of(s),
        outside=lambda s, u: _inspection_of(s, foreign=True),
        data=_inspection_data,
        expect={"supervisor": DONE},
    ),
    Rule(
        "supervision:inspection_done",
        "post",
        inside=lambda s, u: _inspection_of(s),
        outside=lambda s, u: _inspection_of(s, foreign=True),
        expect={"supervisor": DONE},
    ),
    Rule(
        "supervision:finding_create",
        "get",
        inside=lambda s, u: _inspection_of(s),
        outside=lambda s, u: _inspection_of(s, foreign=True),
        expect={"supervisor": OK},
    ),
    Rule(
        "supervision:finding_create",
        "post",
        inside=lambda s, u: _inspection_of(s),
        outside=lambda s, u: _inspection_of(s, foreign=True),
        data=lambda s, o: {
            "description": "窗口指南未更新",
            "organisation": s.world.lead_unit.pk,
            "found_on": _today_plus(0),
        },
        expect={"supervisor": DONE},
    ),
    Rule(
        "supervision:finding_assign",
        "get",
        inside=lambda s, u: _finding_of(s),
        outside=lambda s, u: _finding_of(s, foreign=True),
        expect={"supervisor": OK},
    ),
    Rule(
        "supervision:finding_assign",
        "post",
        inside=lambda s, u: _finding_of(s),
        outside=lambda s, u: _finding_of(s, foreign=True),
        data=_assign_data,
        expect={"supervisor": DONE},
    ),
    Rule(
        "supervision:finding_verify",
        "get",
        inside=lambda s, u: _rectified_finding(s),
        outside=lambda s, u: _rectified_finding(s, foreign=True),
        expect={"supervisor": OK},
    ),
    Rule(
        "supervision:finding_verify",
        "post",
        inside=lambda s, u: _rectified_finding(s),
        outside=lambda s, u: _rectified_finding(s, foreign=True),
        data=lambda s, o: {"passed": "1", "comment": "佐证齐全"},
        expect={"supervisor": DONE},
    ),
    Rule(
        "supervision:finding_close",
        "post",
        inside=lambda s, u: _rectified_finding(s, verified=True),
        outside=lambda s, u: _rectified_finding(s, foreign=True, verified=True),
        expect={"supervisor": DONE},
    ),
    Rule(
        "supervision:finding_photo",
        "get",
        inside=lambda s, u: _finding_photo(s),
        outside=lambda s, u: _finding_photo(s, foreign=True),
        expect=each(OK, {"supervisor", "leader"}),
    ),
    Rule(
        "supervision:rectification_overview",
        "get",
        expect=each(OK, {"supervisor", "other_supervisor", "leader"}),
    ),
    # assessment ---
    # The office sets up and scores; the assessed unit's people and the leader in charge of it read
    # the scheme and, once publicised, the period, their unit's breakdown and the notice.
    Rule("assessment:scheme_list", "get", expect=each(OK, BUSINESS)),
    Rule("assessment:scheme_create", "get", expect=each(OK, SUPERVISORS)),
    Rule(
        "assessment:scheme_create",
        "post",
        data=_scheme_data,
        expect={"supervisor": DONE, "other_supervisor": FORM},
    ),
    Rule(
        "assessment:scheme_detail",
        "get",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        expect=each(OK, ASSESSED),
    ),
    Rule(
        "assessment:scheme_edit",
        "get",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:scheme_edit",
        "post",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        data=_scheme_data,
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:group_create",
        "get",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:group_create",
        "post",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        data=lambda s, o: {"name": "镇街", "units": [s.world.co_unit.pk], "sort_order": 1},
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:group_edit",
        "get",
        inside=lambda s, u: s.assessment.scheme.groups.get(),
        outside=lambda s, u: s.foreign_assessment.scheme.groups.get(),
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:group_edit",
        "post",
        inside=lambda s, u: s.assessment.scheme.groups.get(),
        outside=lambda s, u: s.foreign_assessment.scheme.groups.get(),
        data=lambda s, o: {
            "name": "部门",
            "units": [s.world.lead_unit.pk, s.world.co_unit.pk],
            "sort_order": 0,
            "version": getattr(o, "version", ""),
        },
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:indicator_create",
        "get",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:indicator_create",
        "post",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        data=_indicator_data,
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:indicator_edit",
        "get",
        inside=lambda s, u: s.assessment.scheme.indicator,
        outside=lambda s, u: s.foreign_assessment.scheme.indicator,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:indicator_edit",
        "post",
        inside=lambda s, u: s.assessment.scheme.bonus,
        outside=lambda s, u: s.foreign_assessment.scheme.bonus,
        data=_indicator_data,
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:indicator_delete",
        "post",
        inside=lambda s, u: s.assessment.scheme.spare,
        outside=lambda s, u: s.foreign_assessment.scheme.spare,
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:book_create",
        "get",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:book_create",
        "post",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        data=lambda s, o: {
            "organisation": s.world.lead_unit.pk,
            "signed_on": "2026-02-01",
            "signatory": "局长",
        },
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:book_edit",
        "get",
        inside=lambda s, u: s.assessment.book,
        outside=lambda s, u: s.foreign_assessment.book,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:book_edit",
        "post",
        inside=lambda s, u: s.assessment.book,
        outside=lambda s, u: s.foreign_assessment.book,
        data=lambda s, o: {
            "signed_on": "2026-02-02",
            "signatory": "副局长",
            "version": getattr(o, "version", ""),
        },
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:book_copy",
        "get",
        inside=lambda s, u: s.assessment.book.copies.get(),
        outside=lambda s, u: s.foreign_assessment.book.copies.get(),
        expect=each(OK, ASSESSED),
    ),
    Rule(
        "assessment:period_create",
        "get",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:period_create",
        "post",
        inside=lambda s, u: s.assessment.scheme,
        outside=lambda s, u: s.foreign_assessment.scheme,
        data=lambda s, o: {"kind": "year", "name": "2026年度", "start": "2026-01-01", "end": "2026-12-31"},
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:period_detail",
        "get",
        inside=lambda s, u: s.assessment.publicised,
        outside=lambda s, u: s.foreign_assessment.publicised,
        expect=each(OK, ASSESSED),
    ),
    Rule(
        "assessment:period_run",
        "post",
        inside=lambda s, u: s.assessment.open_period,
        outside=lambda s, u: s.foreign_assessment.open_period,
        data=lambda s, o: {"as_of": _today_plus(0), "note": "复算"},
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:period_publicise",
        "post",
        inside=lambda s, u: s.assessment.open_period,
        outside=lambda s, u: s.foreign_assessment.open_period,
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:period_publish",
        "post",
        inside=lambda s, u: s.assessment.open_period,
        outside=lambda s, u: s.foreign_assessment.open_period,
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:manual_create",
        "get",
        inside=lambda s, u: s.assessment.open_period,
        outside=lambda s, u: s.foreign_assessment.open_period,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:manual_create",
        "post",
        inside=lambda s, u: s.assessment.open_period,
        outside=lambda s, u: s.foreign_assessment.open_period,
        data=_manual_data,
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:manual_edit",
        "get",
        inside=lambda s, u: s.assessment.manual_score,
        outside=lambda s, u: s.foreign_assessment.manual_score,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:manual_edit",
        "post",
        inside=lambda s, u: s.assessment.manual_score,
        outside=lambda s, u: s.foreign_assessment.manual_score,
        data=_manual_data,
        expect={"supervisor": DONE},
    ),
    # The world has one supervisor: reviewing their own entry is refused (a second reviewer is required).
    Rule(
        "assessment:manual_review",
        "post",
        inside=lambda s, u: s.assessment.manual_score,
        outside=lambda s, u: s.foreign_assessment.manual_score,
        data=lambda s, o: {"decision": "approve", "version": getattr(o, "version", "")},
        expect={"supervisor": REFUSED},
    ),
    Rule(
        "assessment:manual_evidence",
        "get",
        inside=lambda s, u: s.assessment.manual_score.evidence.get(),
        outside=lambda s, u: s.foreign_assessment.manual_score.evidence.get(),
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:objection_create",
        "get",
        inside=lambda s, u: s.assessment.publicised,
        outside=lambda s, u: s.foreign_assessment.publicised,
        expect={"lead_liaison": OK},
    ),
    Rule(
        "assessment:objection_create",
        "post",
        inside=lambda s, u: s.assessment.publicised,
        outside=lambda s, u: s.foreign_assessment.publicised,
        data=lambda s, o: {"organisation": s.world.lead_unit.pk, "text": "按时办结率有误"},
        expect={"lead_liaison": DONE},
    ),
    Rule(
        "assessment:objection_answer",
        "get",
        inside=lambda s, u: s.assessment.objection,
        outside=lambda s, u: s.foreign_assessment.objection,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:objection_answer",
        "post",
        inside=lambda s, u: s.assessment.objection,
        outside=lambda s, u: s.foreign_assessment.objection,
        data=lambda s, o: {
            "decision": "reject",
            "answer": "经核实无误",
            "version": getattr(o, "version", ""),
        },
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:adjustment_create",
        "get",
        inside=lambda s, u: s.assessment.open_period,
        outside=lambda s, u: s.foreign_assessment.open_period,
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:adjustment_create",
        "post",
        inside=lambda s, u: s.assessment.open_period,
        outside=lambda s, u: s.foreign_assessment.open_period,
        data=lambda s, o: {
            "organisation": s.world.lead_unit.pk,
            "indicator": _scheme_indicator(o, "indicator"),
            "points": "2",
            "reason": "数据更正",
        },
        expect={"supervisor": DONE},
    ),
    Rule(
        "assessment:breakdown",
        "get",
        inside=lambda s, u: s.assessment.unit_score,
        outside=lambda s, u: s.foreign_assessment.unit_score,
        expect=each(OK, ASSESSED),
    ),
    # Only the office sees runs that were never announced, so only it compares them.
    Rule(
        "assessment:run_changes",
        "get",
        inside=lambda s, u: s.assessment.two_runs.runs.first(),
        outside=lambda s, u: s.foreign_assessment.two_runs.runs.first(),
        expect={"supervisor": OK},
    ),
    Rule(
        "assessment:notice",
        "get",
        inside=lambda s, u: s.assessment.publicised.publicised_run,
        outside=lambda s, u: s.foreign_assessment.publicised.publicised_run,
        expect=each(OK, ASSESSED),
    ),
    Rule(
        "assessment:ranking_workbook",
        "get",
        inside=lambda s, u: s.assessment.publicised.publicised_run,
        outside=lambda s, u: s.foreign_assessment.publicised.publicised_run,
        expect=each(OK, ASSESSED),
    ),
    # health ----------------------------------------------------------------------------------------
    # For load balancers: everyone, signed in or not, gets the same status words as JSON (200 when healthy).
    Rule("healthz", "get", expect=each(OK, ROLES)),
]


ROUTES = url_routes()


def _cases():
    for rule in RULES:
        for case in rule.all_cases:
            for role in ROLES:
                if role == "anonymous" and case != rule.all_cases[0]:
                    continue  # the sign-in page does not depend on the object
                yield pytest.param(role, rule, case, id=f"{role}-{rule.name}-{rule.method}-{case}")


# Fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _module_scene(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world and its scene, built once and rolled back after the module's last test."""
    media = tmp_path_factory.mktemp("media")
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=str(media), PASSWORD_HASHERS=fast),
        transaction.atomic(),
    ):
        # The shared ``world`` fixture's own body, so the world here is exactly the one every suite knows.
        world = fixtures.world.__wrapped__(None)
        scene = build_scene(world)
        scene.assessment = build_assessment(scene, foreign=False)
        scene.foreign_assessment = build_assessment(scene, foreign=True)
        yield scene, media
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media_root(settings, _module_scene):
    """Evidence was stored once, for the module; every test reads it from there."""
    settings.MEDIA_ROOT = str(_module_scene[1])


@pytest.fixture
def scene(db, _module_scene) -> Scene:
    return _module_scene[0]


# The matrix ----------------------------------------------------------------------------------------


def _text(response) -> str:
    if response.streaming:
        # Consuming the stream closes the response inside the test client's guard; closing it again
        # here would fire request_finished, and Django would drop the connection mid-transaction.
        body = b"".join(response.streaming_content)
        return body.decode(errors="replace")
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode()


def _secrets(scene) -> list[str]:
    """Text of the world's item and of the foreign one, that a 404 must never carry."""
    return [
        scene.item.title,
        scene.lead_report.text,
        scene.foreign_item.title,
        scene.foreign_ledger.name,
        scene.foreign_lead_report.text,
    ]


def _foreign(scene) -> list[str]:
    return [scene.foreign_item.title, scene.foreign_ledger.name, scene.foreign_lead_report.text]


@pytest.mark.parametrize(("role", "rule", "case"), list(_cases()))
def test_access(client, scene, role, rule, case):
    user = scene.user(role)
    if user is not None:
        client.force_login(user)
    route = ROUTES[rule.name]
    obj = None
    if case == "inside":
        obj = rule.inside(scene, user)
    elif case == "outside":
        obj = rule.outside(scene, user)
    elif case == "missing":
        obj = SimpleNamespace(pk=MISSING_PK, title="不存在的事项")
    url = reverse(rule.name, kwargs={route.kwargs[0]: obj.pk} if route.kwargs else {})
    data = rule.data(scene, obj) if rule.data else {}
    expected = rule.outcome(role, case)
    where = f"{role} {rule.method.upper()} {url} ({case})"

    before = snapshot() if rule.method == "post" else None
    response = getattr(client, rule.method)(url, data)
    text = _text(response)

    assert response.status_code == expected.status, (
        f"{where}: got {response.status_code}, expected {expected}"
    )
    if expected.location is not None:
        assert location_matches(response, expected.location), f"{where}: redirected to {response['Location']}"
    if before is not None and expected.changes is not None:
        changed = snapshot_diff(before, snapshot())
        if expected.changes:
            assert changed, f"{where}: expected a write, nothing changed"
        else:
            assert not changed, f"{where}: must not write, but changed {changed}"
    errors = error_messages(response) if response.status_code == 302 else []
    if expected.refusal:
        assert errors and all(has_chinese(m) for m in errors), f"{where}: no refusal message ({errors})"
    if expected is DONE:
        assert not errors, f"{where}: refused: {errors}"
    if expected is NOT_FOUND:
        leaked = [secret for secret in _secrets(scene) if secret in text]
        assert not leaked, f"{where}: the 404 page shows {leaked}"
    if expected is OK and not rule.whole_tree:
        leaked = [secret for secret in _foreign(scene) if secret in text]
        assert not leaked, f"{where}: shows foreign data {leaked}"
        if rule.marker is not None and case != "outside":
            marker = rule.marker(scene)
            if role in rule.shows:
                assert marker in text, f"{where}: does not show 「{marker}」"
            if role not in rule.viewers:
                assert marker not in text, f"{where}: shows 「{marker}」, outside this role's scope"


# The matrix covers the URLconf ---------------------------------------------------------------------


def test_every_url_is_declared():
    declared = {rule.name for rule in RULES}
    routes = set(ROUTES) - NOT_SCOPED
    assert not routes - declared, f"URLs without an access rule: {sorted(routes - declared)}"
    assert not declared - routes, f"rules for URLs that no longer exist: {sorted(declared - routes)}"
    assert set(ROUTES) >= NOT_SCOPED, "the allow-list names a URL that no longer exists"


def test_every_rule_fits_its_url():
    for rule in RULES:
        route = ROUTES[rule.name]
        assert len(route.kwargs) <= 1, f"{rule.name}: more than one URL argument, extend the matrix"
        if route.kwargs:
            assert rule.inside and rule.outside, f"{rule.name}: needs an object inside and one outside"
        assert rule.method in ("get", "post"), rule.name


def test_every_url_has_a_negative_case():
    """Someone is turned away from every URL but the bare redirect at the root."""
    for rule in RULES:
        if rule.name in ("home", "healthz"):  # a bare redirect; the public health check
            continue
        outcomes = {rule.outcome(role, case) for case in rule.all_cases for role in ROLES}
        assert outcomes & {NOT_FOUND, LOGIN, REFUSED}, f"{rule.name} {rule.method}: nobody is refused"


# CSRF ----------------------------------------------------------------------------------------------


def test_csrf_is_enforced_on_actions(scene):
    client = Client(enforce_csrf_checks=True)
    client.force_login(scene.world.supervisor)
    url = reverse("ledgers:item_comment", args=[scene.item.pk])
    comments = ItemEvent.objects.filter(item=scene.item, kind="comment")
    count = comments.count()

    assert client.post(url, {"text": "没有令牌"}).status_code == 403
    assert comments.count() == count

    client.get(reverse("ledgers:item_detail", args=[scene.item.pk]))
    token = client.cookies["csrftoken"].value
    response = client.post(url, {"text": "带令牌", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert comments.count() == count + 1


def test_scene_is_what_the_rules_assume(scene):
    assert scene.item.status == ItemStatus.IN_PROGRESS
    assert scene.draft_report.status == "draft" and scene.lead_report.status == "submitted"
    assert scene.extension.status == "pending"


def test_unit_scope_reaches_down_not_up(client, scene):
    """A unit's people and the leader overseeing it see its sub-units' items; a sub-unit sees only its own."""
    w = scene.world
    sub_item = w.make_item(title="投资科储备项目", lead_org=w.sub_unit)
    url = reverse("ledgers:item_detail", args=[sub_item.pk])
    # A draft is the office's working copy until it is assigned.
    for role, status in [("supervisor", 200), ("lead_liaison", 404), ("sub_liaison", 404), ("leader", 404)]:
        client.force_login(scene.user(role))
        assert client.get(url).status_code == status, f"{role} (draft)"
    w.advance(sub_item, ItemStatus.ASSIGNED)
    for role, status in [
        ("lead_liaison", 200),
        ("handler", 200),
        ("sub_liaison", 200),
        ("leader", 200),
        ("supervisor", 200),
        ("co_liaison", 404),
        ("unrelated_liaison", 404),
        ("other_supervisor", 404),
    ]:
        client.force_login(scene.user(role))
        assert client.get(url).status_code == status, role
    client.force_login(w.sub_liaison)
    assert client.get(reverse("ledgers:item_detail", args=[scene.item.pk])).status_code == 404


def test_a_unit_cannot_write_another_units_report(scene):
    """The rule behind report_edit's 404: the service refuses it too, and writes nothing."""
    from django.core.exceptions import ValidationError

    from luoshi.ledgers import services
    from luoshi.ledgers.models import ProgressReport

    draft = ProgressReport.objects.get(pk=scene.draft_report.pk)
    with pytest.raises(ValidationError, match="不能修改"):
        services.save_report(
            item=scene.item,
            user=scene.world.lead_liaison,
            report=draft,
            text="牵头单位改写",
            percent_complete=90,
            submit=False,
        )
    draft.refresh_from_db()
    assert draft.text == scene.draft_report.text and draft.author_id == scene.world.co_liaison.pk
