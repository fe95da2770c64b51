import datetime as dt
import os
import signal
import threading
import zoneinfo
from io import StringIO

import fakeredis
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django_tasks import task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from luoshi import cli
from luoshi.core import jobs
from luoshi.core.health import check_worker
from luoshi.core.jobs import (
    Daily,
    Every,
    Weekly,
    periodic,
    registered,
    run_job_now,
    run_until_idle,
    schedule_due_jobs,
)
from luoshi.core.models import Heartbeat, JobRun, JobStatus
from luoshi.settings import tasks_from_env
from luoshi.testing.databases import at_once, file_database

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(year, month, day, hour=0, minute=0, second=0):
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


class Calls:
    """What the test jobs were asked to do, from any thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.slots: list[tuple[str, dt.datetime]] = []

    def add(self, name, now):
        with self.lock:
            self.slots.append((name, now))

    def of(self, name):
        return [slot for job, slot in self.slots if job == name]


@pytest.fixture
def calls(monkeypatch):
    """A registry holding only the test's own jobs, and a record of their calls."""
    registered()  # the apps' jobs go into the real registry, not into this test's
    monkeypatch.setattr(jobs, "_registry", {})
    monkeypatch.setattr(jobs, "_discovered", True)
    return Calls()


def declare(calls, name, schedule, *, fail=False):
    @periodic(name, schedule)
    def job(*, now):
        calls.add(name, now)
        if fail:
            raise RuntimeError("the mail server did not answer")
        return {"slot": now.isoformat()}

    return job


# Schedules ----------------------------------------------------------------------------------------


def test_daily_slot_is_today_once_its_time_has_come_and_yesterday_before():
    daily = Daily(2, 30)

    assert daily.latest_slot(at(2026, 11, 23, 2, 29, 59)) == at(2026, 11, 22, 2, 30)
    assert daily.latest_slot(at(2026, 11, 23, 2, 30)) == at(2026, 11, 23, 2, 30)
    assert daily.latest_slot(at(2026, 11, 23, 23, 59)) == at(2026, 11, 23, 2, 30)
    # Across a month and a year, and from a UTC instant that is already the next local day.
    assert daily.latest_slot(at(2027, 1, 1, 1)) == at(2026, 12, 31, 2, 30)
    utc = dt.datetime(2026, 11, 30, 18, 45, tzinfo=dt.UTC)  # 12-01 02:45 in Shanghai
    assert daily.latest_slot(utc) == at(2026, 12, 1, 2, 30)


def test_weekly_slot_is_the_latest_such_weekday():
    monday_nine = Weekly(0, 9)

    assert monday_nine.latest_slot(at(2026, 11, 25, 12)) == at(2026, 11, 23, 9)  # Wednesday
    assert monday_nine.latest_slot(at(2026, 11, 23, 9)) == at(2026, 11, 23, 9)
    assert monday_nine.latest_slot(at(2026, 11, 23, 8, 59)) == at(2026, 11, 16, 9)
    assert Weekly(6, 22, 15).latest_slot(at(2026, 12, 1, 8)) == at(2026, 11, 29, 22, 15)


def test_every_counts_from_local_midnight():
    quarter = Every(15)

    assert quarter.latest_slot(at(2026, 11, 23, 10, 44, 59)) == at(2026, 11, 23, 10, 30)
    assert quarter.latest_slot(at(2026, 11, 23, 10, 45)) == at(2026, 11, 23, 10, 45)
    assert quarter.latest_slot(at(2026, 11, 24, 0, 5)) == at(2026, 11, 24, 0, 0)
    assert Every(360).latest_slot(at(2026, 11, 23, 5, 59)) == at(2026, 11, 23, 0, 0)
    with pytest.raises(ValueError, match="divide a day"):
        Every(7)


def test_slots_are_in_the_local_time_zone():
    slot = Daily(1).latest_slot(at(2026, 11, 23, 12))

    assert slot.utcoffset() == dt.timedelta(hours=8)


# Registry -----------------------------------------------------------------------------------------


def test_the_apps_jobs_are_discovered():
    names = set(registered())

    assert {"ledgers.refresh_warnings", "ledgers.detect_overdue"} <= names


def test_two_jobs_may_not_share_a_name(calls):
    declare(calls, "twice", Daily(1))

    with pytest.raises(ValueError, match="twice"):

        @periodic("twice", Daily(2))
        def other(*, now):
            return None


# Scheduling ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_slot_runs_once_however_often_the_worker_looks(calls):
    declare(calls, "digest", Daily(7))
    declare(calls, "poll", Every(30))

    with time_machine.travel(at(2026, 11, 23, 7, 10), tick=False):
        first = run_until_idle()
        again = run_until_idle()
        schedule_due_jobs()
    with time_machine.travel(at(2026, 11, 23, 7, 29), tick=False):
        later = run_until_idle()
    with time_machine.travel(at(2026, 11, 23, 7, 30), tick=False):
        next_poll = run_until_idle()

    assert {run.name for run in first} == {"digest", "poll"}
    assert again == [] and later == []
    assert [run.name for run in next_poll] == ["poll"]
    assert calls.of("digest") == [at(2026, 11, 23, 7)]
    assert calls.of("poll") == [at(2026, 11, 23, 7), at(2026, 11, 23, 7, 30)]
    assert set(JobRun.objects.values_list("status", flat=True)) == {JobStatus.DONE}
    assert JobRun.objects.get(name="digest").result == {"slot": at(2026, 11, 23, 7).isoformat()}
    assert not DBTaskResult.objects.ready().exists()


@pytest.mark.django_db
def test_after_downtime_only_the_latest_missed_slot_runs(calls):
    declare(calls, "digest", Daily(7))
    declare(calls, "poll", Every(60))

    with time_machine.travel(at(2026, 11, 20, 8), tick=False):
        run_until_idle()
    # The worker was down for three days.
    with time_machine.travel(at(2026, 11, 23, 18, 5), tick=False):
        run_until_idle()

    assert calls.of("digest") == [at(2026, 11, 20, 7), at(2026, 11, 23, 7)]
    assert calls.of("poll") == [at(2026, 11, 20, 8), at(2026, 11, 23, 18)]


@pytest.mark.django_db
def test_a_weekly_job_runs_once_a_week(calls):
    declare(calls, "weekly", Weekly(0, 9))

    day = at(2026, 11, 22, 12)
    for _ in range(15):
        with time_machine.travel(day, tick=False):
            run_until_idle()
        day += dt.timedelta(days=1)

    assert calls.of("weekly") == [at(2026, 11, 16, 9), at(2026, 11, 23, 9), at(2026, 11, 30, 9)]


@pytest.mark.django_db
def test_a_failing_job_is_recorded_with_its_error_and_the_others_still_run(calls):
    declare(calls, "broken", Daily(1), fail=True)
    declare(calls, "healthy", Daily(1))

    with time_machine.travel(at(2026, 11, 23, 3), tick=False):
        run_until_idle()

    broken = JobRun.objects.get(name="broken")
    healthy = JobRun.objects.get(name="healthy")
    assert broken.status == JobStatus.FAILED
    assert "RuntimeError: the mail server did not answer" in broken.error
    assert broken.finished_at is not None and broken.result is None
    assert healthy.status == JobStatus.DONE and healthy.error == ""
    # The failed slot is not retried in a loop: it waits for its next slot or a run by hand.
    with time_machine.travel(at(2026, 11, 23, 4), tick=False):
        assert run_until_idle() == []
    assert len(calls.of("broken")) == 1


@pytest.mark.django_db
def test_a_task_delivered_twice_runs_its_slot_once(calls):
    declare(calls, "digest", Daily(7))
    with time_machine.travel(at(2026, 11, 23, 8), tick=False):
        run_until_idle()
        jobs.run_job.call("digest", at(2026, 11, 23, 7).isoformat())

    assert len(calls.of("digest")) == 1


@pytest.mark.django_db
def test_run_job_now_runs_by_hand_beside_the_schedule(calls):
    declare(calls, "digest", Daily(7))

    with time_machine.travel(at(2026, 11, 23, 8), tick=False):
        first = run_job_now("digest")
        second = run_job_now("digest")
        scheduled = run_until_idle()

    assert first.manual and second.manual and first.pk != second.pk
    assert first.status == second.status == JobStatus.DONE
    assert first.slot == at(2026, 11, 23, 8)
    # A run by hand does not take the slot: the scheduled run still happens, once.
    assert [run.name for run in scheduled] == ["digest"]
    assert calls.of("digest") == [at(2026, 11, 23, 8), at(2026, 11, 23, 8), at(2026, 11, 23, 7)]
    with pytest.raises(LookupError, match="nothing"):
        run_job_now("nothing")


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_the_same_instant_run_each_job_once(calls, tmp_path):
    for index in range(4):
        declare(calls, f"job{index}", Daily(index))
    declare(calls, "poll", Every(5))
    # Two machines' workers: separate connections to one database file (or PostgreSQL server).
    with file_database(tmp_path):
        _claimed, errors = at_once(lambda: run_until_idle(at(2026, 11, 23, 12)))

        assert errors == []
        assert sorted(name for name, _slot in calls.slots) == ["job0", "job1", "job2", "job3", "poll"]
        assert JobRun.objects.count() == 5
        assert set(JobRun.objects.values_list("status", flat=True)) == {JobStatus.DONE}
        assert not DBTaskResult.objects.ready().exists()


# Commands -----------------------------------------------------------------------------------------


# The command closes stale connections between rounds: no test transaction around it.
@pytest.mark.django_db(transaction=True)
def test_worker_once_runs_the_due_jobs_and_beats(calls, settings):
    settings.HEALTHZ_HEARTBEATS = {"worker": 600}
    declare(calls, "digest", Daily(7))
    out = StringIO()

    with time_machine.travel(at(2026, 11, 23, 8), tick=False):
        call_command("worker", "--once", stdout=out)
        assert check_worker()["jobs"] == {"worker": "ok"}

    assert "scheduled digest" in out.getvalue()
    assert calls.of("digest") == [at(2026, 11, 23, 7)]
    assert Heartbeat.objects.get(name="worker").beat_at == at(2026, 11, 23, 8)
    with time_machine.travel(at(2026, 11, 23, 8, 11), tick=False):
        assert check_worker()["jobs"] == {"worker": "stale"}


# The command closes stale connections between rounds: no test transaction around it.
@pytest.mark.django_db(transaction=True)
def test_worker_stops_gracefully_on_sigterm_after_the_task_at_hand(calls):
    @periodic("stopper", Daily(1))
    def stopper(*, now):
        os.kill(os.getpid(), signal.SIGTERM)
        calls.add("stopper", now)

    declare(calls, "other", Daily(1))
    before = signal.getsignal(signal.SIGTERM)

    # No --once: only the signal ends the loop, after the task that was running when it came.
    call_command("worker", "--interval", "60", stdout=StringIO())

    assert calls.of("stopper")
    assert signal.getsignal(signal.SIGTERM) == before
    assert JobRun.objects.get(name="stopper").status == JobStatus.DONE


@pytest.mark.django_db
def test_jobs_command_lists_and_runs(calls):
    declare(calls, "digest", Daily(7))
    declare(calls, "broken", Daily(7), fail=True)

    with time_machine.travel(at(2026, 11, 23, 8), tick=False):
        run_until_idle()
        out = StringIO()
        call_command("jobs", "list", stdout=out)
        call_command("jobs", "run", "digest", stdout=out)
        with pytest.raises(CommandError, match="broken failed"):
            call_command("jobs", "run", "broken", stdout=out, stderr=StringIO())
        with pytest.raises(CommandError, match="jobs list"):
            call_command("jobs", "run", "nothing", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(
        "broken\tdaily 07:00\tlatest slot 2026-11-23 07:00\tlast run 2026-11-23 07:00 failed"
    )
    assert lines[1].startswith(
        "digest\tdaily 07:00\tlatest slot 2026-11-23 07:00\tlast run 2026-11-23 07:00 done"
    )
    assert lines[2].startswith("digest: done")


# Task backends ------------------------------------------------------------------------------------


def test_the_database_backend_is_the_default():
    assert isinstance(task_backends["default"], DatabaseBackend)
    assert tasks_from_env("database", "")["TASKS"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    with pytest.raises(ValueError, match="LUOSHI_REDIS_URL"):
        tasks_from_env("rq", "")
    with pytest.raises(ValueError, match="database or rq"):
        tasks_from_env("celery", "")


@pytest.mark.django_db(transaction=True)
def test_jobs_run_through_redis_with_the_rq_backend(calls, settings, monkeypatch):
    configured = tasks_from_env("rq", "redis://127.0.0.1:6399/0")
    settings.TASKS = configured["TASKS"]
    settings.RQ_QUEUES = configured["RQ_QUEUES"]
    redis = fakeredis.FakeRedis()
    monkeypatch.setattr(
        "django_rq.connection_utils.get_redis_connection", lambda config, use_strict_redis=False: redis
    )
    declare(calls, "digest", Daily(7))
    declare(calls, "broken", Daily(7), fail=True)

    with time_machine.travel(at(2026, 11, 23, 8), tick=True):
        claimed = schedule_due_jobs()
        assert redis.llen("rq:queue:default") == 2
        jobs.run_queued_tasks()

    assert {run.name for run in claimed} == {"digest", "broken"}
    assert redis.llen("rq:queue:default") == 0
    assert calls.of("digest") == [at(2026, 11, 23, 7)]
    assert JobRun.objects.get(name="digest").status == JobStatus.DONE
    assert JobRun.objects.get(name="broken").status == JobStatus.FAILED
    assert not DBTaskResult.objects.exists()


# `luoshi serve` -----------------------------------------------------------------------------------


class FakeWorker:
    def __init__(self):
        self.terminated = False

    def terminate(self):
        self.terminated = True

    def wait(self, timeout=None):
        return 0


@pytest.fixture
def serve_calls(monkeypatch):
    """What ``luoshi serve`` ran: Django commands, and the worker it started (never a real server)."""
    ran, workers = [], []
    monkeypatch.setattr("django.core.management.execute_from_command_line", lambda argv: ran.append(argv[1:]))
    monkeypatch.setattr(cli, "start_worker", lambda: workers.append(FakeWorker()) or workers[-1])
    monkeypatch.delenv(cli.RELOADED_CHILD, raising=False)
    return ran, workers


def test_serve_starts_the_worker_beside_the_server_and_stops_it_after(serve_calls):
    ran, workers = serve_calls

    before = signal.getsignal(signal.SIGTERM)

    cli.main(["luoshi", "serve", "127.0.0.1:8001"])

    assert signal.getsignal(signal.SIGTERM) == before
    assert ran == [["migrate", "--no-input", "-v", "0"], ["runserver", "127.0.0.1:8001"]]
    assert len(workers) == 1 and workers[0].terminated


def test_serve_without_worker_and_in_the_reloaded_child(serve_calls, monkeypatch):
    ran, workers = serve_calls

    cli.main(["luoshi", "serve", "--no-worker"])
    monkeypatch.setenv(cli.RELOADED_CHILD, "true")
    cli.main(["luoshi", "serve"])

    assert ran == [
        ["migrate", "--no-input", "-v", "0"],
        ["runserver", "127.0.0.1:8000"],
        ["runserver", "127.0.0.1:8000"],
    ]
    assert workers == []
