"""The one warning calculator: an item's colour, schedule category and the reason in words.

Pure: it reads an item, its ledger's thresholds and whether the item has children, and returns
an ``ItemWarning``; the services store the result and the daily refresh keeps it current (see
``services.refresh_stale_warnings``). Callers say whether the item has children (one query per
batch or per item, never per row): an item with children owes no report of its own, since its
progress rolls up from the children, who carry the reporting.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from luoshi.core.calendar import working_days_between
from luoshi.ledgers.models import (
    DONE_STATUSES,
    ItemStatus,
    ScheduleCategory,
    WarningColor,
)
from luoshi.ledgers.periods import latest_overdue_period

# States in which the unit is expected to be working and reporting.
ACTIVE_STATUSES = (ItemStatus.ACCEPTED, ItemStatus.IN_PROGRESS, ItemStatus.COMPLETION_REQUESTED)


@dataclass(frozen=True)
class ItemWarning:
    color: str
    category: str
    reason: str


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
        return ItemWarning(WarningColor.DONE, ScheduleCategory.DONE, ItemStatus(item.status).label)
    if item.status == ItemStatus.SUSPENDED:
        return ItemWarning(WarningColor.SUSPENDED, ScheduleCategory.SUSPENDED, _("已中止"))

    if item.deadline and today > item.deadline:
        late = working_days_between(item.deadline, today)
        reason = _("已超期%(days)d个工作日") % {"days": late} if late > 0 else _("已超过完成时限")
        return ItemWarning(WarningColor.RED, ScheduleCategory.BEHIND, reason)

    if item.status == ItemStatus.DRAFT:
        # Not yet assigned: the unit cannot be behind on work it has not been given.
        return ItemWarning(WarningColor.NOT_STARTED, ScheduleCategory.NOT_STARTED, _("尚未交办"))

    reports_due = item.status in ACTIVE_STATUSES and item.status != ItemStatus.COMPLETION_REQUESTED
    if reports_due and not has_children:
        overdue = latest_overdue_period(today, item.report_cycle, ledger.report_grace_days)
        owes_report = overdue.end >= item.start_date and (
            item.last_report_period_end is None or item.last_report_period_end < overdue.end
        )
        if owes_report:
            reason = _("逾期未报送进展（应于%(month)d月%(day)d日前报送）") % {
                "month": overdue.due.month,
                "day": overdue.due.day,
            }
            return ItemWarning(WarningColor.RED, ScheduleCategory.BEHIND, reason)

    if item.deadline and not item.is_standing:
        expected = expected_percent(item.start_date, item.deadline, today)
        gap = expected - item.percent_complete
        if item.percent_complete == 0 and today < item.start_date:
            return ItemWarning(WarningColor.NOT_STARTED, ScheduleCategory.NOT_STARTED, _("尚未到开始日期"))
        if gap > ledger.red_tolerance:
            return ItemWarning(
                WarningColor.RED, ScheduleCategory.BEHIND, _("落后序时进度%(gap)d个百分点") % {"gap": gap}
            )
        if gap > ledger.yellow_tolerance:
            return ItemWarning(
                WarningColor.YELLOW,
                ScheduleCategory.BEHIND,
                _("落后序时进度%(gap)d个百分点") % {"gap": gap},
            )
        left = working_days_between(today, item.deadline)
        if left <= ledger.due_soon_days:
            category = ScheduleCategory.ON_SCHEDULE if item.percent_complete else ScheduleCategory.NOT_STARTED
            reason = _("今日到期") if left <= 0 else _("距完成时限还有%(days)d个工作日") % {"days": left}
            return ItemWarning(WarningColor.YELLOW, category, reason)

    if item.percent_complete == 0 and item.status in (
        ItemStatus.DRAFT,
        ItemStatus.ASSIGNED,
        ItemStatus.ACCEPTED,
    ):
        return ItemWarning(WarningColor.NOT_STARTED, ScheduleCategory.NOT_STARTED, _("尚未启动"))
    return ItemWarning(WarningColor.GREEN, ScheduleCategory.ON_SCHEDULE, _("达到序时进度"))
