"""The one working-day calendar: weekends, official holidays and make-up working days.

Official days come from the ``chinesecalendar`` package; the ``CalendarDay`` table
overrides it and covers years the package does not know yet. Each year is turned
into a prefix sum of working days, so counting working days between two dates is
O(1) even when recomputing warnings for every item.
"""

import datetime as dt
import time
from bisect import bisect_left
from dataclasses import dataclass

import chinese_calendar
from chinese_calendar import constants as official

_OFFICIAL_YEARS = {day.year for day in official.holidays} | {day.year for day in official.workdays}
_CACHE_SECONDS = 300
_year_cache: dict[int, tuple[float, "_Year"]] = {}


@dataclass(frozen=True)
class _Year:
    first: dt.date
    working_ordinals: tuple[int, ...]  # sorted ordinals of the year's working days

    def count_until(self, day: dt.date) -> int:
        """Working days in this year up to and including ``day``."""
        return bisect_left(self.working_ordinals, day.toordinal() + 1)


def _official_is_working(day: dt.date) -> bool:
    if day.year in _OFFICIAL_YEARS:
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5


def _load_year(year: int) -> _Year:
    from luoshi.core.models import CalendarDay

    overrides = dict(CalendarDay.objects.filter(date__year=year).values_list("date", "is_working_day"))
    first = dt.date(year, 1, 1)
    days = (dt.date(year + 1, 1, 1) - first).days
    ordinals = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        working = overrides.get(day)
        if working is None:
            working = _official_is_working(day)
        if working:
            ordinals.append(day.toordinal())
    return _Year(first=first, working_ordinals=tuple(ordinals))


def _year(year: int) -> _Year:
    cached = _year_cache.get(year)
    now = time.monotonic()
    if cached and now - cached[0] < _CACHE_SECONDS:
        return cached[1]
    loaded = _load_year(year)
    _year_cache[year] = (now, loaded)
    return loaded


def clear_cache() -> None:
    """Forget loaded years; called after the calendar table changes."""
    _year_cache.clear()


def is_working_day(day: dt.date) -> bool:
    year = _year(day.year)
    index = bisect_left(year.working_ordinals, day.toordinal())
    return index < len(year.working_ordinals) and year.working_ordinals[index] == day.toordinal()


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end``; negative when ``end`` is earlier."""
    if end < start:
        return -working_days_between(end, start)
    total = 0
    for year in range(start.year, end.year + 1):
        data = _year(year)
        upper = data.count_until(min(end, dt.date(year, 12, 31)))
        lower = data.count_until(start) if year == start.year else 0
        total += upper - lower
    return total


def add_working_days(start: dt.date, count: int) -> dt.date:
    """The date ``count`` working days after ``start`` (before it when ``count`` is negative).

    ``add_working_days(d, 0)`` is ``d`` itself when it is a working day, otherwise the
    next working day.
    """
    step = 1 if count >= 0 else -1
    day = start
    if count == 0:
        while not is_working_day(day):
            day += dt.timedelta(days=1)
        return day
    remaining = abs(count)
    while remaining:
        day += dt.timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


def previous_working_day(day: dt.date) -> dt.date:
    """``day`` itself when it is a working day, otherwise the last working day before it."""
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day
