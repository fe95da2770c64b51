import datetime as dt

import pytest

from luoshi.core import calendar
from luoshi.core.calendar import (
    add_working_days,
    is_working_day,
    previous_working_day,
    working_days_between,
)
from luoshi.core.models import CalendarDay

pytestmark = pytest.mark.django_db

D = dt.date


def test_national_day_2026_is_a_holiday_and_the_day_after_works():
    for day in range(1, 8):
        assert not is_working_day(D(2026, 10, day)), f"2026-10-{day:02d} should be a holiday"
    # The official 2026 schedule ends the break on the 7th; Thursday the 8th is a working day.
    assert is_working_day(D(2026, 10, 8))


def test_make_up_saturday_2026_is_a_working_day():
    # 2026-10-10 is a Saturday worked in exchange for the National Day break (调休上班).
    assert D(2026, 10, 10).weekday() == 5
    assert is_working_day(D(2026, 10, 10))
    assert is_working_day(D(2026, 9, 20))  # a Sunday, also made up
    assert not is_working_day(D(2026, 10, 11))  # the ordinary Sunday after it


def test_plain_weekday_and_weekend():
    assert is_working_day(D(2026, 11, 23))  # Monday
    assert not is_working_day(D(2026, 11, 21))  # Saturday
    assert not is_working_day(D(2026, 11, 22))  # Sunday


def test_year_unknown_to_the_package_falls_back_to_weekends():
    # 2027 is not in chinesecalendar yet: 2027-10-01 (Friday) counts as a working day until entered.
    assert is_working_day(D(2027, 10, 1))
    assert not is_working_day(D(2027, 10, 2))  # Saturday
    assert working_days_between(D(2027, 3, 1), D(2027, 3, 8)) == 5


def test_calendar_day_override_wins_after_cache_clear():
    day = D(2027, 10, 1)
    assert is_working_day(day)
    CalendarDay.objects.create(date=day, is_working_day=False, name="国庆节")
    # Cached until cleared: the admin screen clears the cache after saving.
    assert is_working_day(day)
    calendar.clear_cache()
    assert not is_working_day(day)


def test_override_can_turn_an_official_holiday_into_a_working_day():
    CalendarDay.objects.create(date=D(2026, 10, 5), is_working_day=True, name="临时调整")
    calendar.clear_cache()
    assert is_working_day(D(2026, 10, 5))
    CalendarDay.objects.create(date=D(2026, 11, 23), is_working_day=False, name="临时放假")
    calendar.clear_cache()
    assert not is_working_day(D(2026, 11, 23))


def test_working_days_between_skips_the_holiday():
    # After Wed 30 Sep up to Fri 9 Oct: 8 and 9 October only.
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 9)) == 2
    # Including the make-up Saturday 10 Oct.
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 10)) == 3


def test_working_days_between_is_antisymmetric_and_zero_on_same_day():
    start, end = D(2026, 11, 2), D(2026, 11, 13)
    assert working_days_between(start, end) == 9
    assert working_days_between(end, start) == -9
    assert working_days_between(start, start) == 0


def test_working_days_between_across_years():
    # Thu 31 Dec 2026 → Fri 8 Jan 2027: 1 Jan 2027 is a Friday, a working day by the weekend fallback.
    assert working_days_between(D(2026, 12, 31), D(2027, 1, 8)) == 6
    assert working_days_between(D(2027, 1, 8), D(2026, 12, 31)) == -6


def test_add_working_days_forward_over_the_holiday():
    assert add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)


def test_add_working_days_backward_over_the_holiday():
    assert add_working_days(D(2026, 10, 8), -1) == D(2026, 9, 30)
    assert add_working_days(D(2026, 11, 23), -1) == D(2026, 11, 20)  # Monday → Friday


def test_add_working_days_zero_rolls_forward_to_a_working_day():
    assert add_working_days(D(2026, 11, 23), 0) == D(2026, 11, 23)
    assert add_working_days(D(2026, 10, 3), 0) == D(2026, 10, 8)


def test_add_working_days_across_years_both_ways():
    assert add_working_days(D(2026, 12, 31), 6) == D(2027, 1, 8)
    assert add_working_days(D(2027, 1, 8), -6) == D(2026, 12, 31)


def test_add_and_between_are_inverse():
    start = D(2026, 9, 15)
    for count in (1, 5, 17, 40):
        assert working_days_between(start, add_working_days(start, count)) == count


def test_previous_working_day():
    assert previous_working_day(D(2026, 10, 7)) == D(2026, 9, 30)
    assert previous_working_day(D(2026, 11, 23)) == D(2026, 11, 23)
