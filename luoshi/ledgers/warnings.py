"""The one warning calculator: an item's colour, schedule category and the reason for them.

Pure: it reads an item, its ledger's thresholds and whether the item has children, and returns
an ``ItemWarning``; the services store the result and the daily refresh keeps it current (see
``services.refresh_stale_warnings``). Callers say whether the item has children (one query per
batch or per item, never per row): an item with children owes no report of its own, since its
progress rolls up from the children, who carry the reporting.
"""

import datetime as dt
from dataclasses import dataclass, field

from luoshi.core.calendar import working_days_between
from luoshi.ledgers.models import (
    DONE_STATUSES,
    ItemStatus,
    ScheduleCategory,
    WarningColor,
    warning_reason_text,
)
from luoshi.ledgers.periods import latest_overdue_period

# States in which the unit is expected to be working and reporting.
ACTIVE_STATUSES = (ItemStatus.ACCEPTED, ItemStatus.IN_PROGRESS, ItemStatus.COMPLETION_REQUESTED)


@dataclass(frozen=True)
class ItemWarning:
    color: str
    category: str
    code: str  # a key of models.WARNING_REASONS
    args: dict = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return warning_reason_text(self.code, self.args)


def expected_percent(start: dt.date, deadline: dt.date, today: dt.date) -> int:
    """序时进度: the share of working days elapsed between start and deadline, 0–100."""
    if today <= start:
        return 0
    if today >= deadline:
        return 100
    total = working_days_between(start, deadline)
    if total <= 0:
        return 100
    return round(100 * working_days_between(start, today) / total)


def compute_warning(item, today: dt.date, *, has_children: bool) -> ItemWarning:
    ledger = item.ledger
    if item.status in DONE_STATUSES:
        return ItemWarning(WarningColor.DONE, ScheduleCategory.DONE, str(item.status))
    if item.status == ItemStatus.SUSPENDED:
        return ItemWarning(WarningColor.SUSPENDED, ScheduleCategory.SUSPENDED, "suspended")

    if item.deadline and today > item.deadline:
        late = working_days_between(item.deadline, today)
        if late > 0:
            return ItemWarning(WarningColor.RED, ScheduleCategory.BEHIND, "overdue", {"days": late})
        return ItemWarning(WarningColor.RED, ScheduleCategory.BEHIND, "past_deadline")

    if item.status == ItemStatus.DRAFT:
        # Not yet assigned: the unit cannot be behind on work it has not been given.
        return ItemWarning(WarningColor.NOT_STARTED, ScheduleCategory.NOT_STARTED, "draft")

    reports_due = item.status in ACTIVE_STATUSES and item.status != ItemStatus.COMPLETION_REQUESTED
    if reports_due and not has_children:
        overdue = latest_overdue_period(today, item.report_cycle, ledger.report_grace_days)
        owes_report = overdue.end >= item.start_date and (
            item.last_report_period_end is None or item.last_report_period_end < overdue.end
        )
        if owes_report:
            due = {"month": overdue.due.month, "day": overdue.due.day}
            return ItemWarning(WarningColor.RED, ScheduleCategory.BEHIND, "report_missing", due)

    if item.deadline and not item.is_standing:
        expected = expected_percent(item.start_date, item.deadline, today)
        gap = expected - item.percent_complete
        if item.percent_complete == 0 and today < item.start_date:
            return ItemWarning(WarningColor.NOT_STARTED, ScheduleCategory.NOT_STARTED, "before_start")
        if gap > ledger.red_tolerance:
            return ItemWarning(WarningColor.RED, ScheduleCategory.BEHIND, "behind", {"gap": gap})
        if gap > ledger.yellow_tolerance:
            return ItemWarning(WarningColor.YELLOW, ScheduleCategory.BEHIND, "behind", {"gap": gap})
        left = working_days_between(today, item.deadline)
        if left <= ledger.due_soon_days:
            category = ScheduleCategory.ON_SCHEDULE if item.percent_complete else ScheduleCategory.NOT_STARTED
            if left <= 0:
                return ItemWarning(WarningColor.YELLOW, category, "due_today")
            return ItemWarning(WarningColor.YELLOW, category, "due_soon", {"days": left})

    if item.percent_complete == 0 and item.status in (
        ItemStatus.DRAFT,
        ItemStatus.ASSIGNED,
        ItemStatus.ACCEPTED,
    ):
        return ItemWarning(WarningColor.NOT_STARTED, ScheduleCategory.NOT_STARTED, "not_started")
    return ItemWarning(WarningColor.GREEN, ScheduleCategory.ON_SCHEDULE, "on_schedule")
