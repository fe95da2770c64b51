#!/usr/bin/env python
"""City-size benchmark: generate a city's data on PostgreSQL, then time the busiest pages.

    scripts/with-postgres .venv/bin/python bench/city.py              # 5,000 units, 50,000 items, 1M reports
    scripts/with-postgres .venv/bin/python bench/city.py --scale 0.1  # a tenth of that

See bench/README.md. Not part of the test suite: it needs minutes and a real PostgreSQL.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "luoshi.settings")
os.environ.setdefault("DEBUG", "0")  # time the pages as production renders them


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the city size (default 1.0)")
    parser.add_argument("--orgs", type=int, default=5000)
    parser.add_argument("--items", type=int, default=50000)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--requests", "-n", type=int, default=20, help="timed requests per page and user")
    parser.add_argument("--reuse", action="store_true", help="measure the data already in the database")
    parser.add_argument("--reset", action="store_true", help="flush the database if it holds data")
    parser.add_argument(
        "--allow-sqlite", action="store_true", help="run without DATABASE_URL (for trying it)"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if not os.environ.get("DATABASE_URL") and not args.allow_sqlite:
        print(
            "bench/city.py: DATABASE_URL is not set; run it as scripts/with-postgres .venv/bin/python "
            "bench/city.py (or pass --allow-sqlite)",
            file=sys.stderr,
        )
        return 2

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from luoshi.demo.generator import count_rows, generate_bulk, has_business_data

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"migrate: {time.monotonic() - started:.1f}s")

    if has_business_data() and not args.reuse:
        if not args.reset:
            print(
                "the database already holds data: pass --reuse to measure it or --reset to flush it",
                file=sys.stderr,
            )
            return 2
        call_command("flush", interactive=False, verbosity=0)
    if not args.reuse:
        sizes = {
            "n_orgs": max(60, round(args.orgs * args.scale)),
            "n_items": max(100, round(args.items * args.scale)),
            "n_reports": max(500, round(args.reports * args.scale)),
        }
        print(f"generate: {sizes}")
        result = generate_bulk(seed=args.seed, log=lambda message: print("  " + message), **sizes)
        counts = result.counts
        print(
            f"generate: {result.seconds:.1f}s — {counts['orgs']} units, {counts['users']} people, "
            f"{counts['items']} items, {counts['reports']} reports, {counts['events']} timeline entries"
        )
    else:
        counts = count_rows()
        print(f"reusing: {counts['orgs']} units, {counts['items']} items, {counts['reports']} reports")

    rows, problems = measure(args.requests)
    print_table(rows)
    for problem in problems:
        print("! " + problem)
    return 1 if problems else 0


# Measuring -------------------------------------------------------------------------------------


def pick_subjects():
    """The users to sign in as, and for each the page addresses to time."""
    from django.db.models import Count
    from django.urls import NoReverseMatch, reverse

    from luoshi.ledgers.models import Item
    from luoshi.orgs.models import Organisation, User

    users = {name: User.objects.get(username=name) for name in ("supervisor", "leader", "liaison")}
    # The subtree with most units below the top: a district in a city, the government in a district.
    subtree = Organisation.objects.filter(depth=1).annotate(n=Count("children")).order_by("-n", "pk").first()

    def url(name, *args, query=""):
        try:
            return reverse(name, args=args) + (f"?{query}" if query else "")
        except NoReverseMatch:
            return None

    subjects = []
    for role, user in users.items():
        visible = Item.objects.visible_to(user)
        org = subtree
        if role == "liaison":
            org = user.memberships.first().organisation  # a unit inside their own scope
        detail = (
            visible.filter(children=None)
            .annotate(n=Count("reports"))
            .order_by("-n", "pk")
            .values_list("pk", flat=True)
        ).first()
        pages = [
            ("item list (unit subtree, red)", url("ledgers:item_list", query=f"org={org.pk}&color=red")),
            ("item detail", url("ledgers:item_detail", detail) if detail else None),
            ("my work", url("ledgers:my_work")),
            ("battle map", url("dashboards:battle_map")),
        ]
        subjects.append((role, user, visible.count(), pages))
    return subjects


def timed_get(client, address):
    started = time.perf_counter()
    response = client.get(address)
    return response, (time.perf_counter() - started) * 1000


def measure(n: int):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    rows, problems = [], []
    for role, user, visible, pages in pick_subjects():
        client = Client()
        client.force_login(user)
        for label, address in pages:
            if address is None:
                rows.append((role, visible, label, None, None, None, None, "no such URL"))
                continue
            response, _ = timed_get(client, address)  # warm-up: caches, the day's warning refresh
            if response.status_code != 200:
                rows.append((role, visible, label, None, None, None, None, f"HTTP {response.status_code}"))
                problems.append(f"{role} {address}: HTTP {response.status_code}")
                continue
            times = [timed_get(client, address)[1] for _ in range(n)]
            with CaptureQueriesContext(connection) as queries:
                client.get(address)
            note = ""
            if label.startswith("item list"):
                counts = {}
                for per_page in (25, 100):
                    with CaptureQueriesContext(connection) as paged:
                        client.get(f"{address}&per_page={per_page}")
                    counts[per_page] = len(paged)
                grows = counts[100] > counts[25]
                note = f"25/page {counts[25]} q, 100/page {counts[100]} q" + (" GROWS" if grows else " ok")
                if grows:
                    problems.append(f"{role} {label}: query count grows with page size {counts}")
            rows.append(
                (role, visible, label, statistics.median(times), p95(times), max(times), len(queries), note)
            )
    return rows, problems


def p95(values):
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def print_table(rows):
    header = ("user", "items visible", "page", "median ms", "p95 ms", "max ms", "queries", "note")
    lines = [header]
    for role, visible, label, median, p, high, queries, note in rows:
        lines.append(
            (
                role,
                str(visible),
                label,
                "-" if median is None else f"{median:.1f}",
                "-" if p is None else f"{p:.1f}",
                "-" if high is None else f"{high:.1f}",
                "-" if queries is None else str(queries),
                note,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    for number, line in enumerate(lines):
        print(
            "  ".join(
                cell.ljust(widths[i]) if i in (0, 2, 7) else cell.rjust(widths[i])
                for i, cell in enumerate(line)
            )
        )
        if number == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main())
