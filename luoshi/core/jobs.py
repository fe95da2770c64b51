"""Periodic jobs: the one place that says what runs when, and runs each scheduled slot once.

An app declares its jobs in ``<app>/jobs.py``::

    @periodic("ledgers.detect_overdue", Daily(1, 30))
    def detect_overdue(*, now):
        ...
        return {"recorded": n}

``now`` is the slot being run (not the moment the worker got to it). ``schedule_due_jobs`` claims each
job's latest slot by inserting a ``JobRun``: the unique (name, slot) row decides, so of two workers on
two machines exactly one claims it, and it enqueues the django-tasks task ``run_job`` in the same
transaction. After downtime only the latest missed slot runs, never a backlog.

A job's effects must be idempotent by themselves: a slot runs once, but a job is also run by hand
(``luoshi jobs run NAME``), after a crash half-way, or by a worker that finds the same work still to
do. Write each job so that running it twice writes and sends nothing twice (record what was done and
skip it next time), and use ``exclusive(name)`` when two runs at the same instant could race.
"""

import datetime as dt
import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from importlib import import_module

from django.apps import apps
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import module_has_submodule
from django_tasks import task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from luoshi.core.models import JobRun, JobStatus

logger = logging.getLogger(__name__)

MINUTES_PER_DAY = 24 * 60


def _local(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now)


def _at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    """``day`` at ``hour:minute`` local time (settings.TIME_ZONE), as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@dataclass(frozen=True)
class Daily:
    """Every day at ``hour:minute`` local time."""

    hour: int
    minute: int = 0

    def latest_slot(self, now: dt.datetime) -> dt.datetime:
        today = _local(now).date()
        slot = _at(today, self.hour, self.minute)
        return slot if slot <= now else _at(today - dt.timedelta(days=1), self.hour, self.minute)

    def __str__(self):
        return f"daily {self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True)
class Weekly:
    """Every week on ``weekday`` (0 is Monday) at ``hour:minute`` local time."""

    weekday: int
    hour: int
    minute: int = 0

    def latest_slot(self, now: dt.datetime) -> dt.datetime:
        today = _local(now).date()
        day = today - dt.timedelta(days=(today.weekday() - self.weekday) % 7)
        slot = _at(day, self.hour, self.minute)
        return slot if slot <= now else _at(day - dt.timedelta(days=7), self.hour, self.minute)

    def __str__(self):
        return f"weekly {self.weekday} {self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True)
class Every:
    """Every ``minutes`` minutes, counted from local midnight (so ``minutes`` must divide a day)."""

    minutes: int

    def __post_init__(self):
        if self.minutes <= 0 or MINUTES_PER_DAY % self.minutes:
            raise ValueError(
                f"Every(minutes) must divide a day of {MINUTES_PER_DAY} minutes, not {self.minutes}"
            )

    def latest_slot(self, now: dt.datetime) -> dt.datetime:
        local = _local(now)
        minute_of_day = local.hour * 60 + local.minute
        start = minute_of_day - minute_of_day % self.minutes
        return _at(local.date(), start // 60, start % 60)

    def __str__(self):
        return f"every {self.minutes} min"


Schedule = Daily | Weekly | Every


@dataclass(frozen=True)
class Job:
    name: str
    schedule: Schedule
    func: Callable[..., dict | None]


_registry: dict[str, Job] = {}
_discovered = False
_discover_lock = threading.Lock()


def periodic(name: str, schedule: Schedule):
    """Register ``fn(*, now) -> dict | None`` to run at every slot of ``schedule``."""

    def register(func):
        known = _registry.get(name)
        if known and (known.func.__module__, known.func.__qualname__) != (func.__module__, func.__qualname__):
            raise ValueError(f"Two periodic jobs are named {name!r}")
        _registry[name] = Job(name, schedule, func)
        return func

    return register


def registered() -> dict[str, Job]:
    """Every job, by name; the first call imports each Luoshi app's ``jobs`` module."""
    global _discovered
    if not _discovered:
        with _discover_lock:
            if not _discovered:
                for config in apps.get_app_configs():
                    if config.name.startswith("luoshi.") and module_has_submodule(config.module, "jobs"):
                        import_module(f"{config.name}.jobs")
                _discovered = True
    return dict(sorted(_registry.items()))


def get_job(name: str) -> Job:
    try:
        return registered()[name]
    except KeyError:
        raise LookupError(f"No periodic job is named {name!r}") from None


@contextmanager
def exclusive(name: str):
    """A transaction that no other ``exclusive(name)`` runs beside, for a job's read-then-write.

    PostgreSQL takes a transaction-level advisory lock on the name; SQLite's transactions already
    take the database's write lock at BEGIN (``transaction_mode`` IMMEDIATE in settings).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"luoshi.job:{name}"])
        yield


def _execute(run: JobRun) -> JobRun:
    """Run the job of ``run`` once and store how it ended; a failure is recorded, never raised."""
    started = JobRun.objects.filter(pk=run.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    if not started:
        # Delivered twice (a queue may redeliver after a worker died): the first delivery runs it.
        run.refresh_from_db()
        return run
    run.refresh_from_db()
    try:
        result = get_job(run.name).func(now=timezone.localtime(run.slot))
    except Exception as error:
        logger.exception("Periodic job %s (%s) failed", run.name, run.slot.isoformat())
        run.status = JobStatus.FAILED
        run.error = "".join(traceback.format_exception(error))
    else:
        run.status = JobStatus.DONE
        run.result = result
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "result", "error", "finished_at"])
    return run


@task()
def run_job(name: str, slot_iso: str) -> str:
    """The task ``schedule_due_jobs`` enqueues: run the scheduled slot of ``name``."""
    run = JobRun.objects.get(name=name, slot=dt.datetime.fromisoformat(slot_iso), manual=False)
    return _execute(run).status


def _enqueue(name: str, slot: dt.datetime) -> None:
    if isinstance(run_job.get_backend(), DatabaseBackend):
        # The task row commits or rolls back with the claim: a slot is never claimed and lost.
        run_job.enqueue(name, slot.isoformat())
    else:
        # A queue outside the database must not see the task before the claim it reads is committed.
        transaction.on_commit(partial(run_job.enqueue, name, slot.isoformat()))


def schedule_due_jobs(now: dt.datetime | None = None) -> list[JobRun]:
    """Claim and enqueue each job's latest slot not yet claimed; returns the runs this call claimed."""
    now = now or timezone.now()
    claimed = []
    for job in registered().values():
        slot = job.schedule.latest_slot(now)
        if JobRun.objects.filter(name=job.name, slot=slot, manual=False).exists():
            continue
        try:
            with transaction.atomic():
                run = JobRun.objects.create(name=job.name, slot=slot)
                _enqueue(job.name, slot)
        except IntegrityError:
            # Another worker claimed the slot between the check and the insert.
            continue
        claimed.append(run)
    return claimed


def run_job_now(name: str, now: dt.datetime | None = None) -> JobRun:
    """Run ``name`` here and now, outside its schedule (``luoshi jobs run NAME``), recorded as manual."""
    job = get_job(name)
    run = JobRun.objects.create(name=job.name, slot=now or timezone.now(), manual=True)
    return _execute(run)


def _run_database_tasks(backend_name: str, stop: threading.Event | None) -> None:
    """django-tasks-db's worker loop in batch mode, between two tasks checking ``stop``.

    Its own ``Worker.run`` closes the connection between tasks, which would end a caller's open
    transaction (a test's); the worker command closes stale connections between rounds instead.
    """
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=backend_name,
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    )
    ready = DBTaskResult.objects.ready().filter(backend_name=backend_name)
    while stop is None or not stop.is_set():
        try:
            with exclusive_transaction(ready.db):
                # Locked rows are another worker's: each task is claimed by exactly one.
                claimed = ready.get_locked()
                if claimed is not None:
                    claimed.claim(worker.worker_id)
        except OperationalError as error:
            if not is_locked_database_exception(error):
                raise
            time.sleep(0.05)
            continue
        if claimed is None:
            return
        worker.run_task(claimed)


def _run_rq_tasks(backend, stop: threading.Event | None) -> None:
    # Imported here: django-tasks-rq is installed only where LUOSHI_TASK_BACKEND=rq is used.
    import django_rq
    from django_tasks_rq import Job as RQJob
    from rq import SimpleWorker

    worker = django_rq.get_worker(*sorted(backend.queues), job_class=RQJob, worker_class=SimpleWorker)
    # rq installs its own SIGINT/SIGTERM handlers for the burst; ours come back afterwards.
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker.work(burst=True, with_scheduler=False)
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        if getattr(worker, "_stop_requested", False) and stop is not None:
            stop.set()


def run_queued_tasks(stop: threading.Event | None = None) -> None:
    """Run the tasks waiting in the queue (every queue of the default backend) until it is empty."""
    backend = run_job.get_backend()
    if isinstance(backend, DatabaseBackend):
        _run_database_tasks(backend.alias, stop)
    else:
        _run_rq_tasks(backend, stop)


def run_until_idle(now: dt.datetime | None = None) -> list[JobRun]:
    """Schedule the due jobs and run every queued task; for tests and ``luoshi worker --once``."""
    claimed = schedule_due_jobs(now)
    run_queued_tasks()
    return claimed
