"""Warnings before the deadline climb the ladder: a lagging item is urged when it turns yellow and sent a
督办通知单 when it turns red, each once per deadline, on a controlled clock and through the daily jobs.

The item runs from Thursday 2026-10-08 (the first working day after 国庆) to 2026-12-31 and is reported
on once, at 10 %, on 10-09. As the working days pass it falls behind its schedule (序时进度): more than
the ledger's 10 points behind it turns yellow, more than 30 points red.
"""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from luoshi.core.calendar import is_working_day
from luoshi.core.jobs import run_job_now, run_until_idle
from luoshi.ledgers.models import EventKind, Item, ItemStatus, ScheduleCategory, WarningColor
from luoshi.ledgers.services import save_report
from luoshi.ledgers.warnings import expected_percent
from luoshi.notifications.models import Event, Notification
from luoshi.supervision import services
from luoshi.supervision.models import Escalation, EscalationAction, OrderKind, SupervisionOrder, Urge
from luoshi.supervision.tests.ladders import deadline_ladder_only
from luoshi.testing.databases import at_once, file_database

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
START, DEADLINE = dt.date(2026, 10, 8), dt.date(2026, 12, 31)
A = EscalationAction


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def _days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def _lagging_item(world, **fields):
    with time_machine.travel(at(START), tick=False):
        item = world.make_item(
            title="年底前完成的事项",
            owner=world.handler,
            lead_leader=world.leader,
            start_date=START,
            deadline=DEADLINE,
            **fields,
        )
        item = world.advance(item, ItemStatus.IN_PROGRESS)
    save_report(
        item=item, user=world.lead_liaison, text="已启动", percent_complete=10, now=at(dt.date(2026, 10, 9))
    )
    return Item.objects.get(pk=item.pk)


def _warn(item, colour, code, args=None, category=ScheduleCategory.BEHIND) -> None:
    """Store a warning on ``item`` as the morning's refresh would have."""
    Item.objects.filter(pk=item.pk).update(
        warning_color=colour,
        schedule_category=category,
        warning_reason_code=code,
        warning_reason_args=args or {},
    )


def _first_day_behind_by(points: int) -> dt.date:
    """The first day the 10 % reported is more than ``points`` behind the schedule."""
    return next(day for day in _days(START, DEADLINE) if expected_percent(START, DEADLINE, day) - 10 > points)


def _working_day_from(day: dt.date) -> dt.date:
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


@pytest.mark.django_db(transaction=True)
def test_yellow_urges_and_red_issues_a_notice_once_each(world):
    item = _lagging_item(world)
    colours, reached = {}, {}
    for day in _days(dt.date(2026, 10, 9), dt.date(2026, 11, 30)):
        with time_machine.travel(at(day), tick=False):
            run_until_idle(at(day))
            # The job run again by hand and the service called again find nothing new.
            run_job_now("supervision.escalate", at(day, 10))
            assert sum(services.escalate(on=day).values()) == 0
        colour = Item.objects.get(pk=item.pk).warning_color
        colours.setdefault(colour, day)
        for escalation in Escalation.objects.filter(item=item).exclude(action__in=reached):
            reached[escalation.action] = day

    turned_yellow, turned_red = colours[WarningColor.YELLOW], colours[WarningColor.RED]
    # The one warning calculator decides the days; the ladder follows them on the same morning.
    assert (turned_yellow, turned_red) == (_first_day_behind_by(10), _first_day_behind_by(30))
    # Turning red on a working day: the notice below is dated as the office works.
    assert turned_yellow < turned_red < DEADLINE
    assert reached == {
        A.URGE: _working_day_from(turned_yellow),
        A.SUPERVISION_NOTICE: _working_day_from(turned_red),
    }

    urge = Urge.objects.get(item=item)
    assert (urge.urged_by, urge.escalation.action, urge.organisation) == (None, A.URGE, world.lead_unit)
    assert urge.message.startswith("黄色预警（落后序时进度")
    assert urge.message.endswith("）：催办。请抓紧推进并按时报送进展。")
    told = Notification.objects.filter(key=f"urge:{urge.pk}", event=Event.URGED)
    assert set(told.values_list("recipient__username", flat=True)) == {"lead_liaison", "handler", "leader"}

    order = SupervisionOrder.objects.get()
    assert (order.kind, order.issued_on, order.issued_by, order.organisation) == (
        OrderKind.SUPERVISION_NOTICE,
        _working_day_from(turned_red),
        None,
        world.lead_unit,
    )
    assert list(order.copy_to.all()) == [world.leader]
    assert "红色预警（落后序时进度" in order.content

    stored = Item.objects.get(pk=item.pk)
    assert stored.urge_count == 1
    rules = list(
        stored.events.filter(kind=EventKind.ESCALATED).order_by("id").values_list("comment", flat=True)
    )
    assert len(rules) == 2
    assert rules[0].startswith("黄色预警（落后序时进度") and rules[0].endswith("）：催办")
    assert rules[1].startswith("红色预警（落后序时进度") and rules[1].endswith("）：督办通知单")


def test_a_red_item_is_not_sent_the_lower_notices_of_its_deadline_afterwards(world):
    item = _lagging_item(world)
    _warn(item, WarningColor.RED, "behind", {"gap": 35})
    assert services.escalate(on=dt.date(2026, 11, 20))[A.SUPERVISION_NOTICE] == 1
    # Past the deadline the offsets govern: the 催办单 (+1) is lower than the notice already sent, the
    # 督办通知单 (+5) was sent for this deadline, and the leaders' meeting (+10) comes in its turn.
    for day in (dt.date(2027, 1, 4), dt.date(2027, 1, 8)):
        assert sum(services.escalate(on=day).values()) == 0
    assert services.escalate(on=dt.date(2027, 1, 15))[A.LEADERS_MEETING] == 1
    assert list(Escalation.objects.filter(item=item).order_by("id").values_list("action", flat=True)) == [
        A.SUPERVISION_NOTICE,
        A.LEADERS_MEETING,
    ]


@pytest.mark.parametrize(
    ("colour", "category", "code"),
    [
        (WarningColor.YELLOW, ScheduleCategory.ON_SCHEDULE, "due_soon"),  # punctual, only near its deadline
        (WarningColor.GREEN, ScheduleCategory.ON_SCHEDULE, "on_schedule"),
    ],
)
def test_a_punctual_item_is_not_urged(world, colour, category, code):
    item = _lagging_item(world)
    _warn(item, colour, code, category=category)
    # Three working days before the deadline: the reminder, and nothing that counts against the unit.
    counts = services.escalate(on=dt.date(2026, 12, 28))
    assert {action: n for action, n in counts.items() if n} == {A.REMIND: 1}
    assert not Urge.objects.exists()


def test_warnings_reach_nothing_where_the_ledger_says_so(world):
    deadline_ladder_only(world)
    item = _lagging_item(world)
    _warn(item, WarningColor.RED, "behind", {"gap": 40})
    assert sum(services.escalate(on=dt.date(2026, 11, 20)).values()) == 0


def test_yellow_and_red_on_the_same_day_take_the_higher_rung_only(world):
    item = _lagging_item(world)
    _warn(item, WarningColor.RED, "report_missing", {"month": 11, "day": 4})
    counts = services.escalate(on=dt.date(2026, 11, 20))
    assert (counts[A.SUPERVISION_NOTICE], counts[A.URGE]) == (1, 0)
    assert (
        Escalation.objects.get(item=item).rule_text
        == "红色预警（逾期未报送进展（应于11月4日前报送））：督办通知单"
    )
    # Yellow afterwards is below the rung reached: nothing more.
    Item.objects.filter(pk=item.pk).update(warning_color=WarningColor.YELLOW)
    assert sum(services.escalate(on=dt.date(2026, 11, 23)).values()) == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_morning_it_turns_yellow_urge_once(world, tmp_path):
    item = _lagging_item(world)
    day = _working_day_from(_first_day_behind_by(10))
    with file_database(tmp_path):
        with time_machine.travel(at(day), tick=False):
            _claimed, errors = at_once(lambda: run_until_idle(at(day)))
            _counts, again = at_once(lambda: services.escalate(on=day))

        assert errors + again == []
        assert Item.objects.get(pk=item.pk).warning_color == WarningColor.YELLOW
        assert list(Escalation.objects.filter(item=item).values_list("action", flat=True)) == [A.URGE]
        assert Urge.objects.filter(item=item).count() == 1
        assert Item.objects.get(pk=item.pk).urge_count == 1
        assert Notification.objects.filter(event=Event.URGED, recipient=world.lead_liaison).count() == 1
