"""Reads for ledgers: every queryset here is already scoped to the user and prefetched for its screen."""

from django.db.models import Count, Prefetch, Q

from luoshi.ledgers.models import (
    OPEN_STATUSES,
    Evidence,
    ExtensionRequest,
    ExtensionStatus,
    Item,
    ItemAttachment,
    ItemStatus,
    Ledger,
    ProgressReport,
    ReportStatus,
    WarningColor,
)
from luoshi.ledgers.periods import period_containing
from luoshi.ledgers.querysets import office_ledger_ids
from luoshi.ledgers.services import refresh_stale_warnings, today
from luoshi.orgs.selectors import access_profile, subtree_id_list


def ensure_warnings_current() -> None:
    """Warnings depend on the date: if the daily job has not run yet today, bring them current now."""
    on = today()
    if Item.objects.filter(Q(warning_as_of__lt=on) | Q(warning_as_of__isnull=True)).exists():
        refresh_stale_warnings(on)


def ledger_list(user):
    return (
        Ledger.objects.visible_to(user)
        .select_related("owner_office")
        .annotate(
            item_count=Count("items", distinct=True),
            red_count=Count("items", filter=Q(items__warning_color=WarningColor.RED), distinct=True),
            yellow_count=Count("items", filter=Q(items__warning_color=WarningColor.YELLOW), distinct=True),
            done_count=Count("items", filter=Q(items__warning_color=WarningColor.DONE), distinct=True),
        )
        .order_by("-year", "name")
    )


def item_list(user):
    """The item list's rows: joined only to what the table shows (each extra join costs a model per row)."""
    ensure_warnings_current()
    return Item.objects.visible_to(user).select_related("lead_org", "lead_leader")


def item_for_detail(user, pk: int) -> Item:
    ensure_warnings_current()
    return (
        Item.objects.visible_to(user)
        .select_related("ledger__owner_office", "lead_org", "lead_leader", "owner", "parent__parent")
        .prefetch_related("co_orgs", "tags", "milestones", "ledger__fields")
        .get(pk=pk)
    )


def item_children(item: Item, user):
    return item.children.visible_to(user).select_related("lead_org").order_by("sort_order", "id")


def item_timeline(item: Item):
    return item.events.select_related("actor", "report").order_by("-created_at", "-id")


def item_reports(item: Item):
    return item.reports.select_related("organisation", "author", "reviewer").prefetch_related(
        Prefetch("evidence", queryset=Evidence.objects.order_by("id"))
    )


def item_extensions(item: Item):
    return item.extension_requests.select_related("requested_by", "decided_by")


def evidence_for_download(user, pk: int) -> Evidence:
    return Evidence.objects.visible_to(user).select_related("report__item").get(pk=pk)


def item_attachments(item: Item):
    return item.attachments.select_related("uploaded_by").order_by("id")


def attachment_for_user(user, pk: int) -> ItemAttachment:
    """An attachment whose item the user sees, loaded for the permission checks on it."""
    return (
        ItemAttachment.objects.visible_to(user)
        .select_related("item__ledger", "item__lead_org", "uploaded_by")
        .get(pk=pk)
    )


def report_for_user(user, pk: int) -> ProgressReport:
    return (
        ProgressReport.objects.visible_to(user)
        .select_related("item__ledger", "item__lead_org", "organisation")
        .get(pk=pk)
    )


def extension_for_user(user, pk: int) -> ExtensionRequest:
    return (
        ExtensionRequest.objects.visible_to(user).select_related("item__ledger", "item__lead_org").get(pk=pk)
    )


def _unit_items(user):
    """Items the user's own units lead, or that the user is responsible for."""
    units = subtree_id_list(user, access_profile(user).unit_paths)
    return Item.objects.filter(Q(lead_org_id__in=units) | Q(owner_id=user.pk))


def my_work(user, limit: int = 10) -> dict:
    """What waits for this user, by kind; each list is short and links to the full filtered list."""
    ensure_warnings_current()
    profile = access_profile(user)
    base = ("ledger", "lead_org", "lead_leader")
    work = {}
    if profile.liaison_paths:
        liaison_units = subtree_id_list(user, profile.liaison_paths)
        work["to_accept"] = Item.objects.filter(lead_org_id__in=liaison_units, status=ItemStatus.ASSIGNED)
    if profile.unit_paths:
        unit_items = _unit_items(user)
        # last_report_period_end moves with every submitted lead-unit report, so an item whose
        # current period is not reported yet is one whose last reported period ended before today.
        not_reported = Q(last_report_period_end__isnull=True) | Q(last_report_period_end__lt=today())
        work["to_report"] = unit_items.filter(
            not_reported, status__in=(ItemStatus.ACCEPTED, ItemStatus.IN_PROGRESS)
        )
        work["returned_reports"] = ProgressReport.objects.filter(
            item__in=unit_items, status=ReportStatus.RETURNED
        ).select_related("item", "organisation")
        work["overdue"] = unit_items.filter(status__in=OPEN_STATUSES, warning_color=WarningColor.RED)
    if profile.supervisor_org_ids:
        ledgers = office_ledger_ids(user, profile.supervisor_org_ids)
        office_items = Item.objects.filter(ledger_id__in=ledgers)
        work["to_review"] = (
            ProgressReport.objects.filter(status=ReportStatus.SUBMITTED, item__ledger_id__in=ledgers)
            .select_related("item", "organisation", "author")
            .order_by("submitted_at", "id")
        )
        work["to_approve"] = office_items.filter(status=ItemStatus.COMPLETION_REQUESTED)
        work["extensions"] = ExtensionRequest.objects.filter(
            status=ExtensionStatus.PENDING, item__ledger_id__in=ledgers
        ).select_related("item", "requested_by")
        work["drafts"] = office_items.filter(status=ItemStatus.DRAFT)
        work.setdefault(
            "overdue", office_items.filter(status__in=OPEN_STATUSES, warning_color=WarningColor.RED)
        )
    if profile.has("leader"):
        work["led_red"] = Item.objects.visible_to(user).filter(
            status__in=OPEN_STATUSES, warning_color=WarningColor.RED
        )
    result = {}
    for key, queryset in work.items():
        if queryset.model is Item:
            queryset = queryset.select_related(*base).order_by("deadline", "id")
        result[key] = {"count": queryset.count(), "rows": list(queryset[:limit])}
    return result


def report_period_for(item: Item, day=None):
    return period_containing(day or today(), item.report_cycle)
