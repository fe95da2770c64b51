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

from luoshi.exchange.services import start_outline, upload_import
from luoshi.ledgers.models import ItemEvent, ItemStatus
from luoshi.security.tests.factories import locked_out, signed_in
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
        data=lambda s, o: {"action": "urge", "pk": [o.pk], "comment": "请加快进度"},
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
        yield build_scene(world), media
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
