"""Report periods per cycle: which period a date falls in, and when its report is due."""

import datetime as dt
from calendar import monthrange
from dataclasses import dataclass

from luoshi.core.calendar import add_working_days, previous_working_day
from luoshi.ledgers.models import ReportCycle


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    @property
    def due(self) -> dt.date:
        """Reports are due on the period's last working day."""
        return previous_working_day(self.end)

    def late_after(self, grace_days: int) -> dt.date:
        """The last day a report for this period still counts as on time, grace included."""
        return add_working_days(self.due, grace_days)

    def previous(self, cycle: str) -> "Period":
        return period_containing(self.start - dt.timedelta(days=1), cycle)


def period_containing(day: dt.date, cycle: str) -> Period:
    if cycle == ReportCycle.WEEKLY:
        start = day - dt.timedelta(days=day.weekday())
        return Period(start, start + dt.timedelta(days=6))
    if cycle == ReportCycle.SEMIMONTHLY:
        if day.day <= 15:
            return Period(day.replace(day=1), day.replace(day=15))
        return Period(day.replace(day=16), day.replace(day=monthrange(day.year, day.month)[1]))
    if cycle == ReportCycle.MONTHLY:
        return Period(day.replace(day=1), day.replace(day=monthrange(day.year, day.month)[1]))
    if cycle == ReportCycle.QUARTERLY:
        first_month = 3 * ((day.month - 1) // 3) + 1
        last_month = first_month + 2
        return Period(
            dt.date(day.year, first_month, 1),
            dt.date(day.year, last_month, monthrange(day.year, last_month)[1]),
        )
    raise ValueError(f"unknown report cycle {cycle!r}")


def latest_overdue_period(today: dt.date, cycle: str, grace_days: int) -> Period:
    """The most recent period whose report, if still missing today, is past its grace."""
    period = period_containing(today, cycle)
    while period.late_after(grace_days) >= today:
        period = period.previous(cycle)
    return period
