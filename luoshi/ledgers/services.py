"""Every write to ledgers, items, milestones, reports and extensions, each in one transaction."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.core.calendar import add_working_days, previous_working_day
from luoshi.core.exceptions import StaleObjectError
from luoshi.core.uploads import check_upload
from luoshi.ledgers.models import (
    DONE_STATUSES,
    EventKind,
    Evidence,
    ExtensionRequest,
    ExtensionStatus,
    FieldTarget,
    FieldType,
    Item,
    ItemEvent,
    ItemStatus,
    Ledger,
    Milestone,
    ProgressReport,
    ReportStatus,
    SavedFilter,
)
from luoshi.ledgers.periods import period_containing
from luoshi.ledgers.permissions import can_edit_item, is_lead_liaison, is_supervisor_for, reporting_unit
from luoshi.ledgers.warnings import compute_warning
from luoshi.ledgers.workflows import EXTENSION_WORKFLOW, ITEM_WORKFLOW, REPORT_WORKFLOW
from luoshi.orgs.models import Organisation, User

REPORTABLE_STATUSES = (ItemStatus.ACCEPTED, ItemStatus.IN_PROGRESS, ItemStatus.COMPLETION_REQUESTED)
ITEM_EDITABLE_FIELDS = (
    "parent",
    "kind",
    "code",
    "title",
    "description",
    "source",
    "lead_leader",
    "lead_org",
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
    for field in ledger.fields.all():
        if field.target != target:
            continue
        raw = data.get(field.key)
        if raw in (None, "", []):
            if field.required:
                errors[field.key] = _("请填写「%(label)s」。") % {"label": field.label}
            continue
        try:
            cleaned[field.key] = _clean_value(field, raw)
        except ValidationError as error:
            errors[field.key] = error.messages[0]
    unknown = set(data) - {field.key for field in ledger.fields.all() if field.target == target}
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


def _validate_item(item: Item) -> None:
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


def _record(item, kind, actor, *, comment="", action="", from_status="", to_status="", report=None, **data):
    return ItemEvent.objects.create(
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


@transaction.atomic
def create_item(
    *, ledger: Ledger, user, co_orgs: Iterable = (), tags: Iterable = (), extra: dict | None = None, **fields
) -> Item:
    if not _is_ledger_supervisor(user, ledger):
        raise ValidationError(_("只有本台账的督办员可以新建事项。"))
    values = {name: fields[name] for name in ITEM_EDITABLE_FIELDS if name in fields}
    values.setdefault("report_cycle", ledger.default_report_cycle)
    values.setdefault("kind", ledger.item_kind)
    item = Item(ledger=ledger, **values)
    _validate_item(item)
    item.extra = clean_extra(ledger, FieldTarget.ITEM, extra or {})
    item.original_deadline = item.assessed_deadline = item.deadline
    _store_warning(item, today())
    item.save()
    item.co_orgs.set(co_orgs)
    item.tags.set(tags)
    _record(item, EventKind.CREATED, user)
    return item


def _is_ledger_supervisor(user, ledger) -> bool:
    from luoshi.orgs.selectors import access_profile

    return ledger.owner_office_id in access_profile(user).supervisor_org_ids


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
    _store_warning(item, today())
    item.save()
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
def transition_item(*, item: Item, action: str, user, comment: str = "", version: int | None = None) -> Item:
    locked = Item.objects.select_for_update().select_related("ledger", "lead_org").get(pk=item.pk)
    if version is not None and locked.version != version:
        raise StaleObjectError(locked)
    old, new, _transition = ITEM_WORKFLOW.apply(locked, action, user, comment)
    if action == "suspend":
        locked.status_before_suspension = old
    if new == ItemStatus.COMPLETED:
        locked.completed_on = today()
        locked.percent_complete = 100
    if action in ("reopen", "return") and old == ItemStatus.COMPLETED:
        locked.completed_on = None
    _store_warning(locked, today())
    locked.save()
    _record(
        locked, EventKind.TRANSITION, user, comment=comment, action=action, from_status=old, to_status=new
    )
    if locked.parent_id:
        roll_up_progress(locked.parent)
    item.refresh_from_db()
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
def urge_items(*, items: Iterable[Item], user, comment: str) -> int:
    """催办: put an urging note on each item's timeline (the supervision module adds channels)."""
    count = 0
    for item in items:
        if item.is_done:
            continue
        if not is_supervisor_for(user, item):
            raise ValidationError(_("您无权催办「%(item)s」。") % {"item": item})
        _record(item, EventKind.URGED, user, comment=comment or _("请抓紧推进并按时报送进展。"))
        count += 1
    return count


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
    milestones = Milestone.objects.bulk_create(
        Milestone(item=item, name=name, duration_days=days, start_date=start, due_date=due, sort_order=index)
        for index, (name, days, start, due) in enumerate(schedule)
    )
    _record(item, EventKind.EDITED, user, comment=_("倒排工期，安排 %(n)d 个节点") % {"n": len(milestones)})
    return milestones


@transaction.atomic
def update_milestone(*, milestone: Milestone, user, **fields) -> Milestone:
    if not can_edit_item(user, milestone.item):
        raise ValidationError(_("只有本台账的督办员可以修改节点。"))
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
) -> ProgressReport:
    """Write (and by default submit) the report of ``user``'s unit for the period containing ``period_day``.

    A returned report is revised in place, keeping its review history on the timeline.
    """
    item = Item.objects.select_related("ledger", "lead_org").get(pk=item.pk)
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
    period = period_containing(period_day or today(), item.report_cycle)
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
    report = report or ProgressReport(item=item, organisation=unit, period_start=period.start)
    report.period_end = period_containing(report.period_start, item.report_cycle).end
    report.author = user
    report.text = text.strip()
    report.percent_complete = int(percent_complete)
    report.measures = clean_extra(item.ledger, FieldTarget.REPORT, measures or {})
    report.problems = problems.strip()
    report.next_steps = next_steps.strip()
    report.save()
    for upload in files:
        attach_evidence(report=report, user=user, upload=upload)
    if submit:
        submit_report(report=report, user=user)
    return report


@transaction.atomic
def attach_evidence(*, report: ProgressReport, user, upload) -> Evidence:
    checked = check_upload(upload, max_bytes=settings.EVIDENCE_MAX_BYTES)
    evidence = Evidence(
        report=report,
        original_name=upload.name[:200],
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=user,
    )
    evidence.file.save(checked.sha256, upload, save=False)
    evidence.save()
    return evidence


@transaction.atomic
def submit_report(*, report: ProgressReport, user) -> ProgressReport:
    REPORT_WORKFLOW.apply(report, "submit", user)
    item = Item.objects.select_for_update().select_related("ledger").get(pk=report.item_id)
    report.submitted_at = timezone.now()
    period = period_containing(report.period_start, item.report_cycle)
    report.is_late = timezone.localdate(report.submitted_at) > period.late_after(
        item.ledger.report_grace_days
    )
    report.save()
    if item.status == ItemStatus.ACCEPTED and report.organisation_id == item.lead_org_id:
        item.status = ItemStatus.IN_PROGRESS
        _record(
            item,
            EventKind.TRANSITION,
            user,
            action="start",
            from_status=ItemStatus.ACCEPTED,
            to_status=item.status,
        )
    if report.organisation_id == item.lead_org_id:
        item.percent_complete = report.percent_complete
        if item.last_report_period_end is None or item.last_report_period_end < report.period_end:
            item.last_report_period_end = report.period_end
    _store_warning(item, today())
    item.save()
    _record(item, EventKind.REPORT_SUBMITTED, user, report=report, percent=report.percent_complete)
    if item.parent_id:
        roll_up_progress(item.parent)
    return report


@transaction.atomic
def review_report(*, report: ProgressReport, user, accept: bool, comment: str = "") -> ProgressReport:
    action = "accept" if accept else "return"
    REPORT_WORKFLOW.apply(report, action, user, comment)
    report.reviewer = user
    report.reviewed_at = timezone.now()
    report.review_comment = comment.strip()
    report.save()
    kind = EventKind.REPORT_ACCEPTED if accept else EventKind.REPORT_RETURNED
    _record(report.item, kind, user, comment=comment, report=report)
    if not accept:
        _recount_reported_period(report.item)
    return report


def _recount_reported_period(item: Item) -> None:
    """A returned report no longer counts as reported: the item's latest period comes from the others."""
    item = Item.objects.select_for_update().select_related("ledger").get(pk=item.pk)
    latest = (
        item.reports.filter(
            organisation_id=item.lead_org_id, status__in=(ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)
        )
        .order_by("-period_end")
        .values_list("period_end", flat=True)
        .first()
    )
    item.last_report_period_end = latest
    _store_warning(item, today())
    item.save()


# Extensions ------------------------------------------------------------------------------------


@transaction.atomic
def request_extension(*, item: Item, user, new_deadline: dt.date, reason: str) -> ExtensionRequest:
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
    _record(item, EventKind.EXTENSION_REQUESTED, user, comment=reason, new_deadline=new_deadline.isoformat())
    return request


@transaction.atomic
def decide_extension(
    *, request: ExtensionRequest, user, approve: bool, comment: str = "", excused: bool = False
) -> ExtensionRequest:
    request = ExtensionRequest.objects.select_for_update().select_related("item__ledger").get(pk=request.pk)
    EXTENSION_WORKFLOW.apply(request, "approve" if approve else "refuse", user, comment)
    request.decided_by = user
    request.decided_at = timezone.now()
    request.decision_comment = comment.strip()
    request.excused = approve and excused
    request.save()
    item = Item.objects.select_for_update().select_related("ledger").get(pk=request.item_id)
    if approve:
        item.deadline = request.new_deadline
        if request.excused:
            item.assessed_deadline = request.new_deadline
        _store_warning(item, today())
        item.save()
        _record(
            item,
            EventKind.EXTENSION_APPROVED,
            user,
            comment=comment,
            old_deadline=request.old_deadline.isoformat(),
            new_deadline=request.new_deadline.isoformat(),
            excused=request.excused,
        )
    else:
        _record(item, EventKind.EXTENSION_REFUSED, user, comment=comment)
    return request


# Progress roll-up and warnings -----------------------------------------------------------------


def roll_up_progress(parent: Item) -> None:
    """A parent's percent is the weighted mean of its children's; walks up to the root."""
    node = parent
    while node is not None:
        totals = node.children.exclude(status=ItemStatus.SUSPENDED).aggregate(
            # Aliases must not shadow the ``weight`` field, or Django refuses the aggregate.
            total_weight=Sum("weight"),
            weighted=Sum(F("weight") * F("percent_complete")),
        )
        if totals["total_weight"]:
            percent = round(Decimal(totals["weighted"]) / Decimal(totals["total_weight"]))
            if percent != node.percent_complete:
                Item.objects.filter(pk=node.pk).update(percent_complete=percent)
                node.percent_complete = percent
                refresh_warning(node)
        node = node.parent


def _store_warning(item: Item, on: dt.date) -> None:
    warning = compute_warning(item, on)
    item.warning_color = warning.color
    item.schedule_category = warning.category
    item.warning_reason = warning.reason
    item.warning_as_of = on


def refresh_warning(item: Item, on: dt.date | None = None) -> None:
    """Recompute one item's warning and store it without touching its version (it is derived data)."""
    _store_warning(item, on or today())
    Item.objects.filter(pk=item.pk).update(
        warning_color=item.warning_color,
        schedule_category=item.schedule_category,
        warning_reason=item.warning_reason,
        warning_as_of=item.warning_as_of,
    )


def refresh_stale_warnings(on: dt.date | None = None, batch_size: int = 2000) -> int:
    """Bring every warning computed before ``on`` up to date; the daily job and first read of a day call it."""
    on = on or today()
    stale = Item.objects.filter(Q(warning_as_of__lt=on) | Q(warning_as_of__isnull=True)).exclude(
        status__in=DONE_STATUSES, warning_as_of__isnull=False
    )
    fields = ["warning_color", "schedule_category", "warning_reason", "warning_as_of"]
    updated = 0
    while True:
        batch = list(stale.select_related("ledger").order_by("pk")[:batch_size])
        if not batch:
            break
        for item in batch:
            _store_warning(item, on)
        with transaction.atomic():
            Item.objects.bulk_update(batch, fields)
        updated += len(batch)
    Item.objects.filter(status__in=DONE_STATUSES, warning_as_of__lt=on).update(warning_as_of=on)
    return updated
