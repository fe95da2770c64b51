"""The reminder and digest jobs: who is told what, once per key, and at a cost that does not grow per item."""

import datetime as dt
import zoneinfo

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from luoshi.core.jobs import registered
from luoshi.ledgers.models import ItemStatus, ReportCycle
from luoshi.ledgers.services import save_report
from luoshi.notifications.models import Event, Notification
from luoshi.supervision import services

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def _item(world, deadline=dt.date(2026, 12, 31), **fields):
    with time_machine.travel(at(dt.date(2026, 11, 2)), tick=False):
        item = world.make_item(
            owner=world.handler,
            start_date=dt.date(2026, 11, 2),
            deadline=deadline,
            report_cycle=ReportCycle.MONTHLY,
            **fields,
        )
        return world.advance(item, ItemStatus.IN_PROGRESS)


def test_the_jobs_are_scheduled():
    jobs = registered()
    assert str(jobs["supervision.escalate"].schedule) == "daily 07:00"
    assert str(jobs["supervision.report_reminders"].schedule) == "daily 08:00"
    assert str(jobs["supervision.deadline_reminders"].schedule) == "daily 08:00"
    assert str(jobs["supervision.leader_digest"].schedule) == "daily 07:30"
    assert str(jobs["supervision.leader_digest_weekly"].schedule) == "weekly 0 07:30"


def test_report_reminder_before_the_period_closes_once_and_not_after_a_report(world):
    item = _item(world)
    # November 2026 closes on Monday the 30th: two working days before is Thursday the 26th.
    assert services.report_reminders(on=dt.date(2026, 11, 25)) == {"due": 0, "sent": 0}
    assert services.report_reminders(on=dt.date(2026, 11, 26)) == {"due": 1, "sent": 1}
    assert services.report_reminders(on=dt.date(2026, 11, 27)) == {"due": 1, "sent": 0}
    told = Notification.objects.filter(event=Event.REPORT_DUE, key=f"report_due:{item.pk}:2026-11-30")
    assert sorted(told.values_list("recipient__username", flat=True)) == ["handler", "lead_liaison"]
    assert "2026-11-30" in told.first().body

    with time_machine.travel(at(dt.date(2026, 12, 28)), tick=False):
        save_report(item=item, user=world.lead_liaison, text="已完成年度任务", percent_complete=90)
    assert services.report_reminders(on=dt.date(2026, 12, 29))["due"] == 0


def test_deadline_reminder_within_the_ledgers_due_soon_days(world):
    item = _item(world, deadline=dt.date(2026, 12, 4))  # a Friday; due_soon_days is 3
    assert services.deadline_reminders(on=dt.date(2026, 11, 30))["due"] == 0
    assert services.deadline_reminders(on=dt.date(2026, 12, 1)) == {"due": 1, "sent": 1}
    assert services.deadline_reminders(on=dt.date(2026, 12, 2)) == {"due": 1, "sent": 0}
    told = Notification.objects.filter(event=Event.DEADLINE_NEAR, key=f"deadline:{item.pk}:2026-12-04")
    assert sorted(told.values_list("recipient__username", flat=True)) == ["handler", "lead_liaison"]
    # The ladder's reminder rung on the same deadline sends nothing more.
    assert services.escalate(on=dt.date(2026, 12, 2))["remind"] == 1
    assert told.count() == 2


def test_digest_lists_what_the_leader_is_in_charge_of(world):
    late = _item(world, deadline=dt.date(2026, 11, 20), title="逾期的事项")
    _item(world, deadline=dt.date(2026, 12, 31), title="正常的事项")
    with time_machine.travel(at(dt.date(2026, 11, 24)), tick=False):
        services.urge(items=[late], user=world.supervisor, message="加快")
    on = dt.date(2026, 11, 25)

    assert services.leader_digest(on=on)["sent"] == 1
    assert services.leader_digest(on=on)["sent"] == 0
    digest = Notification.objects.get(event=Event.DIGEST, recipient=world.leader)
    assert digest.key == f"digest:daily:{world.leader.pk}:{on.isoformat()}"
    assert "分管在办事项2项" in digest.body
    assert "已超期1项" in digest.body
    assert "催办1次" in digest.body
    # Leaders in charge of nothing get an empty summary, not someone else's items.
    assert not Notification.objects.filter(event=Event.DIGEST).exclude(recipient=world.leader).exists()


def test_no_daily_digest_on_a_day_off(world):
    assert services.leader_digest(on=dt.date(2026, 10, 3)) == {"sent": 0}
    assert services.leader_digest(on=dt.date(2026, 10, 3), weekly=True)["sent"] == 1


def _cost(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_reminder_jobs_cost_the_same_for_10_and_100_items(world, django_assert_max_num_queries):
    def add(count):
        for _ in range(count):
            _item(world, deadline=dt.date(2026, 12, 4))

    def rerun():
        # Already reminded of everything: the jobs read in bulk and send nothing.
        assert services.report_reminders(on=dt.date(2026, 11, 26))["sent"] == 0
        assert services.deadline_reminders(on=dt.date(2026, 12, 1))["sent"] == 0
        assert services.escalate(on=dt.date(2026, 12, 1))["remind"] == 0
        assert services.leader_digest(on=dt.date(2026, 12, 1))["sent"] == 0

    def first_run():
        services.report_reminders(on=dt.date(2026, 11, 26))
        services.deadline_reminders(on=dt.date(2026, 12, 1))
        services.escalate(on=dt.date(2026, 12, 1))
        services.leader_digest(on=dt.date(2026, 12, 1))

    add(10)
    first_run()
    small = _cost(rerun)
    add(90)
    services.report_reminders(on=dt.date(2026, 11, 26))
    services.deadline_reminders(on=dt.date(2026, 12, 1))
    services.escalate(on=dt.date(2026, 12, 1))
    with django_assert_max_num_queries(small):
        rerun()
    # The digest reads per leader, never per item.
    Notification.objects.filter(event=Event.DIGEST).delete()
    with django_assert_max_num_queries(30):
        assert services.leader_digest(on=dt.date(2026, 12, 1))["sent"] == 1
