import datetime as dt

import pytest

from luoshi.ledgers.models import Item, ItemStatus, Ledger, ReportCycle, ScheduleCategory, WarningColor
from luoshi.ledgers.warnings import compute_warning, expected_percent

pytestmark = pytest.mark.django_db  # the working-day calendar reads its override table

D = dt.date
TODAY = D(2026, 11, 18)  # a Wednesday
START = D(2026, 9, 1)
DEADLINE = D(2026, 12, 31)


def _warning(item, today, *, has_children=False):
    return compute_warning(item, today, has_children=has_children)


def _item(**fields):
    ledger = Ledger(red_tolerance=30, yellow_tolerance=10, due_soon_days=3, report_grace_days=2)
    values = {
        "status": ItemStatus.IN_PROGRESS,
        "start_date": START,
        "deadline": DEADLINE,
        "report_cycle": ReportCycle.MONTHLY,
        "percent_complete": 0,
        "last_report_period_end": D(2026, 10, 31),  # October reported: nothing owed on 18 Nov
    }
    values.update(fields)
    return Item(ledger=ledger, **values)


def test_expected_percent():
    assert expected_percent(START, DEADLINE, START) == 0
    assert expected_percent(START, DEADLINE, D(2026, 8, 1)) == 0
    assert expected_percent(START, DEADLINE, DEADLINE) == 100
    assert expected_percent(START, DEADLINE, D(2027, 3, 1)) == 100
    assert 50 < expected_percent(START, DEADLINE, TODAY) < 75


@pytest.mark.parametrize("status", [ItemStatus.COMPLETED, ItemStatus.CLOSED])
def test_done(status):
    warning = _warning(_item(status=status, deadline=D(2026, 1, 1), start_date=D(2025, 1, 1)), TODAY)
    assert (warning.color, warning.category) == (WarningColor.DONE, ScheduleCategory.DONE)
    assert warning.reason in ("已办结", "已销号")


def test_suspended_even_when_overdue():
    warning = _warning(_item(status=ItemStatus.SUSPENDED, deadline=D(2026, 10, 1)), TODAY)
    assert (warning.color, warning.reason) == (WarningColor.SUSPENDED, "已中止")


def test_overdue_counts_working_days():
    # Deadline Friday 13 Nov; on Wednesday 18 Nov: 16, 17, 18 → 3 working days late.
    warning = _warning(_item(deadline=D(2026, 11, 13), percent_complete=90), TODAY)
    assert warning.color == WarningColor.RED
    assert warning.category == ScheduleCategory.BEHIND
    assert "已超期3个工作日" in warning.reason


def test_past_deadline_on_a_weekend_is_red_without_days():
    warning = _warning(_item(deadline=D(2026, 11, 13), percent_complete=90), D(2026, 11, 14))
    assert warning.color == WarningColor.RED
    assert "已超过完成时限" in warning.reason


def test_missing_report_is_red_with_due_date():
    warning = _warning(_item(last_report_period_end=None, percent_complete=70), TODAY)
    assert warning.color == WarningColor.RED
    assert "逾期未报送进展" in warning.reason
    assert "10月30日" in warning.reason  # October's report was due Friday 30 Oct


def test_no_report_owed_before_the_item_started():
    # Started 5 Nov: October ended before the start, so nothing is owed yet.
    warning = _warning(
        _item(last_report_period_end=None, start_date=D(2026, 11, 5), percent_complete=20), TODAY
    )
    assert "逾期未报送" not in warning.reason


def test_completion_requested_owes_no_report():
    warning = _warning(
        _item(status=ItemStatus.COMPLETION_REQUESTED, last_report_period_end=None, percent_complete=100),
        TODAY,
    )
    assert warning.color == WarningColor.GREEN


def test_behind_by_more_than_red_tolerance():
    expected = expected_percent(START, DEADLINE, TODAY)
    warning = _warning(_item(percent_complete=expected - 31), TODAY)
    assert warning.color == WarningColor.RED
    assert warning.category == ScheduleCategory.BEHIND
    assert "落后序时进度31个百分点" in warning.reason


def test_behind_by_more_than_yellow_tolerance():
    expected = expected_percent(START, DEADLINE, TODAY)
    warning = _warning(_item(percent_complete=expected - 30), TODAY)
    assert warning.color == WarningColor.YELLOW
    assert "落后序时进度30个百分点" in warning.reason
    warning = _warning(_item(percent_complete=expected - 11), TODAY)
    assert (warning.color, warning.reason) == (WarningColor.YELLOW, "落后序时进度11个百分点")


def test_within_tolerance_is_green():
    expected = expected_percent(START, DEADLINE, TODAY)
    warning = _warning(_item(percent_complete=expected - 10), TODAY)
    assert warning.color == WarningColor.GREEN
    assert warning.category == ScheduleCategory.ON_SCHEDULE
    assert warning.reason == "达到序时进度"


def test_due_soon_is_yellow():
    # Deadline Friday 20 Nov, two working days after Wednesday 18 Nov.
    warning = _warning(_item(deadline=D(2026, 11, 20), percent_complete=95), TODAY)
    assert warning.color == WarningColor.YELLOW
    assert warning.category == ScheduleCategory.ON_SCHEDULE
    assert "距完成时限还有2个工作日" in warning.reason


def test_due_today_is_yellow():
    warning = _warning(_item(deadline=TODAY, percent_complete=95), TODAY)
    assert (warning.color, warning.reason) == (WarningColor.YELLOW, "今日到期")


def test_not_yet_started_before_start_date():
    warning = _warning(
        _item(status=ItemStatus.ACCEPTED, start_date=D(2026, 12, 1), last_report_period_end=None), TODAY
    )
    assert warning.color == WarningColor.NOT_STARTED
    assert warning.category == ScheduleCategory.NOT_STARTED
    assert "尚未到开始日期" in warning.reason


def test_assigned_with_no_progress_is_not_started():
    warning = _warning(
        _item(status=ItemStatus.ASSIGNED, start_date=TODAY, last_report_period_end=None), TODAY
    )
    assert (warning.color, warning.reason) == (WarningColor.NOT_STARTED, "尚未启动")


def test_standing_item_has_no_schedule_but_owes_reports():
    standing = _item(is_standing=True, deadline=None, percent_complete=0)
    warning = _warning(standing, TODAY)
    assert (warning.color, warning.reason) == (WarningColor.GREEN, "达到序时进度")
    missing = _warning(_item(is_standing=True, deadline=None, last_report_period_end=None), TODAY)
    assert missing.color == WarningColor.RED
    assert "逾期未报送进展" in missing.reason


def test_ledger_thresholds_are_used():
    item = _item(percent_complete=expected_percent(START, DEADLINE, TODAY) - 6)
    assert _warning(item, TODAY).color == WarningColor.GREEN
    item.ledger.yellow_tolerance = 5
    assert _warning(item, TODAY).color == WarningColor.YELLOW
    item.ledger.red_tolerance = 5
    assert _warning(item, TODAY).color == WarningColor.RED


def test_item_with_children_owes_no_report_of_its_own():
    # Its progress rolls up from the children, who carry the reporting.
    parent = _item(last_report_period_end=None, percent_complete=expected_percent(START, DEADLINE, TODAY))
    assert "逾期未报送进展" in _warning(parent, TODAY).reason
    warning = _warning(parent, TODAY, has_children=True)
    assert (warning.color, warning.reason) == (WarningColor.GREEN, "达到序时进度")


def test_item_with_children_still_warns_on_schedule_and_deadline():
    behind = _item(
        last_report_period_end=None, percent_complete=expected_percent(START, DEADLINE, TODAY) - 31
    )
    warning = _warning(behind, TODAY, has_children=True)
    assert (warning.color, warning.reason) == (WarningColor.RED, "落后序时进度31个百分点")
    overdue = _warning(_item(last_report_period_end=None, deadline=D(2026, 11, 13)), TODAY, has_children=True)
    assert "已超期3个工作日" in overdue.reason
    standing = _item(is_standing=True, deadline=None, last_report_period_end=None)
    assert _warning(standing, TODAY, has_children=True).color == WarningColor.GREEN


def test_has_children_must_be_stated():
    with pytest.raises(TypeError):
        compute_warning(_item(), TODAY)  # the caller decides; no silent default for parents


def test_the_reason_is_stored_as_a_code_and_read_in_the_readers_language(world):
    from django.utils import translation

    from luoshi.ledgers.models import Item

    item = Item.objects.get(pk=world.item.pk)
    item.warning_reason_code, item.warning_reason_args = "behind", {"gap": 18}
    with translation.override("zh-hans"):
        assert item.warning_reason == "落后序时进度18个百分点"
    with translation.override("en"):
        assert "18" in item.warning_reason
        assert not any("\u4e00" <= char <= "\u9fff" for char in item.warning_reason)
