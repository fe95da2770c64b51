"""Every write to ledgers, items, milestones, reports and extensions, each in one transaction."""

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.core.bulk import id_ranges, insert_rows, update_rows
from luoshi.core.calendar import add_working_days, previous_working_day
from luoshi.core.exceptions import StaleObjectError
from luoshi.core.uploads import CheckedUpload, check_upload, storing
from luoshi.ledgers.models import (
    DONE_STATUSES,
    EventKind,
    Evidence,
    ExtensionRequest,
    ExtensionStatus,
    FieldTarget,
    FieldType,
    Item,
    ItemAttachment,
    ItemEvent,
    ItemStatus,
    Ledger,
    LedgerField,
    Milestone,
    ProgressReport,
    ReportStatus,
    SavedFilter,
    Tag,
)
from luoshi.ledgers.periods import period_containing
from luoshi.ledgers.permissions import (
    can_attach,
    can_edit_item,
    can_remove_attachment,
    is_lead_liaison,
    is_supervisor_for,
    reporting_unit,
    supervises_ledger,
)
from luoshi.ledgers.signals import report_submitted
from luoshi.ledgers.warnings import compute_warning
from luoshi.ledgers.workflows import EXTENSION_WORKFLOW, ITEM_WORKFLOW, REPORT_WORKFLOW
from luoshi.orgs.models import Organisation, User

REPORTABLE_STATUSES = (ItemStatus.ACCEPTED, ItemStatus.IN_PROGRESS, ItemStatus.COMPLETION_REQUESTED)
# What an edit writes besides the editable fields: values it recomputes from them.
ITEM_EDIT_DERIVED_FIELDS = (
    "extra",
    "original_deadline",
    "assessed_deadline",
    "warning_color",
    "schedule_category",
    "warning_reason_code",
    "warning_reason_args",
    "warning_as_of",
)
ITEM_EDITABLE_FIELDS = (
    "parent",
    "kind",
    "code",
    "title",
    "description",
    "source",
    "lead_leader",
    "lead_org",
    "other_units",
    "owner",
    "start_date",
    "deadline",
    "is_standing",
    "report_cycle",
    "weight",
    "sort_order",
)


def today() -> dt.date:
    return timezone.localdate()


def _now(now: dt.datetime | None) -> dt.datetime:
    """The injected clock if a caller gave one (tests, replays), else the real time."""
    return now if now is not None else timezone.now()


# Ledgers --------------------------------------------------------------------------------------


@transaction.atomic
def save_ledger(*, ledger: Ledger, version: int | None = None) -> Ledger:
    """Create or edit a ledger (already validated by its form); an edit must name the version it saw."""
    if ledger.red_tolerance <= ledger.yellow_tolerance:
        raise ValidationError({"red_tolerance": _("红色预警阈值须大于黄色预警阈值。")})
    if ledger.pk and version is not None:
        ledger.version = version
    ledger.full_clean()
    ledger.save()
    return ledger


@transaction.atomic
def save_filter(*, user, name: str, query: str) -> SavedFilter:
    saved, _created = SavedFilter.objects.update_or_create(
        user=user, name=name.strip(), defaults={"query": query}
    )
    return saved


def delete_filter(*, saved_filter: SavedFilter) -> None:
    saved_filter.delete()


# Custom fields ---------------------------------------------------------------------------------


def clean_extra(ledger: Ledger, target: str, data: dict) -> dict:
    """Validate values for the ledger's custom fields; returns them as stored (JSON-friendly)."""
    errors, cleaned = {}, {}
    fields = [field for field in ledger.fields.all() if field.target == target]
    for field in fields:
        raw = data.get(field.key)
        if raw in (None, "", []):
            if field.required:
                errors[field.key] = _("请填写「%(label)s」。") % {"label": field.label}
            continue
        try:
            cleaned[field.key] = _clean_value(field, raw)
        except ValidationError as error:
            errors[field.key] = error.messages[0]
    unknown = set(data) - {field.key for field in fields}
    for key in unknown:
        errors[key] = _("台账没有名为「%(key)s」的字段。") % {"key": key}
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_value(field, raw):
    label = field.label
    if field.field_type == FieldType.TEXT:
        return str(raw).strip()
    if field.field_type == FieldType.NUMBER:
        try:
            number = Decimal(str(raw).replace(",", "").strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():  # Decimal also parses "NaN" and "Infinity"
            raise ValidationError(
                _("「%(label)s」须为数字，收到「%(raw)s」。") % {"label": label, "raw": raw}
            )
        return str(number)
    if field.field_type == FieldType.DATE:
        try:
            return (raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw).strip())).isoformat()
        except ValueError as error:
            raise ValidationError(
                _("「%(label)s」须为日期（如 2026-03-31），收到「%(raw)s」。") % {"label": label, "raw": raw}
            ) from error
    if field.field_type == FieldType.CHOICE:
        if str(raw) not in field.choices:
            raise ValidationError(
                _("「%(label)s」只能是：%(choices)s。")
                % {"label": label, "choices": "、".join(field.choices)}
            )
        return str(raw)
    if field.field_type == FieldType.PERSON:
        if not User.objects.filter(pk=_int(raw, label), is_active=True).exists():
            raise ValidationError(_("「%(label)s」所选人员不存在。") % {"label": label})
        return int(raw)
    if field.field_type == FieldType.UNIT:
        if not Organisation.objects.filter(pk=_int(raw, label), is_active=True).exists():
            raise ValidationError(_("「%(label)s」所选单位不存在。") % {"label": label})
        return int(raw)
    raise ValidationError(_("「%(label)s」的类型无法识别。") % {"label": label})


def _int(raw, label):
    try:
        return int(raw)
    except (TypeError, ValueError) as error:
        raise ValidationError(_("「%(label)s」的值无效。") % {"label": label}) from error


# Items -----------------------------------------------------------------------------------------


def _date_errors(item: Item) -> dict:
    """The rules an item's dates obey, without a query (bulk writes check them row by row)."""
    errors = {}
    if item.is_standing:
        item.deadline = None
    elif item.deadline is None:
        errors["deadline"] = _("请填写完成时限，或勾选「长期坚持」。")
    if item.deadline and item.start_date and item.deadline < item.start_date:
        errors["deadline"] = _("完成时限（%(deadline)s）不能早于开始日期（%(start)s）。") % {
            "deadline": item.deadline,
            "start": item.start_date,
        }
    return errors


def _validate_item(item: Item) -> None:
    errors = _date_errors(item)
    if item.lead_org_id and not Organisation.objects.filter(pk=item.lead_org_id, is_active=True).exists():
        errors["lead_org"] = _("牵头单位不存在或已停用。")
    if item.parent_id:
        if item.parent.ledger_id != item.ledger_id:
            errors["parent"] = _("上级事项必须在同一台账中。")
        elif item.pk and _is_descendant(item.parent, item):
            errors["parent"] = _("不能把事项挂到它自己或它的下级事项之下。")
    if errors:
        raise ValidationError(errors)
    item.full_clean(exclude=["ledger", "parent", "lead_org", "lead_leader", "owner"])


def _is_descendant(candidate: Item, ancestor: Item) -> bool:
    node = candidate
    while node is not None:
        if node.pk == ancestor.pk:
            return True
        node = node.parent
    return False


def _record(
    item, kind, actor, *, comment="", action="", from_status="", to_status="", report=None, at=None, **data
):
    """One timeline entry; ``at`` (an injected clock) dates it instead of the moment of writing."""
    event = ItemEvent.objects.create(
        item=item,
        kind=kind,
        actor=actor,
        comment=comment,
        action=action,
        from_status=from_status,
        to_status=to_status,
        report=report,
        data=data,
    )
    if at is not None:
        _backdate(event, at)
    return event


def _backdate(obj, at: dt.datetime) -> None:
    """Set an ``auto_now_add`` created_at (which ignores any value given at insert) to ``at``."""
    type(obj).objects.filter(pk=obj.pk).update(created_at=at)
    obj.created_at = at


def _has_children() -> Exists:
    return Exists(Item.objects.filter(parent_id=OuterRef("pk")))


def _lock_item(pk: int) -> Item:
    """The item, its row locked to the end of the transaction, with ledger, lead unit and ``has_children``."""
    return (
        Item.objects.select_for_update(of=("self",))
        .select_related("ledger", "lead_org")
        .annotate(has_children=_has_children())
        .get(pk=pk)
    )


def _copy_state(source: Item, target: Item) -> None:
    """Give the caller's ``target`` instance the stored state of ``source`` (the same row), without a query."""
    if target is source:
        return
    for field in Item._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    if hasattr(source, "_loaded_values"):
        target._loaded_values = dict(source._loaded_values)


@transaction.atomic
def create_item(
    *, ledger: Ledger, user, co_orgs: Iterable = (), tags: Iterable = (), extra: dict | None = None, **fields
) -> Item:
    if not supervises_ledger(user, ledger):
        raise ValidationError(_("只有本台账的督办员可以新建事项。"))
    values = {name: fields[name] for name in ITEM_EDITABLE_FIELDS if name in fields}
    values.setdefault("report_cycle", ledger.default_report_cycle)
    values.setdefault("kind", ledger.item_kind)
    item = Item(ledger=ledger, **values)
    _validate_item(item)
    item.extra = clean_extra(ledger, FieldTarget.ITEM, extra or {})
    item.original_deadline = item.assessed_deadline = item.deadline
    _store_warning(item, today(), has_children=False)
    item.save()
    item.co_orgs.set(co_orgs)
    item.tags.set(tags)
    _record(item, EventKind.CREATED, user)
    return item


@transaction.atomic
def update_item(
    *,
    item: Item,
    user,
    version: int,
    co_orgs: Iterable | None = None,
    tags: Iterable | None = None,
    extra: dict | None = None,
    **fields,
) -> Item:
    """Edit an item loaded at ``version``; a newer stored version means someone else saved first."""
    if not can_edit_item(user, item):
        raise ValidationError(_("只有本台账的督办员可以修改事项。"))
    item.version = version
    before = {name: getattr(item, name) for name in ITEM_EDITABLE_FIELDS}
    for name in ITEM_EDITABLE_FIELDS:
        if name in fields:
            setattr(item, name, fields[name])
    _validate_item(item)
    if extra is not None:
        item.extra = clean_extra(item.ledger, FieldTarget.ITEM, extra)
    if item.original_deadline is None:
        item.original_deadline = item.assessed_deadline = item.deadline
    old_parent = before["parent"]
    # Progress is derived and written without a version bump (reports, roll-ups): take the stored
    # values under the row lock and write back only what this edit owns, so none is lost.
    derived = (
        Item.objects.select_for_update(of=("self",))
        .values("percent_complete", "last_report_period_end")
        .get(pk=item.pk)
    )
    item.percent_complete = derived["percent_complete"]
    item.last_report_period_end = derived["last_report_period_end"]
    _store_warning(item, today(), has_children=Item.objects.filter(parent_id=item.pk).exists())
    item.save(update_fields=[*ITEM_EDITABLE_FIELDS, *ITEM_EDIT_DERIVED_FIELDS])
    if co_orgs is not None:
        item.co_orgs.set(co_orgs)
    if tags is not None:
        item.tags.set(tags)
    changed = {
        name: [str(before[name]) if before[name] is not None else "", str(getattr(item, name) or "")]
        for name in ITEM_EDITABLE_FIELDS
        if before[name] != getattr(item, name)
    }
    if changed:
        _record(item, EventKind.EDITED, user, changes=changed)
    if old_parent != item.parent:
        if old_parent is not None:
            roll_up_progress(old_parent)
        if item.parent is not None:
            roll_up_progress(item.parent)
    return item


@transaction.atomic
def transition_item(
    *,
    item: Item,
    action: str,
    user,
    comment: str = "",
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Item:
    """Move ``item`` along ``action``; the caller's instance is brought up to date too."""
    at = _now(now)
    on = timezone.localdate(at)
    locked = _lock_item(item.pk)
    if version is not None and locked.version != version:
        raise StaleObjectError(locked)
    old_percent = locked.percent_complete
    old, new, _transition = ITEM_WORKFLOW.apply(locked, action, user, comment)
    if action == "suspend":
        locked.status_before_suspension = old
    if new == ItemStatus.COMPLETED:
        locked.completed_on = on
        locked.percent_complete = 100
    if action in ("reopen", "return") and old == ItemStatus.COMPLETED:
        locked.completed_on = None
    _store_warning(locked, on, has_children=locked.has_children)
    locked.save()
    _record(
        locked,
        EventKind.TRANSITION,
        user,
        comment=comment,
        action=action,
        from_status=old,
        to_status=new,
        at=now,
    )
    # The parent's roll-up reads only the children's percent and whether they are suspended.
    suspension_changed = (old == ItemStatus.SUSPENDED) != (new == ItemStatus.SUSPENDED)
    if locked.parent_id and (suspension_changed or locked.percent_complete != old_percent):
        roll_up_progress(locked.parent_id, on=on)
    _copy_state(locked, item)
    return locked


def available_actions(item: Item, user):
    return ITEM_WORKFLOW.available(item, user)


@transaction.atomic
def add_comment(*, item: Item, user, text: str) -> ItemEvent:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("评论内容不能为空。")})
    return _record(item, EventKind.COMMENT, user, comment=text)


@transaction.atomic
def bulk_transition(*, items: Iterable[Item], action: str, user, comment: str = "") -> int:
    """All or nothing: one refused item rolls the whole batch back with its name in the message."""
    count = 0
    for item in items:
        try:
            transition_item(item=item, action=action, user=user, comment=comment)
        except ValidationError as error:
            raise ValidationError(f"「{item}」：{error.messages[0]}") from error
        count += 1
    return count


@transaction.atomic
def bulk_change_deadline(*, items: Iterable[Item], user, deadline: dt.date, comment: str) -> int:
    count = 0
    for item in items:
        try:
            update_item(item=item, user=user, version=item.version, deadline=deadline)
        except ValidationError as error:
            raise ValidationError(f"「{item}」：{error.messages[0]}") from error
        if comment:
            _record(item, EventKind.COMMENT, user, comment=comment)
        count += 1
    return count


# Milestones ------------------------------------------------------------------------------------


def backward_schedule(
    deadline: dt.date, phases: list[tuple[str, int]]
) -> list[tuple[str, int, dt.date, dt.date]]:
    """倒排工期: lay phases end to end so the last ends on the deadline, counting working days only.

    Returns (name, duration, start, due) per phase, in the given order.
    """
    schedule = []
    due = previous_working_day(deadline)
    for name, duration in reversed(phases):
        if duration < 1:
            raise ValidationError(_("节点「%(name)s」的工期至少为 1 个工作日。") % {"name": name})
        start = add_working_days(due, -(duration - 1))
        schedule.append((name, duration, start, due))
        due = add_working_days(start, -1)
    schedule.reverse()
    return schedule


@transaction.atomic
def schedule_milestones(*, item: Item, user, phases: list[tuple[str, int]]) -> list[Milestone]:
    if not can_edit_item(user, item):
        raise ValidationError(_("只有本台账的督办员可以安排节点。"))
    if item.deadline is None:
        raise ValidationError(_("长期坚持的事项没有完成时限，不能倒排工期。"))
    if not phases:
        raise ValidationError(_("请至少填写一个节点。"))
    schedule = backward_schedule(item.deadline, phases)
    if schedule[0][2] < item.start_date:
        raise ValidationError(
            _("各节点工期合计超出了开始日期到完成时限之间的工作日，第一个节点须在 %(date)s 开始。")
            % {"date": schedule[0][2]}
        )
    item.milestones.all().delete()
    # One save each (a plan has a handful of phases), so the audit trail records the new milestones
    # as it records the replaced ones; bulk_create would bypass it.
    milestones = [
        Milestone.objects.create(
            item=item, name=name, duration_days=days, start_date=start, due_date=due, sort_order=index
        )
        for index, (name, days, start, due) in enumerate(schedule)
    ]
    _record(item, EventKind.EDITED, user, comment=_("倒排工期，安排 %(n)d 个节点") % {"n": len(milestones)})
    return milestones


def _lock_milestone(milestone: Milestone) -> Milestone:
    """The stored milestone, locked; one replanned away meanwhile counts as changed by someone else."""
    locked = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("item__ledger", "item__lead_org")
        .filter(pk=milestone.pk)
        .first()
    )
    if locked is None:
        raise StaleObjectError(milestone)
    return locked


@transaction.atomic
def update_milestone(*, milestone: Milestone, user, version: int | None = None, **fields) -> Milestone:
    """Edit a milestone loaded at ``version`` (by default that of ``milestone``); returns the saved copy."""
    expected_version = milestone.version if version is None else version
    milestone = _lock_milestone(milestone)
    if not can_edit_item(user, milestone.item):
        raise ValidationError(_("只有本台账的督办员可以修改节点。"))
    if milestone.version != expected_version:
        raise StaleObjectError(milestone)
    for name in ("name", "start_date", "due_date", "done_on"):
        if name in fields:
            setattr(milestone, name, fields[name])
    if milestone.due_date < milestone.start_date:
        raise ValidationError({"due_date": _("节点完成日期不能早于开始日期。")})
    milestone.save()
    return milestone


# Progress reports ------------------------------------------------------------------------------


@transaction.atomic
def save_report(
    *,
    item: Item,
    user,
    text: str,
    percent_complete: int,
    period_day: dt.date | None = None,
    measures: dict | None = None,
    problems: str = "",
    next_steps: str = "",
    files: Iterable = (),
    submit: bool = True,
    report: ProgressReport | None = None,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> ProgressReport:
    """Write (and by default submit) the report of ``user``'s unit for the period containing ``period_day``.

    A returned report is revised in place, keeping its review history on the timeline. ``now`` is
    the clock: the default period, the submission time and lateness are read from it.
    """
    at = _now(now)
    item = _lock_item(item.pk)
    unit = reporting_unit(user, item)
    if unit is None:
        raise ValidationError(_("您所在单位不承担此事项，不能报送进展。"))
    if item.status not in REPORTABLE_STATUSES:
        raise ValidationError(
            _("事项当前状态为「%(status)s」，不能报送进展。") % {"status": item.get_status_display()}
        )
    if not (text or "").strip():
        raise ValidationError({"text": _("请填写工作进展。")})
    if percent_complete is None or not 0 <= int(percent_complete) <= 100:
        raise ValidationError({"percent_complete": _("完成进度须在 0 到 100 之间。")})
    # Every file is checked before any is stored: a bad second file must not leave the first on disk.
    checked_files = [(upload, _check_file(upload)) for upload in files]
    period = period_containing(period_day or timezone.localdate(at), item.report_cycle)
    if report is None:
        report = ProgressReport.objects.filter(
            item=item, organisation=unit, period_start=period.start
        ).first()
        if report is not None and report.status in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED):
            raise ValidationError(
                _("本周期（%(start)s 至 %(end)s）的进展已报送，如需修改请等待审核退回。")
                % {"start": period.start, "end": period.end}
            )
    elif version is not None:
        report.version = version
    if report is not None and report.status not in (ReportStatus.DRAFT, ReportStatus.RETURNED):
        raise ValidationError(_("已报送的进展不能再修改。"))
    if report is not None and report.organisation_id != unit.pk:
        raise ValidationError(_("这份进展由%(unit)s报送，您不能修改。") % {"unit": report.organisation})
    report = report or ProgressReport(organisation=unit, period_start=period.start)
    report.item = item  # the locked row, which the workflow's permission check reads
    report.period_end = period_containing(report.period_start, item.report_cycle).end
    report.author = user
    report.text = text.strip()
    report.percent_complete = int(percent_complete)
    report.measures = clean_extra(item.ledger, FieldTarget.REPORT, measures or {})
    report.problems = problems.strip()
    report.next_steps = next_steps.strip()
    if submit:
        _mark_submitted(report, item, user, at)
    report.save()  # one write, already in its submitted state
    for upload, checked in checked_files:
        attach_evidence(report=report, user=user, upload=upload, checked=checked)
    if submit:
        _count_submission(report, item, user, at, clock=now)
    return report


def _check_file(upload) -> CheckedUpload:
    """An evidence file or attachment, checked by content against the one size limit for both."""
    return check_upload(upload, max_bytes=settings.EVIDENCE_MAX_BYTES)


@transaction.atomic
def attach_evidence(
    *, report: ProgressReport, user, upload, checked: CheckedUpload | None = None
) -> Evidence:
    checked = checked or _check_file(upload)
    evidence = Evidence(
        report=report,
        original_name=upload.name[:200],
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        sm3=checked.sm3,
        uploaded_by=user,
    )
    with storing(evidence, upload):
        evidence.save()
    return evidence


@transaction.atomic
def submit_report(*, report: ProgressReport, user, now: dt.datetime | None = None) -> ProgressReport:
    """Submit a report saved as a draft (``save_report`` submits in the same step by default)."""
    at = _now(now)
    item = _lock_item(report.item_id)
    report.item = item
    _mark_submitted(report, item, user, at)
    report.save()
    _count_submission(report, item, user, at, clock=now)
    return report


def _mark_submitted(report: ProgressReport, item: Item, user, at: dt.datetime) -> None:
    REPORT_WORKFLOW.apply(report, "submit", user)
    report.submitted_at = at
    period = period_containing(report.period_start, item.report_cycle)
    report.is_late = timezone.localdate(at) > period.late_after(item.ledger.report_grace_days)


def _count_submission(report: ProgressReport, item: Item, user, at: dt.datetime, *, clock) -> None:
    """A lead-unit report starts the item and, if it is for the latest period, sets its progress.

    A report for an earlier period (a late one, caught up) does not overwrite a later period's
    progress; an item with children takes its progress from them, never from its own reports.
    A co-unit's report changes nothing on the item.
    """
    on = timezone.localdate(at)
    if report.organisation_id == item.lead_org_id:
        old_percent = item.percent_complete
        if item.status == ItemStatus.ACCEPTED:
            item.status = ItemStatus.IN_PROGRESS
            _record(
                item,
                EventKind.TRANSITION,
                user,
                action="start",
                from_status=ItemStatus.ACCEPTED,
                to_status=item.status,
                at=clock,
            )
        if item.last_report_period_end is None or report.period_end >= item.last_report_period_end:
            item.last_report_period_end = report.period_end
            if not item.has_children:
                item.percent_complete = report.percent_complete
        _store_warning(item, on, has_children=item.has_children)
        item.save()
        if item.parent_id and item.percent_complete != old_percent:
            roll_up_progress(item.parent_id, on=on)
    _record(item, EventKind.REPORT_SUBMITTED, user, report=report, percent=report.percent_complete, at=clock)
    report_submitted.send(sender=ProgressReport, report=report, user=user, at=at)


@transaction.atomic
def review_report(
    *, report: ProgressReport, user, accept: bool, comment: str = "", now: dt.datetime | None = None
) -> ProgressReport:
    at = _now(now)
    action = "accept" if accept else "return"
    REPORT_WORKFLOW.apply(report, action, user, comment)
    report.reviewer = user
    report.reviewed_at = at
    report.review_comment = comment.strip()
    report.save()
    kind = EventKind.REPORT_ACCEPTED if accept else EventKind.REPORT_RETURNED
    _record(report.item, kind, user, comment=comment, report=report, at=now)
    if not accept and report.organisation_id == report.item.lead_org_id:
        _recount_lead_reports(report.item_id, timezone.localdate(at))
    return report


COUNTED_REPORT_STATUSES = (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)


def _recount_lead_reports(item_pk: int, on: dt.date) -> None:
    """A returned report no longer counts: the item's latest period and progress come from the others.

    Both come from the lead unit's submitted or accepted report for the latest period (none left:
    no period, progress 0). An item with children keeps the progress rolled up from them, and a
    completed one keeps its 100.
    """
    item = _lock_item(item_pk)
    latest = (
        item.reports.filter(organisation_id=item.lead_org_id, status__in=COUNTED_REPORT_STATUSES)
        .order_by("-period_end", "-submitted_at", "-id")
        .values("period_end", "percent_complete")
        .first()
    )
    old_percent = item.percent_complete
    item.last_report_period_end = latest["period_end"] if latest else None
    if not item.has_children and item.status not in DONE_STATUSES:
        item.percent_complete = latest["percent_complete"] if latest else 0
    _store_warning(item, on, has_children=item.has_children)
    item.save()
    if item.parent_id and item.percent_complete != old_percent:
        roll_up_progress(item.parent_id, on=on)


# Extensions ------------------------------------------------------------------------------------


@transaction.atomic
def request_extension(
    *, item: Item, user, new_deadline: dt.date, reason: str, now: dt.datetime | None = None
) -> ExtensionRequest:
    if not is_lead_liaison(user, item):
        raise ValidationError(_("只有牵头单位联络员可以申请延期。"))
    if item.status not in (ItemStatus.ASSIGNED, ItemStatus.ACCEPTED, ItemStatus.IN_PROGRESS):
        raise ValidationError(
            _("事项当前状态为「%(status)s」，不能申请延期。") % {"status": item.get_status_display()}
        )
    if item.deadline is None:
        raise ValidationError(_("长期坚持的事项没有完成时限，无需延期。"))
    if new_deadline is None or new_deadline <= item.deadline:
        raise ValidationError(
            {"new_deadline": _("延期后的时限须晚于现完成时限（%(d)s）。") % {"d": item.deadline}}
        )
    if not (reason or "").strip():
        raise ValidationError({"reason": _("请填写延期理由。")})
    if item.extension_requests.filter(status=ExtensionStatus.PENDING).exists():
        raise ValidationError(_("此事项已有一份待审批的延期申请。"))
    request = ExtensionRequest.objects.create(
        item=item,
        requested_by=user,
        old_deadline=item.deadline,
        new_deadline=new_deadline,
        reason=reason.strip(),
    )
    if now is not None:
        _backdate(request, now)  # created_at is when it was requested
    _record(
        item,
        EventKind.EXTENSION_REQUESTED,
        user,
        comment=reason,
        at=now,
        new_deadline=new_deadline.isoformat(),
    )
    return request


@transaction.atomic
def decide_extension(
    *,
    request: ExtensionRequest,
    user,
    approve: bool,
    comment: str = "",
    excused: bool = False,
    now: dt.datetime | None = None,
) -> ExtensionRequest:
    at = _now(now)
    request = (
        ExtensionRequest.objects.select_for_update(of=("self",))
        .select_related("item__ledger")
        .get(pk=request.pk)
    )
    EXTENSION_WORKFLOW.apply(request, "approve" if approve else "refuse", user, comment)
    request.decided_by = user
    request.decided_at = at
    request.decision_comment = comment.strip()
    request.excused = approve and excused
    request.save()
    item = _lock_item(request.item_id)
    if approve:
        item.deadline = request.new_deadline
        if request.excused:
            item.assessed_deadline = request.new_deadline
        _store_warning(item, timezone.localdate(at), has_children=item.has_children)
        item.save()
        _record(
            item,
            EventKind.EXTENSION_APPROVED,
            user,
            comment=comment,
            at=now,
            old_deadline=request.old_deadline.isoformat(),
            new_deadline=request.new_deadline.isoformat(),
            excused=request.excused,
        )
    else:
        _record(item, EventKind.EXTENSION_REFUSED, user, comment=comment, at=now)
    return request


# Progress roll-up and warnings -----------------------------------------------------------------

WARNING_FIELDS = (
    "warning_color",
    "schedule_category",
    "warning_reason_code",
    "warning_reason_args",
    "warning_as_of",
)


def roll_up_progress(parent: Item | int | None, *, on: dt.date | None = None) -> None:
    """A parent's percent is the weighted mean of its children's (suspended ones left out).

    Walks up while the percent changes (an unchanged node cannot move its ancestors). Per level:
    the node's row is locked and read, its children aggregated, and the node updated once if its
    percent or warning moved. The lock comes before the aggregate so that two reports on sibling
    items, committed concurrently, cannot each roll up without the other's progress.
    """
    on = on or today()
    pk = parent.pk if isinstance(parent, Item) else parent
    counted = ~Q(status=ItemStatus.SUSPENDED)
    with transaction.atomic(savepoint=False):  # the locks need a transaction; inside one, no savepoint
        _roll_up(pk, on, counted)


def _roll_up(pk: int | None, on: dt.date, counted: Q) -> None:
    while pk is not None:
        node = Item.objects.select_for_update(of=("self",)).select_related("ledger").get(pk=pk)
        totals = Item.objects.filter(parent_id=pk).aggregate(
            # Aliases must not shadow the ``weight`` field, or Django refuses the aggregate.
            children=Count("pk"),
            total_weight=Sum("weight", filter=counted),
            weighted=Sum(F("weight") * F("percent_complete"), filter=counted),
        )
        percent = node.percent_complete
        if totals["total_weight"]:
            percent = round(Decimal(totals["weighted"]) / Decimal(totals["total_weight"]))
        before = _warning_values(node)
        changed = percent != node.percent_complete
        node.percent_complete = percent
        _store_warning(node, on, has_children=totals["children"] > 0)
        if changed or _warning_values(node) != before:
            Item.objects.filter(pk=pk).update(percent_complete=percent, **_warning_values(node))
        if not changed:
            break
        pk = node.parent_id


def _warning_values(item: Item) -> dict:
    return {name: getattr(item, name) for name in WARNING_FIELDS}


def _store_warning(item: Item, on: dt.date, *, has_children: bool) -> None:
    warning = compute_warning(item, on, has_children=has_children)
    item.warning_color = warning.color
    item.schedule_category = warning.category
    item.warning_reason_code = warning.code
    item.warning_reason_args = warning.args
    item.warning_as_of = on


def refresh_warning(item: Item, on: dt.date | None = None, *, has_children: bool | None = None) -> None:
    """Recompute one item's warning and store it without touching its version (it is derived data).

    ``has_children`` is looked up (one query) unless the caller knows it.
    """
    if has_children is None:
        has_children = Item.objects.filter(parent_id=item.pk).exists()
    _store_warning(item, on or today(), has_children=has_children)
    Item.objects.filter(pk=item.pk).update(**_warning_values(item))


def refresh_stale_warnings(on: dt.date | None = None, batch_size: int = 2000) -> int:
    """Bring every warning computed before ``on`` up to date; the daily job and first read of a day call it."""
    on = on or today()
    stale = Item.objects.filter(Q(warning_as_of__lt=on) | Q(warning_as_of__isnull=True)).exclude(
        status__in=DONE_STATUSES, warning_as_of__isnull=False
    )
    updated = 0
    while True:
        batch = list(
            stale.select_related("ledger").annotate(has_children=_has_children()).order_by("pk")[:batch_size]
        )
        if not batch:
            break
        for item in batch:
            _store_warning(item, on, has_children=item.has_children)
        with transaction.atomic():
            update_rows(Item, WARNING_FIELDS, ([*_warning_values(item).values(), item.pk] for item in batch))
        updated += len(batch)
    Item.objects.filter(status__in=DONE_STATUSES, warning_as_of__lt=on).update(warning_as_of=on)
    return updated


# Ledger configuration --------------------------------------------------------------------------
# Custom fields, tags and milestone completion. (Kept apart from the sections above, which are
# edited separately; models this section alone needs are imported where used.)

TAG_MAX_LENGTH = 30
FIELD_CHOICE_MAX_LENGTH = 100
LEDGER_FIELD_EDITABLE = ("label", "field_type", "required", "choices", "unit_label", "sort_order")


def ledger_field_usage(field) -> int:
    """How many items (or reports, for a report measure) of the field's ledger store a value for it."""
    if field.target == FieldTarget.REPORT:
        return ProgressReport.objects.filter(
            item__ledger_id=field.ledger_id, measures__has_key=field.key
        ).count()
    return Item.objects.filter(ledger_id=field.ledger_id, extra__has_key=field.key).count()


def _clean_choices(raw) -> list[str]:
    if isinstance(raw, str):
        raw = raw.splitlines()
    choices = []
    for value in raw or ():
        value = str(value).strip()
        if value and value not in choices:
            choices.append(value)
    return choices


@transaction.atomic
def save_ledger_field(
    *, user, ledger: Ledger | None = None, field=None, version: int | None = None, **values
):
    """Add a custom field to ``ledger`` or edit ``field``, loaded at ``version`` (by default its own).

    The key and the target are fixed once created: stored values are found by them. The type of
    a field that already holds values cannot change either, or those values would stop validating.
    """

    expected_version = None
    if field is None:
        field = LedgerField(
            ledger=ledger,
            target=values.get("target") or FieldTarget.ITEM,
            key=str(values.get("key") or "").strip(),
        )
        stored_type = None
    else:
        expected_version = field.version if version is None else version
        stored = LedgerField.objects.select_for_update().select_related("ledger").filter(pk=field.pk).first()
        if stored is None:
            raise ValidationError(
                _("字段「%(label)s」已被其他人删除，未保存。") % {"label": field.label}, code="deleted"
            )
        field = stored
        stored_type = field.field_type
        for name, message in (
            ("key", _("字段的键创建后不能修改。")),
            ("target", _("字段的用途创建后不能修改。")),
        ):
            if name in values and values[name] != getattr(field, name):
                raise ValidationError({name: message})
    if not supervises_ledger(user, field.ledger):
        raise ValidationError(_("只有本台账的督办员可以配置台账字段。"))
    if expected_version is not None and field.version != expected_version:
        raise StaleObjectError(field)

    for name in LEDGER_FIELD_EDITABLE:
        if name in values:
            setattr(field, name, values[name])
    field.label = (field.label or "").strip()
    field.unit_label = (field.unit_label or "").strip()
    field.choices = _clean_choices(field.choices) if field.field_type == FieldType.CHOICE else []

    errors = {}
    if field._state.adding:
        try:
            validate_slug(field.key)
        except ValidationError:
            errors["key"] = _("键只能由英文字母、数字、下划线或连字符组成，如 invest_total。")
        else:
            if LedgerField.objects.filter(ledger=field.ledger, target=field.target, key=field.key).exists():
                errors["key"] = _("本台账的「%(target)s」中已有键为「%(key)s」的字段。") % {
                    "target": field.get_target_display(),
                    "key": field.key,
                }
    if not field.label:
        errors["label"] = _("请填写字段名称。")
    if field.field_type == FieldType.CHOICE:
        if not field.choices:
            errors["choices"] = _("「选项」类型的字段请至少填写一个可选值，每行一个。")
        elif too_long := [c for c in field.choices if len(c) > FIELD_CHOICE_MAX_LENGTH]:
            errors["choices"] = _("可选值「%(value)s」过长，每个不超过 %(n)d 个字。") % {
                "value": too_long[0][:20] + "…",
                "n": FIELD_CHOICE_MAX_LENGTH,
            }
    if stored_type is not None and stored_type != field.field_type and ledger_field_usage(field):
        errors["field_type"] = _("已有记录填写了「%(label)s」，不能再修改它的类型。") % {"label": field.label}
    if errors:
        raise ValidationError(errors)
    field.full_clean(exclude=["ledger"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            field.save()
    except IntegrityError as error:  # the same key added at the same moment by someone else
        raise ValidationError({"key": _("本台账已有键为「%(key)s」的字段。") % {"key": field.key}}) from error
    return field


@transaction.atomic
def delete_ledger_field(*, field, user) -> None:
    """Remove a custom field that nothing stores a value for yet."""
    if not supervises_ledger(user, field.ledger):
        raise ValidationError(_("只有本台账的督办员可以配置台账字段。"))
    used = ledger_field_usage(field)
    if used:
        what = _("条进展报送") if field.target == FieldTarget.REPORT else _("个事项")
        raise ValidationError(
            _("已有 %(n)d %(what)s填写了「%(label)s」，不能删除。如不再使用，可改为非必填。")
            % {"n": used, "what": what, "label": field.label}
        )
    field.delete()


def get_or_create_tag(name: str):
    """The tag named ``name`` (trimmed, compared without case), created if there is none yet."""

    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("标签名称不能为空。")})
    if len(name) > TAG_MAX_LENGTH:
        raise ValidationError(
            {
                "name": _("标签名称不能超过 %(max)d 个字，「%(name)s…」有 %(n)d 个字。")
                % {"max": TAG_MAX_LENGTH, "name": name[:10], "n": len(name)}
            }
        )
    existing = Tag.objects.filter(name__iexact=name).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        tag, _created = Tag.objects.get_or_create(name=name)
    return tag


MILESTONE_COMPLETABLE_STATUSES = (
    ItemStatus.ASSIGNED,
    ItemStatus.ACCEPTED,
    ItemStatus.IN_PROGRESS,
    ItemStatus.COMPLETION_REQUESTED,
)


@transaction.atomic
def complete_milestone(
    *, milestone: Milestone, user, done_on: dt.date, version: int | None = None
) -> Milestone:
    """The lead unit's liaison (or the ledger's supervisor) records the day a milestone was done.

    ``version`` is the one the milestone was shown at (by default that of ``milestone``).
    """
    expected_version = milestone.version if version is None else version
    milestone = _lock_milestone(milestone)
    item = milestone.item
    if not (is_lead_liaison(user, item) or is_supervisor_for(user, item)):
        raise ValidationError(_("只有牵头单位联络员或本台账的督办员可以标记节点完成。"))
    if milestone.version != expected_version:
        raise StaleObjectError(milestone)
    if item.status not in MILESTONE_COMPLETABLE_STATUSES:
        raise ValidationError(
            _("事项当前状态为「%(status)s」，不能标记节点完成。") % {"status": item.get_status_display()}
        )
    if milestone.done_on is not None:
        raise ValidationError(
            _("节点「%(name)s」已于 %(date)s 标记完成。")
            % {"name": milestone.name, "date": milestone.done_on}
        )
    if done_on is None:
        raise ValidationError({"done_on": _("请填写实际完成日期。")})
    if done_on > today():
        raise ValidationError({"done_on": _("实际完成日期不能晚于今天。")})
    if done_on < item.start_date:
        raise ValidationError(
            {"done_on": _("实际完成日期不能早于事项开始日期（%(d)s）。") % {"d": item.start_date}}
        )
    milestone.done_on = done_on
    milestone.save(update_fields=["done_on", "updated_at"])
    _record(
        item,
        EventKind.EDITED,
        user,
        comment=_("节点「%(name)s」已完成（%(date)s）") % {"name": milestone.name, "date": done_on},
        milestone=milestone.pk,
        done_on=done_on.isoformat(),
    )
    return milestone


# Item attachments ------------------------------------------------------------------------------
# 附件: the documents an item rests on (the decision, the task sheet…), apart from report evidence.

ATTACHMENT_DESCRIPTION_MAX_LENGTH = 200
# A closed (销号) item is the archive: its attachments are what it was closed with.
ATTACHMENTS_FROZEN_STATUSES = (ItemStatus.CLOSED,)


def attachments_editable(item: Item) -> bool:
    return item.status not in ATTACHMENTS_FROZEN_STATUSES


def _check_attachments_editable(item: Item) -> None:
    if not attachments_editable(item):
        raise ValidationError(
            _("事项当前状态为「%(status)s」，附件不能再修改。") % {"status": item.get_status_display()}
        )


@transaction.atomic
def attach_to_item(*, item: Item, user, upload, description: str = "") -> ItemAttachment:
    """Add a file to ``item``: checked by its content before anything is written.

    The ledger's supervisors and the lead unit's liaisons may. A refused file writes nothing, and a
    file stored for a row that then fails to be written is removed again.
    """
    if not can_attach(user, item):
        raise ValidationError(_("只有本台账的督办员或牵头单位联络员可以上传附件。"))
    _check_attachments_editable(item)
    description = " ".join((description or "").split())
    if len(description) > ATTACHMENT_DESCRIPTION_MAX_LENGTH:
        raise ValidationError(
            {
                "description": _("附件说明不能超过 %(max)d 个字，现有 %(n)d 个字。")
                % {"max": ATTACHMENT_DESCRIPTION_MAX_LENGTH, "n": len(description)}
            }
        )
    if upload is None:
        raise ValidationError({"file": _("请选择要上传的文件。")})
    checked = _check_file(upload)
    same = item.attachments.filter(sha256=checked.sha256).first()
    if same is not None:
        raise ValidationError(
            _("文件「%(name)s」与已有附件「%(existing)s」内容相同，无需重复上传。")
            % {"name": upload.name, "existing": same.original_name}
        )
    attachment = ItemAttachment(
        item=item,
        original_name=upload.name[:200],
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        sm3=checked.sm3,
        uploaded_by=user,
        description=description,
    )
    with storing(attachment, upload):
        attachment.save()
        _record(
            item,
            EventKind.ATTACHMENT_ADDED,
            user,
            comment=attachment.original_name,
            attachment=attachment.pk,
        )
    return attachment


@transaction.atomic
def remove_attachment(*, attachment: ItemAttachment, user) -> None:
    """Take an attachment off its item (its uploader, or a supervisor); the file goes once this commits."""
    item = attachment.item
    if not can_remove_attachment(user, attachment):
        raise ValidationError(_("只有上传人或本台账的督办员可以删除附件。"))
    _check_attachments_editable(item)
    storage, name = attachment.file.storage, attachment.file.name
    _record(
        item, EventKind.ATTACHMENT_REMOVED, user, comment=attachment.original_name, attachment=attachment.pk
    )
    attachment.delete()
    # Only after the commit: a rolled-back removal must still find its file.
    transaction.on_commit(lambda: storage.delete(name))


# Bulk writes -----------------------------------------------------------------------------------
# An import or a document outline writes hundreds of thousands of items at once: one transaction,
# checked as a whole before anything is written, and written with bulk queries whose number does not
# grow with the rows. Per-item audit rows would, so the trail gets one IMPORT event naming the source,
# the counts and the ids; each item's timeline still gets its own event.

BULK_BATCH_SIZE = 1000


@dataclasses.dataclass(eq=False, slots=True)
class ItemRow:
    """One item of a bulk write: created, or updated when ``existing_pk`` names an item of the ledger.

    ``values`` are Item attributes (``lead_org_id``, ``deadline`` …). ``parent`` is another row of
    the same write or an existing item's pk. ``version`` is the version the source saw (an exported
    workbook carries it): a newer stored one means the item was edited since, and the write is
    refused. ``origin`` says where the row came from, for messages (第 5 行).
    """

    values: dict
    origin: str
    co_org_ids: list[int] = dataclasses.field(default_factory=list)
    extra: dict = dataclasses.field(default_factory=dict)
    parent: "ItemRow | int | None" = None
    existing_pk: int | None = None
    version: int | None = None
    pk: int | None = None  # the written item's id, set by ``write_items``


@dataclasses.dataclass
class BulkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _depth(row: ItemRow) -> int:
    depth = 0
    while isinstance(row.parent, ItemRow):
        row, depth = row.parent, depth + 1
    return depth


def _batches(rows: list, size: int = BULK_BATCH_SIZE):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


_ITEM_FIELD_NAMES = [field.name for field in Item._meta.concrete_fields]


class _BulkWrite:
    """One ``write_items`` call: rows checked and written batch by batch, so memory stays bounded.

    Every row is checked, and every problem reported; once one is found nothing more is written, and
    the error rolls back what earlier batches wrote (the caller's transaction), so it is all or nothing.
    """

    def __init__(self, *, ledger: Ledger, user, rows: list[ItemRow], source: str, on: dt.date):
        self.ledger, self.user, self.rows, self.source, self.on = ledger, user, rows, source, on
        self.errors: list[str] = []
        self.result = BulkResult()
        self.created_ids: list[int] = []
        self.updated_ids: list[int] = []
        self.parents = {id(row.parent) for row in rows if isinstance(row.parent, ItemRow)}
        org_ids = {pk for row in rows for pk in (row.values.get("lead_org_id"), *row.co_org_ids) if pk}
        self.active_orgs = set(
            Organisation.objects.filter(pk__in=org_ids, is_active=True).values_list("pk", flat=True)
        )
        self.stored = self._lock_stored()
        self.now = timezone.now()
        self.created_data = {"source": source}  # one document for every creation entry, prepared once

    def _lock_stored(self) -> dict[int, int]:
        """The items updated or hung under, locked, by id → stored version (what each row is checked
        against; an update loads the rest batch by batch)."""
        wanted = {row.existing_pk for row in self.rows if row.existing_pk}
        wanted |= {row.parent for row in self.rows if isinstance(row.parent, int)}
        return dict(
            Item.objects.select_for_update(of=("self",))
            .filter(ledger=self.ledger, pk__in=wanted)
            .values_list("id", "version")
        )

    # Checks ----------------------------------------------------------------------------------------

    def problems(self, row: ItemRow, item: Item) -> list[str]:
        problems = []
        if not item.lead_org_id or item.lead_org_id not in self.active_orgs:
            problems.append(_("牵头单位不存在或已停用。"))
        if set(row.co_org_ids) - self.active_orgs:
            problems.append(_("配合单位中有不存在或已停用的单位。"))
        problems.extend(str(message) for message in _date_errors(item).values())
        try:
            # Only what the row sets: the rest is the model's defaults or derived below.
            item.clean_fields(exclude=[name for name in _ITEM_FIELD_NAMES if name not in row.values])
        except ValidationError as error:
            problems.extend(
                f"{Item._meta.get_field(name).verbose_name}：{'；'.join(messages)}"
                for name, messages in error.message_dict.items()
            )
        if isinstance(row.parent, int) and row.parent not in self.stored:
            problems.append(_("上级事项必须在同一台账中。"))
        return problems

    def report(self, row: ItemRow, problems: list[str]) -> None:
        self.errors.extend(f"{row.origin}：{problem}" for problem in problems)

    def clean_extra(self, row: ItemRow) -> None:
        try:
            row.extra = clean_extra(self.ledger, FieldTarget.ITEM, row.extra)
        except ValidationError as error:
            self.report(row, [message for messages in error.message_dict.values() for message in messages])

    def parent_pk(self, row: ItemRow) -> int | None:
        return row.parent.pk if isinstance(row.parent, ItemRow) else row.parent

    # Writes ----------------------------------------------------------------------------------------

    def run(self) -> BulkResult:
        for row in self.rows:
            self.clean_extra(row)
            if row.existing_pk is not None:
                self.check_existing(row)
        levels: dict[int, list[ItemRow]] = {}
        for row in self.rows:
            if row.existing_pk is None:
                levels.setdefault(_depth(row), []).append(row)
        for depth in sorted(levels):  # a parent's id is known before its children are built
            for batch in _batches(levels[depth]):
                self.create(batch)
        for batch in _batches([row for row in self.rows if row.existing_pk is not None]):
            self.update(batch)
        if self.errors:
            raise ValidationError(self.errors)
        return self.result

    def check_existing(self, row: ItemRow) -> None:
        version = self.stored.get(row.existing_pk)
        if version is None:
            self.report(row, [_("系统编号 %(pk)s 不是本台账的事项。") % {"pk": row.existing_pk}])
        elif row.version is not None and version != row.version:
            self.report(
                row,
                [
                    _("「%(title)s」在导出后已被修改（版本 %(old)s → %(new)s），请重新导出后再修改。")
                    % {"title": row.values.get("title", ""), "old": row.version, "new": version}
                ],
            )
        else:
            row.pk = row.existing_pk

    def create(self, batch: list[ItemRow]) -> None:
        items = []
        for row in batch:
            item = Item(
                ledger=self.ledger,
                **{
                    "kind": self.ledger.item_kind,
                    "report_cycle": self.ledger.default_report_cycle,
                    **row.values,
                },
            )
            item.parent_id = self.parent_pk(row)
            self.report(row, self.problems(row, item))
            item.extra = row.extra
            item.original_deadline = item.assessed_deadline = item.deadline
            _store_warning(item, self.on, has_children=id(row) in self.parents)
            items.append(item)
        if self.errors:
            return  # keep checking the rest, write nothing more
        Item.objects.bulk_create(items)
        through = Item.co_orgs.through
        for row, item in zip(batch, items, strict=True):
            row.pk = item.pk
        insert_rows(
            through, ["item", "organisation"], [(row.pk, org) for row in batch for org in row.co_org_ids]
        )
        self.add_events(EventKind.CREATED, [(row.pk, self.created_data) for row in batch])
        self.created_ids += [row.pk for row in batch]
        self.result.created += len(batch)

    def add_events(self, kind: str, entries: list[tuple[int, dict]]) -> None:
        """One timeline entry per (item id, data), all stamped with the moment of the write."""
        insert_rows(
            ItemEvent,
            [
                "item",
                "kind",
                "actor",
                "created_at",
                "from_status",
                "to_status",
                "action",
                "comment",
                "report",
                "data",
            ],
            [(pk, kind, self.user.pk, self.now, "", "", "", "", None, data) for pk, data in entries],
        )

    def changes(self, row: ItemRow, stored: dict, co_orgs_before: set[int]) -> dict:
        changes = {}
        for name, value in row.values.items():
            before = stored[name]
            if before != value:
                changes[name.removesuffix("_id")] = [
                    str(before if before is not None else ""),
                    str(value or ""),
                ]
        if stored["extra"] != row.extra:
            changes["extra"] = [str(stored["extra"]), str(row.extra)]
        if co_orgs_before != set(row.co_org_ids):
            changes["co_orgs"] = [str(sorted(co_orgs_before)), str(sorted(row.co_org_ids))]
        return changes

    def update(self, batch: list[ItemRow]) -> None:
        batch = [row for row in batch if row.pk is not None]  # the others are reported already
        through = Item.co_orgs.through
        co_orgs_before: dict[int, set[int]] = {}
        for item_id, org_id in through.objects.filter(item_id__in=[row.pk for row in batch]).values_list(
            "item_id", "organisation_id"
        ):
            co_orgs_before.setdefault(item_id, set()).add(org_id)
        compared = {"id", "extra", "parent_id", *(name for row in batch for name in row.values)}
        stored = {
            values["id"]: values
            for values in Item.objects.filter(pk__in=[row.pk for row in batch]).values(*compared)
        }
        changed: dict[int, tuple[ItemRow, dict]] = {}
        for row in batch:
            row.values["parent_id"] = self.parent_pk(row)
            changes = self.changes(row, stored[row.pk], co_orgs_before.get(row.pk, set()))
            if changes:
                changed[row.pk] = (row, changes)
            else:
                self.result.unchanged += 1
        if not changed:
            return
        items = list(Item.objects.filter(pk__in=changed))
        with_children = set(Item.objects.filter(parent_id__in=changed).values_list("parent_id", flat=True))
        for item in items:
            row, _changes = changed[item.pk]
            for name, value in row.values.items():
                setattr(item, name, value)
            self.report(row, self.problems(row, item))
            item.extra = row.extra
            if item.original_deadline is None:
                item.original_deadline = item.assessed_deadline = item.deadline
            item.version += 1
            item.updated_at = timezone.now()
            _store_warning(item, self.on, has_children=item.pk in with_children or id(row) in self.parents)
        if self.errors:
            return
        Item.objects.bulk_update(
            items, [*ITEM_EDITABLE_FIELDS, *ITEM_EDIT_DERIVED_FIELDS, "version", "updated_at"]
        )
        through.objects.filter(item_id__in=changed).delete()
        insert_rows(
            through,
            ["item", "organisation"],
            [(pk, org) for pk, (row, _c) in changed.items() for org in row.co_org_ids],
        )
        self.add_events(
            EventKind.EDITED,
            [(pk, {"source": self.source, "changes": changes}) for pk, (_row, changes) in changed.items()],
        )
        self.updated_ids += list(changed)
        self.result.updated += len(changed)


@transaction.atomic
def write_items(
    *, ledger: Ledger, user, rows: list[ItemRow], source: str, on: dt.date | None = None
) -> BulkResult:
    """Create and update ``rows`` in ``ledger``, all or nothing; refused with every row's problems listed.

    Rows are written in batches of ``BULK_BATCH_SIZE`` (parents before their children), so the memory
    a write takes does not grow with the rows, and the number of queries grows with the batches.
    """
    if not supervises_ledger(user, ledger):
        raise ValidationError(_("只有本台账的督办员可以导入事项。"))
    ledger = Ledger.objects.prefetch_related("fields").get(pk=ledger.pk)
    write = _BulkWrite(ledger=ledger, user=user, rows=rows, source=source, on=on or today())
    result = write.run()
    record(
        action=AuditAction.IMPORT,
        obj=ledger,
        user=user,
        after={
            "source": source,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "created_ids": id_ranges(write.created_ids),
            "updated_ids": id_ranges(write.updated_ids),
        },
    )
    return result
