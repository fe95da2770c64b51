import datetime as dt

import pytest

from luoshi.ledgers.models import ReportCycle
from luoshi.ledgers.periods import Period, latest_overdue_period, period_containing

pytestmark = pytest.mark.django_db  # the working-day calendar reads its override table

D = dt.date


@pytest.mark.parametrize(
    ("day", "cycle", "start", "end"),
    [
        (D(2026, 11, 25), ReportCycle.WEEKLY, D(2026, 11, 23), D(2026, 11, 29)),
        (D(2026, 11, 23), ReportCycle.WEEKLY, D(2026, 11, 23), D(2026, 11, 29)),
        (D(2026, 11, 15), ReportCycle.SEMIMONTHLY, D(2026, 11, 1), D(2026, 11, 15)),
        (D(2026, 11, 16), ReportCycle.SEMIMONTHLY, D(2026, 11, 16), D(2026, 11, 30)),
        (D(2026, 2, 20), ReportCycle.SEMIMONTHLY, D(2026, 2, 16), D(2026, 2, 28)),
        (D(2026, 2, 10), ReportCycle.MONTHLY, D(2026, 2, 1), D(2026, 2, 28)),
        (D(2028, 2, 10), ReportCycle.MONTHLY, D(2028, 2, 1), D(2028, 2, 29)),
        (D(2026, 8, 15), ReportCycle.QUARTERLY, D(2026, 7, 1), D(2026, 9, 30)),
        (D(2026, 12, 31), ReportCycle.QUARTERLY, D(2026, 10, 1), D(2026, 12, 31)),
    ],
)
def test_period_containing(day, cycle, start, end):
    assert period_containing(day, cycle) == Period(start, end)


def test_unknown_cycle():
    with pytest.raises(ValueError, match="unknown report cycle"):
        period_containing(D(2026, 1, 1), "daily")


def test_due_is_the_last_working_day_of_the_period():
    # Week ending Sunday 29 Nov: due Friday 27th.
    assert period_containing(D(2026, 11, 25), ReportCycle.WEEKLY).due == D(2026, 11, 27)
    # First half of November ends on Sunday the 15th: due Friday the 13th.
    assert period_containing(D(2026, 11, 3), ReportCycle.SEMIMONTHLY).due == D(2026, 11, 13)
    # February 2026 ends on a make-up working Saturday: due that very day.
    assert period_containing(D(2026, 2, 3), ReportCycle.MONTHLY).due == D(2026, 2, 28)
    # The week of National Day 2026 (Mon 28 Sep – Sun 4 Oct): due Wednesday 30 Sep.
    assert period_containing(D(2026, 10, 2), ReportCycle.WEEKLY).due == D(2026, 9, 30)


def test_late_after_counts_grace_in_working_days():
    september = period_containing(D(2026, 9, 10), ReportCycle.MONTHLY)
    assert september.due == D(2026, 9, 30)
    assert september.late_after(0) == D(2026, 9, 30)
    assert september.late_after(2) == D(2026, 10, 9)  # over the National Day holiday


def test_previous_period():
    october = period_containing(D(2026, 10, 20), ReportCycle.MONTHLY)
    assert october.previous(ReportCycle.MONTHLY) == Period(D(2026, 9, 1), D(2026, 9, 30))
    q1 = period_containing(D(2026, 2, 1), ReportCycle.QUARTERLY)
    assert q1.previous(ReportCycle.QUARTERLY) == Period(D(2025, 10, 1), D(2025, 12, 31))


def test_latest_overdue_period():
    # On 9 Oct the September report is still within grace: August is the latest overdue period.
    assert latest_overdue_period(D(2026, 10, 9), ReportCycle.MONTHLY, 2).start == D(2026, 8, 1)
    # On Saturday 10 Oct (a working day) September's grace has run out.
    assert latest_overdue_period(D(2026, 10, 10), ReportCycle.MONTHLY, 2).start == D(2026, 9, 1)
    # Weekly, no grace: on Monday 23 Nov last week (due Fri 20 Nov) is overdue.
    assert latest_overdue_period(D(2026, 11, 23), ReportCycle.WEEKLY, 0) == Period(
        D(2026, 11, 16), D(2026, 11, 22)
    )
    # Never the current period.
    for cycle in ReportCycle.values:
        period = latest_overdue_period(D(2026, 11, 23), cycle, 2)
        assert period.late_after(2) < D(2026, 11, 23)
