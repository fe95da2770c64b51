import datetime as dt
from decimal import Decimal

import pytest

from luoshi.exchange.dates import Deadline, DeadlineError, parse_deadline
from luoshi.ledgers.models import ReportCycle

D = dt.date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D(2026, 8, 15), D(2026, 8, 15)),
        (dt.datetime(2026, 11, 15, 0, 0), D(2026, 11, 15)),
        (46203, D(2026, 6, 30)),
        (46203.75, D(2026, 6, 30)),
        (Decimal(46203), D(2026, 6, 30)),
    ],
)
def test_date_cells_and_excel_serials(value, expected):
    assert parse_deadline(value, year=None) == Deadline(expected, False, None, expected.isoformat())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-15", D(2026, 8, 15)),
        ("2026/8/15", D(2026, 8, 15)),
        ("2026.8.15", D(2026, 8, 15)),
        ("2026年8月15日", D(2026, 8, 15)),
        ("2026年8月15号", D(2026, 8, 15)),
        ("2026.9", D(2026, 9, 30)),
        ("2026年9月", D(2026, 9, 30)),
        ("2026年6月底前", D(2026, 6, 30)),
        ("2026年6月底前完成", D(2026, 6, 30)),
        ("2026年12月31日以前", D(2026, 12, 31)),
        ("2026年12月底之前", D(2026, 12, 31)),
        ("6月30日前", D(2025, 6, 30)),
        ("6月30日", D(2025, 6, 30)),
        ("12月20日前", D(2025, 12, 20)),
        ("11月底", D(2025, 11, 30)),
        ("11月末", D(2025, 11, 30)),
        ("年底前", D(2025, 12, 31)),
        ("年底", D(2025, 12, 31)),
        ("年内", D(2025, 12, 31)),
        ("2026年底", D(2026, 12, 31)),
        ("7月上旬", D(2025, 7, 10)),
        ("7月中旬", D(2025, 7, 20)),
        ("7月下旬", D(2025, 7, 31)),
        ("三季度末", D(2025, 9, 30)),
        ("第三季度", D(2025, 9, 30)),
        ("3季度末", D(2025, 9, 30)),
        ("一季度末", D(2025, 3, 31)),
        ("2026年三季度", D(2026, 9, 30)),
        ("上半年", D(2025, 6, 30)),
        ("下半年", D(2025, 12, 31)),
        ("全年", D(2025, 12, 31)),
        ("2026年3月-6月", D(2026, 6, 30)),
        ("3月至6月", D(2025, 6, 30)),
        ("2026-03-01至2026-06-15", D(2026, 6, 15)),
        ("２０２６年６月", D(2026, 6, 30)),
        ("六月底", D(2025, 6, 30)),
        ("十二月底", D(2025, 12, 31)),
        ("十月三十一日前", D(2025, 10, 31)),
        ("二〇二六年九月", D(2026, 9, 30)),
        (" 2026 年 6 月\u30006 日 ", D(2026, 6, 6)),
    ],
)
def test_date_texts(text, expected):
    deadline = parse_deadline(text, year=2025)
    assert (deadline.date, deadline.standing, deadline.cycle) == (expected, False, None)


def test_month_without_day_is_its_last_day_in_leap_years():
    assert parse_deadline("2028年2月", year=None).date == D(2028, 2, 29)
    assert parse_deadline("2月底", year=2026).date == D(2026, 2, 28)


def test_text_is_the_normalised_input():
    assert parse_deadline(" ２０２６年 ６月底前 ", year=None).text == "2026年6月底前"


@pytest.mark.parametrize(
    ("text", "cycle"),
    [
        ("长期坚持", None),
        ("长期", None),
        ("持续推进", None),
        ("持续", None),
        ("常态化", None),
        ("长效", None),
        ("每周", ReportCycle.WEEKLY),
        ("按周", ReportCycle.WEEKLY),
        ("每半月", ReportCycle.SEMIMONTHLY),
        ("每月", ReportCycle.MONTHLY),
        ("按月", ReportCycle.MONTHLY),
        ("月度", ReportCycle.MONTHLY),
        ("每月25日前报送", ReportCycle.MONTHLY),
        ("每季度", ReportCycle.QUARTERLY),
        ("按季度", ReportCycle.QUARTERLY),
        ("按季", ReportCycle.QUARTERLY),
        ("季度", ReportCycle.QUARTERLY),
        ("长期坚持、每季度调度", ReportCycle.QUARTERLY),
    ],
)
def test_standing_items_have_no_date(text, cycle):
    assert parse_deadline(text, year=None) == Deadline(None, True, cycle, text)


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000"])
def test_empty_cell_is_no_deadline(value):
    assert parse_deadline(value, year=2026) == Deadline(None, False, None, "")


@pytest.mark.parametrize("text", ["6月30日", "年底前", "三季度末", "3月至6月"])
def test_missing_year_is_refused(text):
    with pytest.raises(DeadlineError, match=f"「{text}」没有写年份"):
        parse_deadline(text, year=None)


@pytest.mark.parametrize("text", ["春节前", "尽快", "前", "2026年", "下周"])
def test_unreadable_text_names_the_understood_forms(text):
    with pytest.raises(DeadlineError, match=f"无法识别完成时限「{text}」.*三季度末.*长期坚持"):
        parse_deadline(text, year=2026)


@pytest.mark.parametrize("text", ["2026年2月30日", "2026-13-01", "13月底"])
def test_impossible_dates_are_refused(text):
    with pytest.raises(DeadlineError, match=f"「{text}」不是有效日期"):
        parse_deadline(text, year=2026)


@pytest.mark.parametrize("value", [0, 60, 2026, 36525, 73051, 3_000_000, True])
def test_implausible_numbers_are_refused(value):
    with pytest.raises(DeadlineError):
        parse_deadline(value, year=2026)


def test_deadline_error_is_a_value_error():
    assert issubclass(DeadlineError, ValueError)
