"""The ladder walked day by day on a controlled clock, across 国庆 2026 (10-01..07 off, Saturday 10-10 worked).

An item due Wednesday 2026-09-30 gets its reminder three working days before (Thursday 09-24: Friday
09-25 is 中秋), its 催办单 on the first working day after the holiday (10-08), its 督办通知单 five working
days late (10-13, counting the make-up Saturday) and is put to the leaders' meeting ten days late (10-20);
each exactly once, whatever re-runs the jobs.
"""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core import calendar
from luoshi.core.jobs import run_job_now, run_until_idle
from luoshi.ledgers.models import EventKind, ItemStatus
from luoshi.notifications.models import Event, Notification
from luoshi.supervision import services
from luoshi.supervision.models import Escalation, EscalationAction, OrderKind, SupervisionOrder, Urge
from luoshi.supervision.tests.ladders import deadline_ladder_only
from luoshi.testing.databases import at_once, file_database

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
DEADLINE = dt.date(2026, 9, 30)
A = EscalationAction


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def _item(world, deadline=DEADLINE, status=ItemStatus.IN_PROGRESS):
    with time_machine.travel(at(dt.date(2026, 9, 1)), tick=False):
        item = world.make_item(
            title="国庆前完成的事项",
            owner=world.handler,
            lead_leader=world.leader,
            start_date=dt.date(2026, 9, 1),
            deadline=deadline,
        )
        return world.advance(item, status)


def _days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def test_the_calendar_knows_the_2026_national_day_holiday(db):
    assert not any(calendar.is_working_day(day) for day in _days(dt.date(2026, 10, 1), dt.date(2026, 10, 7)))
    assert calendar.is_working_day(dt.date(2026, 10, 10))  # a Saturday worked in exchange
    assert not calendar.is_working_day(dt.date(2026, 9, 25))  # 中秋节
    assert calendar.add_working_days(DEADLINE, 1) == dt.date(2026, 10, 8)
    assert calendar.add_working_days(DEADLINE, 5) == dt.date(2026, 10, 13)
    assert calendar.add_working_days(DEADLINE, -3) == dt.date(2026, 9, 24)


# Committed for real: the job worker checks its connection between tasks as a worker process does.
@pytest.mark.django_db(transaction=True)
def test_walk_day_by_day_through_the_holiday(world):
    deadline_ladder_only(world)
    item = _item(world)
    reached, reminded_on, digests = {}, None, {}
    reminders = Notification.objects.filter(event=Event.DEADLINE_NEAR, key__contains=f":{item.pk}:")
    for day in _days(dt.date(2026, 9, 20), dt.date(2026, 10, 21)):
        with time_machine.travel(at(day), tick=False):
            run_until_idle(at(day))
            # A job run again by hand, and the service called again, find nothing new to do.
            run_job_now("supervision.escalate", at(day, 10))
            assert sum(services.escalate(on=day).values()) == 0
            assert services.deadline_reminders(on=day)["sent"] == 0
            assert services.leader_digest(on=day)["sent"] == 0
        for escalation in Escalation.objects.filter(item=item).exclude(action__in=reached):
            reached[escalation.action] = day
        if reminded_on is None and reminders.exists():
            reminded_on = day
        digest = Notification.objects.filter(
            recipient=world.leader, key=f"digest:daily:{world.leader.pk}:{day}"
        )
        if digest.exists():
            digests[day] = digest.get().body

    assert reminded_on == dt.date(2026, 9, 24)
    # To the owner and the lead unit's liaison, once: the ladder's reminder and the reminder job share a key.
    assert sorted(reminders.values_list("recipient__username", flat=True)) == ["handler", "lead_liaison"]
    assert reached == {
        A.REMIND: dt.date(2026, 9, 24),
        A.URGE_NOTICE: dt.date(2026, 10, 8),
        A.SUPERVISION_NOTICE: dt.date(2026, 10, 13),
        A.LEADERS_MEETING: dt.date(2026, 10, 20),
    }
    assert Escalation.objects.filter(item=item).count() == 4
    orders = SupervisionOrder.objects.order_by("issued_on")
    assert [(order.kind, order.issued_on, order.issued_by) for order in orders] == [
        (OrderKind.URGE_NOTICE, dt.date(2026, 10, 8), None),
        (OrderKind.SUPERVISION_NOTICE, dt.date(2026, 10, 13), None),
    ]
    assert [list(order.copy_to.all()) for order in orders] == [[world.leader], [world.leader]]
    assert orders[0].number == "催〔2026〕1号"
    # The 催办单 counts as an urging of the item and its unit.
    assert Urge.objects.get(item=item).escalation.action == A.URGE_NOTICE
    item.refresh_from_db()
    assert item.urge_count == 1
    rule_texts = list(
        item.events.filter(kind=EventKind.ESCALATED).order_by("id").values_list("comment", flat=True)
    )
    assert rule_texts == [
        "到期前3个工作日：到期提醒",
        "超期1个工作日：催办单",
        "超期5个工作日：督办通知单",
        "超期10个工作日：提请领导会议研究",
    ]
    meeting = Notification.objects.filter(event=Event.ESCALATED, title__startswith="提请领导会议研究")
    assert sorted(meeting.values_list("recipient__username", flat=True)) == ["leader", "supervisor"]

    # Daily digests only on working days (Saturday 10-10 included), one each.
    assert dt.date(2026, 10, 3) not in digests and dt.date(2026, 10, 10) in digests
    assert (
        "新超期1项" in digests[dt.date(2026, 10, 8)] and "国庆前完成的事项" in digests[dt.date(2026, 10, 8)]
    )
    assert "催办1次，下发督办单（通知）1份" in digests[dt.date(2026, 10, 9)]
    assert "已超期1项" in digests[dt.date(2026, 10, 9)]
    weekly = Notification.objects.get(key=f"digest:weekly:{world.leader.pk}:2026-10-12")
    assert "催办1次" in weekly.body and weekly.event == Event.DIGEST
    # Weekly on Mondays: the first run of the walk (Sunday 09-20, a make-up working day) sends the week's
    # due since Monday 09-14, then each Monday once, the holiday's included.
    weeklies = Notification.objects.filter(key__startswith=f"digest:weekly:{world.leader.pk}:")
    assert sorted(key.rsplit(":", 1)[1] for key in weeklies.values_list("key", flat=True)) == [
        "2026-09-14",
        "2026-09-21",
        "2026-09-28",
        "2026-10-05",
        "2026-10-12",
        "2026-10-19",
    ]
    assert dt.date(2026, 9, 20) in digests
    assert Notification.objects.filter(event=Event.DIGEST, recipient=world.leader).count() == len(digests) + 6


def test_an_item_found_late_takes_only_the_highest_rung_due(world):
    item = _item(world)
    counts = services.escalate(on=dt.date(2026, 10, 14))
    assert counts[A.SUPERVISION_NOTICE] == 1 and counts[A.URGE_NOTICE] == counts[A.REMIND] == 0
    assert list(Escalation.objects.filter(item=item).values_list("action", flat=True)) == [
        A.SUPERVISION_NOTICE
    ]
    # Lower rungs are never taken afterwards for the same deadline.
    assert sum(services.escalate(on=dt.date(2026, 10, 15)).values()) == 0


def test_an_extended_deadline_starts_the_ladder_afresh(world):
    deadline_ladder_only(world)
    item = _item(world)
    services.escalate(on=dt.date(2026, 10, 8))
    from luoshi.ledgers.services import update_item

    with time_machine.travel(at(dt.date(2026, 10, 9)), tick=False):
        item = update_item(
            item=item, user=world.supervisor, version=item.version, deadline=dt.date(2026, 10, 30)
        )
    assert services.escalate(on=dt.date(2026, 10, 27))[A.REMIND] == 1
    assert services.escalate(on=dt.date(2026, 11, 2))[A.URGE_NOTICE] == 1
    assert set(Escalation.objects.filter(item=item).values_list("deadline", "action")) == {
        (DEADLINE, A.URGE_NOTICE),
        (dt.date(2026, 10, 30), A.REMIND),
        (dt.date(2026, 10, 30), A.URGE_NOTICE),
    }


def test_an_item_with_an_open_instruction_starts_at_the_urgent_rung(world):
    item = _item(world)
    type(item).objects.filter(pk=item.pk).update(open_instructions=1)
    counts = services.escalate(on=dt.date(2026, 10, 8))
    assert counts[A.SUPERVISION_NOTICE] == 1 and counts[A.URGE_NOTICE] == 0
    escalation = Escalation.objects.get(item=item)
    assert escalation.rule_text == "领导批示事项超期1个工作日：督办通知单"
    assert escalation.order.kind == OrderKind.SUPERVISION_NOTICE


def test_the_three_colour_ladder_issues_coloured_notices(world):
    services.save_policy(
        ledger=world.ledger,
        user=world.supervisor,
        style="three_colour",
        is_active=True,
        urgent_start=A.ORANGE_NOTICE,
        rungs=[
            (A.REMIND, -3),
            (A.BLUE_NOTICE, 1),
            (A.ORANGE_NOTICE, 3),
            (A.RED_NOTICE, 5),
            (A.INTERVIEW, 10),
        ],
        on_yellow=A.URGE,
        on_red=A.BLUE_NOTICE,
    )
    item = _item(world)
    urgent = _item(world)
    type(urgent).objects.filter(pk=urgent.pk).update(open_instructions=2)
    for day in (dt.date(2026, 10, 8), dt.date(2026, 10, 10), dt.date(2026, 10, 13)):
        services.escalate(on=day)
    colours = {
        (escalation.item_id, escalation.order.colour)
        for escalation in Escalation.objects.filter(order__isnull=False).select_related("order")
    }
    assert colours == {
        (item.pk, "blue"),
        (item.pk, "orange"),
        (item.pk, "red"),
        (urgent.pk, "orange"),  # a leader's instruction skips blue
        (urgent.pk, "red"),
    }
    assert SupervisionOrder.objects.filter(kind=OrderKind.INSPECTION_NOTICE).count() == 5


def test_an_inactive_ladder_does_nothing(world):
    services.save_policy(
        ledger=world.ledger,
        user=world.supervisor,
        style="standard",
        is_active=False,
        urgent_start=A.SUPERVISION_NOTICE,
        rungs=[(A.REMIND, -3), (A.SUPERVISION_NOTICE, 1)],
        on_yellow=A.URGE,
        on_red=A.SUPERVISION_NOTICE,
    )
    _item(world)
    assert sum(services.escalate(on=dt.date(2026, 10, 20)).values()) == 0


def test_finished_items_are_left_alone(world):
    _item(world, status=ItemStatus.COMPLETED)
    assert sum(services.escalate(on=dt.date(2026, 10, 20)).values()) == 0


def test_the_scan_does_not_grow_with_the_items(world, django_assert_max_num_queries):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    def rerun_cost(count):
        for _ in range(count):
            _item(world)
        services.escalate(on=dt.date(2026, 10, 8))  # the first run acts on each item
        with CaptureQueriesContext(db) as queries:
            assert sum(services.escalate(on=dt.date(2026, 10, 9)).values()) == 0
        return len(queries)

    small = rerun_cost(10)
    with django_assert_max_num_queries(small):
        assert sum(services.escalate(on=dt.date(2026, 10, 9)).values()) == 0
    rerun_cost(90)
    with django_assert_max_num_queries(small):
        assert sum(services.escalate(on=dt.date(2026, 10, 9)).values()) == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_escalate_once(world, tmp_path):
    item = _item(world)
    with file_database(tmp_path):
        _done, first = at_once(lambda: services.escalate(on=dt.date(2026, 10, 8)))
        with time_machine.travel(at(dt.date(2026, 10, 13)), tick=False):
            _done, second = at_once(lambda: run_until_idle(at(dt.date(2026, 10, 13))))

        assert first + second == []
        assert sorted(Escalation.objects.filter(item=item).values_list("action", flat=True)) == [
            A.SUPERVISION_NOTICE,
            A.URGE_NOTICE,
        ]
        assert SupervisionOrder.objects.count() == 2
        assert Urge.objects.count() == 1
        assert item.events.filter(kind=EventKind.ESCALATED).count() == 2
        assert (
            Notification.objects.filter(event=Event.ORDER_ISSUED, recipient=world.lead_liaison).count() == 2
        )


def test_a_run_stopped_half_way_keeps_whole_batches_and_the_next_takes_the_rest(world, monkeypatch):
    deadline_ladder_only(world)
    first, second = _item(world), _item(world)
    monkeypatch.setattr(services, "ESCALATION_BATCH", 1)
    real_issue = services._issue_rule_notices
    calls = []

    def issue_then_fail(escalations, on):
        calls.append([escalation.item_id for escalation in escalations])
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return real_issue(escalations, on)

    monkeypatch.setattr(services, "_issue_rule_notices", issue_then_fail)
    with pytest.raises(RuntimeError):
        services.escalate(on=dt.date(2026, 10, 8))
    # The first batch is committed whole; nothing of the second was written.
    assert list(Escalation.objects.values_list("item_id", "action")) == [(first.pk, A.URGE_NOTICE)]
    assert list(SupervisionOrder.objects.values_list("items", flat=True)) == [first.pk]

    monkeypatch.setattr(services, "_issue_rule_notices", real_issue)
    assert services.escalate(on=dt.date(2026, 10, 8))[A.URGE_NOTICE] == 1
    assert set(Escalation.objects.values_list("item_id", flat=True)) == {first.pk, second.pk}
    assert SupervisionOrder.objects.count() == 2


def test_rule_notices_are_numbered_copied_recorded_and_announced_together(world):
    deadline_ladder_only(world)
    manual = services.issue_order(
        office=world.office,
        organisation=world.lead_unit,
        items=[world.item],
        subject="催办单",
        content="请报送。",
        reply_deadline=dt.date(2026, 10, 12),
        kind=OrderKind.URGE_NOTICE,
        user=world.supervisor,
        on=dt.date(2026, 10, 8),
    )
    first, second = _item(world), _item(world)
    assert services.escalate(on=dt.date(2026, 10, 8))[A.URGE_NOTICE] == 2

    orders = list(SupervisionOrder.objects.exclude(pk=manual.pk).order_by("serial"))
    assert [order.number for order in orders] == ["催〔2026〕2号", "催〔2026〕3号"]
    assert [list(order.items.all()) for order in orders] == [[first], [second]]
    assert [list(order.copy_to.all()) for order in orders] == [[world.leader], [world.leader]]
    # Three working days, the make-up Saturday 10-10 among them.
    assert [order.reply_deadline for order in orders] == [dt.date(2026, 10, 12)] * 2
    assert [e.order for e in Escalation.objects.order_by("item_id")] == orders
    assert [list(order.events.values_list("action", flat=True)) for order in orders] == [
        ["issued"],
        ["issued"],
    ]
    assert first.events.get(kind=EventKind.ORDER_ISSUED).data["number"] == "催〔2026〕2号"
    audit = AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="supervision.SupervisionOrder")
    assert audit.latest("sequence").after["numbers"] == ["催〔2026〕2号", "催〔2026〕3号"]
    told = Notification.objects.filter(event=Event.ORDER_ISSUED, key__in=[f"order:{o.pk}" for o in orders])
    assert sorted(told.values_list("recipient__username", flat=True)) == sorted(
        ["lead_liaison", "handler", "leader"] * 2
    )


def test_a_rule_notice_number_taken_meanwhile_is_retried(world, monkeypatch):
    deadline_ladder_only(world)
    _item(world)
    real = services._last_serials
    stale = iter([{}])

    def stale_then_real(orders):
        answer = next(stale, None)
        if answer is not None:
            # Another issuer takes 催〔2026〕1号 between our reading and our insert.
            services.issue_order(
                office=world.office,
                organisation=world.lead_unit,
                items=[world.item],
                subject="催办单",
                content="请报送。",
                reply_deadline=dt.date(2026, 10, 12),
                kind=OrderKind.URGE_NOTICE,
                user=world.supervisor,
                on=dt.date(2026, 10, 8),
            )
            return answer
        return real(orders)

    monkeypatch.setattr(services, "_last_serials", stale_then_real)
    services.escalate(on=dt.date(2026, 10, 8))
    assert sorted(SupervisionOrder.objects.values_list("serial", flat=True)) == [1, 2]
    assert Escalation.objects.get().order.number == "催〔2026〕2号"
