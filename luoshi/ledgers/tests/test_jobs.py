import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from luoshi.core.jobs import registered, run_job_now, run_until_idle
from luoshi.core.models import Heartbeat, JobRun, JobStatus
from luoshi.ledgers import services
from luoshi.ledgers.jobs import detect_overdue
from luoshi.ledgers.models import EventKind, Item, ItemEvent, ItemStatus, WarningColor

pytestmark = pytest.mark.django_db


def days_later(days: int) -> dt.datetime:
    """Noon local time, ``days`` from today."""
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def overdue_events(item=None):
    events = ItemEvent.objects.filter(kind=EventKind.OVERDUE)
    return events.filter(item=item) if item is not None else events


@pytest.fixture
def due_in_five(world):
    """An item in progress whose deadline is five days away."""
    item = world.advance(
        world.make_item(deadline=timezone.localdate() + dt.timedelta(days=5)), ItemStatus.IN_PROGRESS
    )
    return item


def test_an_unfinished_item_past_its_deadline_is_recorded_once(world, due_in_five):
    deadline = due_in_five.deadline

    assert detect_overdue(days_later(5)) == 0  # the deadline day itself is still in time
    assert detect_overdue(days_later(6)) == 1
    assert detect_overdue(days_later(6)) == 0
    assert detect_overdue(days_later(9)) == 0

    event = overdue_events(due_in_five).get()
    assert event.data == {"deadline": deadline.isoformat()}
    assert event.actor is None
    assert event.get_kind_display() == "已超期"


def test_finished_drafts_suspended_and_open_ended_items_are_not_overdue(world):
    past = timezone.localdate() + dt.timedelta(days=2)
    draft = world.make_item(deadline=past)
    completed = world.advance(world.make_item(deadline=past), ItemStatus.COMPLETED)
    suspended = world.advance(world.make_item(deadline=past), ItemStatus.SUSPENDED)
    open_ended = world.advance(world.make_item(deadline=None, is_standing=True), ItemStatus.IN_PROGRESS)
    assigned = world.advance(world.make_item(deadline=past), ItemStatus.ASSIGNED)

    assert detect_overdue(days_later(3)) == 1

    assert list(overdue_events().values_list("item", flat=True)) == [assigned.pk]
    for item in (draft, completed, suspended, open_ended):
        assert not overdue_events(item).exists()


def test_an_extended_deadline_is_recorded_again_when_it_passes_too(world, due_in_five):
    detect_overdue(days_later(6))
    item = Item.objects.get(pk=due_in_five.pk)
    extended = timezone.localdate() + dt.timedelta(days=20)
    services.update_item(item=item, user=world.supervisor, version=item.version, deadline=extended)

    assert detect_overdue(days_later(20)) == 0
    assert detect_overdue(days_later(21)) == 1
    assert detect_overdue(days_later(22)) == 0

    recorded = sorted(
        overdue_events(due_in_five).values_list("data", flat=True), key=lambda data: data["deadline"]
    )
    assert recorded == [
        {"deadline": (timezone.localdate() + dt.timedelta(days=5)).isoformat()},
        {"deadline": extended.isoformat()},
    ]


def test_detection_costs_the_same_queries_for_any_number_of_items(world):
    def make(count):
        past = timezone.localdate() + dt.timedelta(days=1)
        items = [world.make_item(deadline=past) for _ in range(count)]
        Item.objects.filter(pk__in=[item.pk for item in items]).update(status=ItemStatus.IN_PROGRESS)

    make(2)
    with CaptureQueriesContext(connection) as few:
        assert detect_overdue(days_later(2)) == 2
    make(20)
    with CaptureQueriesContext(connection) as many:
        assert detect_overdue(days_later(2)) == 20

    assert len(many) == len(few)
    assert overdue_events().count() == 22


def test_the_scheduled_job_runs_once_a_day(world, due_in_five):
    for days in (6, 6, 7):
        with time_machine.travel(days_later(days), tick=False):
            run_until_idle()

    runs = JobRun.objects.filter(name="ledgers.detect_overdue").order_by("slot")
    assert [run.status for run in runs] == [JobStatus.DONE, JobStatus.DONE]
    assert runs[0].result == {"day": timezone.localdate(days_later(6)).isoformat(), "recorded": 1}
    assert runs[1].result["recorded"] == 0
    assert overdue_events(due_in_five).count() == 1


def test_refresh_warnings_job_refreshes_once_and_beats(world, due_in_five):
    assert registered()["ledgers.refresh_warnings"].schedule.latest_slot(days_later(1)).hour == 0
    later = days_later(6)

    first = run_job_now("ledgers.refresh_warnings", later)
    second = run_job_now("ledgers.refresh_warnings", later)

    assert first.status == JobStatus.DONE and first.result["updated"] >= 2
    assert second.result["updated"] == 0
    item = Item.objects.get(pk=due_in_five.pk)
    assert item.warning_as_of == timezone.localdate(later)
    assert item.warning_color == WarningColor.RED
    assert item.warning_reason_code in {"overdue", "past_deadline"}
    assert Heartbeat.objects.filter(name="refresh_warnings").exists()
