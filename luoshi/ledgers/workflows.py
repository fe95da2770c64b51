"""The item, report and extension workflows, declared as data for ``luoshi.core.workflow``."""

from django.utils.translation import gettext_lazy as _

from luoshi.core.workflow import Transition, Workflow
from luoshi.ledgers.models import ExtensionStatus, ItemKind, ItemStatus, ReportStatus
from luoshi.ledgers.permissions import (
    is_lead_liaison,
    is_lead_unit_worker,
    is_supervisor_for,
    reporting_unit,
)

S = ItemStatus
RUNNING = (S.ASSIGNED, S.ACCEPTED, S.IN_PROGRESS, S.COMPLETION_REQUESTED)


def _resume_target(transition, item):
    return item.status_before_suspension or S.IN_PROGRESS


def _awaits_verification(item) -> bool:
    """An inspection's problem (``supervision.Finding.problem``, reached by its reverse accessor so that
    ledgers imports nothing above it) completes and closes only once the office has verified it (验收)."""
    if item.kind != ItemKind.PROBLEM:
        return False
    finding = getattr(item, "finding", None)
    return finding is not None and finding.verified_at is None


def _may_finish(user, item) -> bool:
    return is_supervisor_for(user, item) and not _awaits_verification(item)


ITEM_WORKFLOW = Workflow(
    state_field="status",
    resolve_target=_resume_target,
    transitions=[
        Transition("assign", _("交办"), (S.DRAFT,), S.ASSIGNED, is_supervisor_for),
        Transition("accept", _("签收"), (S.ASSIGNED,), S.ACCEPTED, is_lead_liaison),
        Transition(
            "refuse",
            _("退回交办"),
            (S.ASSIGNED,),
            S.DRAFT,
            is_lead_liaison,
            comment_required=True,
            style="danger",
        ),
        Transition("start", _("开始推进"), (S.ACCEPTED,), S.IN_PROGRESS, is_lead_unit_worker),
        Transition(
            "request_completion",
            _("申请办结"),
            (S.ACCEPTED, S.IN_PROGRESS),
            S.COMPLETION_REQUESTED,
            is_lead_liaison,
            comment_required=True,
        ),
        Transition("complete", _("同意办结"), (S.COMPLETION_REQUESTED,), S.COMPLETED, _may_finish),
        Transition(
            "return",
            _("退回"),
            (S.COMPLETION_REQUESTED,),
            S.IN_PROGRESS,
            is_supervisor_for,
            comment_required=True,
            style="danger",
        ),
        Transition("close", _("销号"), (S.COMPLETED,), S.CLOSED, _may_finish),
        Transition(
            "reopen",
            _("重新推进"),
            (S.COMPLETED,),
            S.IN_PROGRESS,
            is_supervisor_for,
            comment_required=True,
            style="secondary",
        ),
        Transition(
            "suspend",
            _("中止"),
            RUNNING,
            S.SUSPENDED,
            is_supervisor_for,
            comment_required=True,
            style="secondary",
        ),
        Transition("resume", _("恢复"), (S.SUSPENDED,), None, is_supervisor_for, style="secondary"),
    ],
)


def _is_report_author_unit(user, report):
    return reporting_unit(user, report.item) == report.organisation


def _is_report_reviewer(user, report):
    return is_supervisor_for(user, report.item)


R = ReportStatus
REPORT_WORKFLOW = Workflow(
    state_field="status",
    transitions=[
        Transition("submit", _("提交"), (R.DRAFT, R.RETURNED), R.SUBMITTED, _is_report_author_unit),
        Transition("accept", _("审核通过"), (R.SUBMITTED,), R.ACCEPTED, _is_report_reviewer),
        Transition(
            "return",
            _("退回修改"),
            (R.SUBMITTED,),
            R.RETURNED,
            _is_report_reviewer,
            comment_required=True,
            style="danger",
        ),
    ],
)

E = ExtensionStatus
EXTENSION_WORKFLOW = Workflow(
    state_field="status",
    transitions=[
        Transition(
            "approve", _("批准延期"), (E.PENDING,), E.APPROVED, lambda u, r: is_supervisor_for(u, r.item)
        ),
        Transition(
            "refuse",
            _("不予延期"),
            (E.PENDING,),
            E.REFUSED,
            lambda u, r: is_supervisor_for(u, r.item),
            comment_required=True,
            style="danger",
        ),
    ],
)
