#!/usr/bin/env python
"""The daily jobs over a city's items: time per job at several sizes, and whether it grows linearly.

    scripts/with-postgres .venv/bin/python bench/jobs.py                     # 12,500, 25,000 and 50,000 items
    scripts/with-postgres .venv/bin/python bench/jobs.py --items 50000       # one size only
    .venv/bin/python bench/jobs.py --items 5000                              # SQLite in a throwaway directory

For each size it flushes the database, generates a city with ``luoshi.demo.generator.generate_bulk``
(one unit per ten items, ten progress reports per item, dates around ``--today``), marks every warning
as computed the day before (as a night finds them), then runs every daily and weekly job registered with
``luoshi.core.jobs.periodic`` for two mornings, each job in a fresh process (``run_job_now``), in
schedule order, twice: the first run does the work, the second must find nothing left to do (the jobs
are idempotent).

- catch-up: ``--today``, the first morning the jobs see this city. Every item that lags or is past its
  deadline reaches the ladder at once: thousands of notices, urges and referrals. It happens once, when
  an office starts (or switches on warnings for a full ledger).
- ordinary day: the next working day. Every warning is recomputed; only the items that cross a
  threshold that day are escalated, reminded or digested.

It prints each job's seconds and its summary, the totals, and the time per 1,000 items, so that growth
with the number of items can be read off.

Target (issue 4): all daily jobs of an ordinary day over the city-sized set (50,000 items) in under 60 s
on PostgreSQL, growing linearly with the items. Not part of the test suite.
"""

import argparse
import datetime as dt
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "luoshi.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("LUOSHI_TWO_FACTOR", "off")


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--items", type=int, action="append", help="item counts (default 12500, 25000, 50000)"
    )
    parser.add_argument("--reports-per-item", type=int, default=10)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 11, 23))
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args()


def _setup() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def generate(items: int, reports_per_item: int, today: dt.date, seed: int) -> dict:
    from django.core.management import call_command

    from luoshi.demo.generator import generate_bulk

    call_command("flush", interactive=False, verbosity=0)
    from luoshi.ledgers.models import Item

    result = generate_bulk(
        seed=seed,
        n_orgs=max(60, items // 10),
        n_items=items,
        n_reports=items * reports_per_item,
        today=today,
    )
    Item.objects.update(warning_as_of=today - dt.timedelta(days=1))
    return result.counts


def daily_jobs():
    """The registered jobs that run once a day or a week, in the order their slots come in a morning."""
    from luoshi.core.jobs import Daily, Weekly, registered

    jobs = [job for job in registered().values() if isinstance(job.schedule, Daily | Weekly)]
    return sorted(jobs, key=lambda job: (job.schedule.hour, job.schedule.minute, job.name))


def _run_one(queue, name: str, now_iso: str) -> None:
    import django

    django.setup()
    from django.db import connection

    from luoshi.core.jobs import run_job_now

    started = time.perf_counter()
    run = run_job_now(name, now=dt.datetime.fromisoformat(now_iso))
    seconds = time.perf_counter() - started
    connection.close()
    queue.put((run.status, seconds, run.result, run.error.splitlines()[-1] if run.error else ""))


def measure(items: int, today: dt.date, morning: str) -> list[tuple]:
    from django.db import connections
    from django.utils import timezone

    connections.close_all()  # each measuring process opens its own connection
    context = multiprocessing.get_context("fork")
    rows = []
    evening = timezone.make_aware(dt.datetime.combine(today, dt.time(23, 59)))
    for job in daily_jobs():
        # The slot the worker runs that day: a weekly job's is its weekday's, however many days ago.
        now = job.schedule.latest_slot(evening)
        for attempt in ("first", "re-run"):
            queue = context.Queue()
            process = context.Process(target=_run_one, args=(queue, job.name, now.isoformat()))
            process.start()
            process.join()
            if process.exitcode != 0:
                raise SystemExit(f"bench/jobs.py: {job.name} crashed (exit status {process.exitcode})")
            status, seconds, result, error = queue.get()
            print(f"  {job.name:<32} {attempt:<7} {seconds:7.2f} s  {status:<7} {error or result}")
            rows.append((items, morning, job.name, attempt, seconds, status))
    return rows


def mornings(today: dt.date) -> list[tuple[str, dt.date]]:
    from luoshi.core.calendar import add_working_days

    return [("catch-up", today), ("ordinary day", add_working_days(today, 1))]


def main() -> int:
    args = parse_args()
    sizes = args.items or [12_500, 25_000, 50_000]
    with tempfile.TemporaryDirectory(prefix="luoshi-bench-") as workdir:
        if not os.environ.get("DATABASE_URL"):
            os.environ["SQLITE_PATH"] = str(Path(workdir) / "bench.sqlite3")
        os.environ["LUOSHI_MEDIA_ROOT"] = str(Path(workdir) / "media")
        _setup()
        from django.db import connection

        print(f"database: {connection.vendor}")
        results = []
        for items in sizes:
            started = time.perf_counter()
            counts = generate(items, args.reports_per_item, args.today, args.seed)
            print(
                f"{items:,} items: generated {counts['items']:,} items, {counts['reports']:,} reports, "
                f"{counts['orgs']:,} units in {time.perf_counter() - started:.0f} s"
            )
            for morning, day in mornings(args.today):
                print(f"  {morning} ({day.isoformat()})")
                results += measure(items, day, morning)

    failed = [row for row in results if row[5] != "done"]
    print("\nitems     morning        first runs (s)   re-runs (s)   s per 1,000 items (first runs)")
    for items in sizes:
        for morning, _day in mornings(args.today):
            mine = [row for row in results if row[0] == items and row[1] == morning]
            first = sum(row[4] for row in mine if row[3] == "first")
            again = sum(row[4] for row in mine if row[3] == "re-run")
            print(f"{items:<9} {morning:<14} {first:14.1f}   {again:11.1f}   {first / items * 1000:8.3f}")
    for row in failed:
        print(f"! {row[2]} ({row[0]:,} items, {row[1]}, {row[3]}) ended {row[5]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
