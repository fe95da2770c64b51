#!/usr/bin/env python
"""Scoring a province-sized assessment period: 5,000 units × 100 indicators over 500,000 items.

    scripts/with-postgres .venv/bin/python bench/assessment.py                        # the province
    scripts/with-postgres .venv/bin/python bench/assessment.py --units 500 --items 50000
    .venv/bin/python bench/assessment.py --units 200 --items 5000                     # SQLite, throwaway

It generates the record with ``luoshi.demo.generator.generate_bulk`` (units, ledgers of the generator's
office, items with lead and co-units, deadlines, extensions, completions and progress reports around
``--today``), adds urges, supervision orders and accountability records, then sets up a scheme through
the services: every unit assessed, in three groups by the kind of unit; 100 scored indicators (80
common under 8 first-level ones, 10 specific that every unit's book signs, 4 bonus, 4 deduction, 2 veto)
using every measure family, formulas and manual scores (approved, one per unit and manual indicator).

Then it times ``run_scoring`` for the third quarter, twice (the second run is a new version of the same
period), and prints the time of each phase: taking the measures, scoring, writing the rows. Target
(issue 5): under 60 s on PostgreSQL. Not part of the test suite.
"""

import argparse
import cProfile
import datetime as dt
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "luoshi.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("LUOSHI_TWO_FACTOR", "off")

TARGET_SECONDS = 60


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--items", type=int, default=500_000)
    parser.add_argument("--reports-per-item", type=int, default=2)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 10, 15))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--profile", action="store_true", help="print where the first run's time goes (cProfile)"
    )
    return parser.parse_args()


def generate(args) -> dict:
    from django.core.management import call_command

    from luoshi.demo.generator import generate_bulk

    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    result = generate_bulk(
        seed=args.seed,
        n_orgs=args.units,
        n_items=args.items,
        n_reports=args.items * args.reports_per_item,
        today=args.today,
        log=lambda message: print(f"  {message}", flush=True),
    )
    print(f"generated in {time.perf_counter() - started:.0f} s: {result.counts}", flush=True)
    return result.counts


def office_records(office, units, supervisor, today):
    """Urges, orders and accountability in the quarter, for a tenth of the units each: written in bulk,
    as their own services are timed elsewhere (bench/jobs.py)."""
    import random

    from luoshi.ledgers.models import Item
    from luoshi.supervision.models import Accountability, SupervisionOrder, Urge

    rng = random.Random(5)
    days = [dt.date(2026, 7, 1) + dt.timedelta(days=n) for n in range(92)]
    items = list(Item.objects.values_list("pk", "lead_org_id")[:50_000])
    Urge.objects.bulk_create(
        [
            Urge(item_id=pk, organisation_id=lead, urged_by=supervisor, message="请抓紧推进")
            for pk, lead in items[::5]
        ],
        batch_size=5000,
    )
    SupervisionOrder.objects.bulk_create(
        [
            SupervisionOrder(
                office=office,
                organisation_id=unit,
                subject="督办",
                content="请抓紧",
                year=2026,
                serial=n + 1,
                reply_deadline=today,
                issued_by=supervisor,
                issued_on=rng.choice(days),
            )
            for n, unit in enumerate(units[::10])
        ],
        batch_size=5000,
    )
    Accountability.objects.bulk_create(
        [
            Accountability(
                office=office,
                form="criticism",
                organisation_id=unit,
                decided_on=rng.choice(days),
                reason="工作不力",
                created_by=supervisor,
            )
            for unit in units[::97]
        ]
    )


def set_up_scheme(today):
    """The scheme through the services; books and manual scores in bulk (thousands of units)."""
    from decimal import Decimal

    from django.utils import timezone

    from luoshi.assessment import services
    from luoshi.assessment.models import (
        BookTarget,
        Category,
        ManualScore,
        PeriodKind,
        ResponsibilityBook,
        ReviewStatus,
        RuleKind,
    )
    from luoshi.ledgers.models import Ledger
    from luoshi.orgs.models import Organisation, OrgKind, Role, User
    from luoshi.orgs.tests.factories import grant

    office = Ledger.objects.first().owner_office
    supervisor = User.objects.create_user(username="bench_supervisor", full_name="基准督办", password="x")
    grant(supervisor, office, Role.SUPERVISOR)
    units = list(
        Organisation.objects.exclude(pk=office.pk)
        .filter(parent__isnull=False)
        .order_by("pk")
        .values_list("pk", "kind")
    )
    office_records(office, [pk for pk, _kind in units], supervisor, today)
    scheme = services.save_scheme(
        user=supervisor,
        office=office,
        year=2026,
        name="2026年度全省绩效考核",
        bonus_cap=Decimal(8),
        deduction_cap=Decimal(15),
    )
    by_kind = {"部门": [], "乡镇街道": [], "其他": []}
    for pk, kind in units:
        group = "部门" if kind == OrgKind.DEPARTMENT else "乡镇街道" if kind == OrgKind.TOWNSHIP else "其他"
        by_kind[group].append(pk)
    for order, (name, members) in enumerate(by_kind.items()):
        if members:
            services.save_group(
                user=supervisor,
                scheme=scheme,
                name=name,
                units=Organisation.objects.filter(pk__in=members),
                sort_order=order,
            )

    def add(name, category, points, parent=None, **rule):
        return services.save_indicator(
            user=supervisor,
            scheme=scheme,
            name=name,
            category=category,
            max_points=points,
            parent=parent,
            **rule,
        )

    families = [
        ("按时办结率_牵头", "MIN(1, 按时办结率_牵头 + 0.05)"),
        ("超期_牵头", "MAX(0, 1 - 0.2*超期_牵头 - 0.1*超期_配合)"),
        ("迟报", "MAX(0, 1 - 0.05*迟报 - 0.1*漏报)"),
        ("催办", "IF(催办 > 3, 0.5, 1)"),
        ("整改完成率", "整改完成率"),
    ]
    manual = []
    for first in range(8):
        parent = add(f"共性指标{first + 1}", Category.COMMON, 10)
        for second in range(10):
            measure, formula = families[(first + second) % len(families)]
            name = f"指标{first + 1}.{second + 1}"
            if second == 9 and first < 2:
                manual.append(add(name, Category.COMMON, 1, parent, rule_kind=RuleKind.MANUAL))
            elif second % 2:
                add(name, Category.COMMON, 1, parent, rule_kind=RuleKind.FORMULA, formula=formula)
            else:
                add(
                    name,
                    Category.COMMON,
                    1,
                    parent,
                    rule_kind=RuleKind.FORMULA,
                    formula=f"IF({measure} >= 0, {formula}, 0)",
                )
    specific = add("个性指标", Category.SPECIFIC, 20)
    for second in range(10):
        add(
            f"个性指标{second + 1}",
            Category.SPECIFIC,
            2,
            specific,
            rule_kind=RuleKind.FORMULA,
            formula="2 * 按时办结率_牵头",
        )
    for n in range(4):
        add(
            f"加分{n + 1}",
            Category.BONUS,
            3,
            rule_kind=RuleKind.MEASURE,
            measure="办结_牵头",
            points_per_unit=Decimal("0.2"),
        )
    for n, measure in enumerate(["督办单", "约谈", "超期_牵头", "漏报"]):
        add(
            f"扣分{n + 1}",
            Category.DEDUCTION,
            5,
            rule_kind=RuleKind.MEASURE,
            measure=measure,
            points_per_unit=Decimal("0.5"),
        )
    add(
        "问责一票否决",
        Category.VETO,
        0,
        rule_kind=RuleKind.MEASURE,
        measure="问责",
        points_per_unit=Decimal(1),
    )
    add("重大事故一票否决", Category.VETO, 0, rule_kind=RuleKind.FORMULA, formula="IF(问责 > 2, 1, 0)")
    members = [pk for group in by_kind.values() for pk in group]
    books = ResponsibilityBook.objects.bulk_create(
        [
            ResponsibilityBook(scheme=scheme, organisation_id=pk, signed_on=dt.date(2026, 2, 1))
            for pk in members
        ],
        batch_size=5000,
    )
    BookTarget.objects.bulk_create(
        [BookTarget(book=book, indicator=specific, target="年度专项任务") for book in books], batch_size=5000
    )
    period = services.create_period(
        user=supervisor,
        scheme=scheme,
        kind=PeriodKind.QUARTER,
        name="2026年第三季度",
        start=dt.date(2026, 7, 1),
        end=dt.date(2026, 9, 30),
    )
    ManualScore.objects.bulk_create(
        [
            ManualScore(
                period=period,
                organisation_id=pk,
                indicator=indicator,
                points=Decimal("0.8"),
                reason="按材料评定",
                entered_by=supervisor,
                status=ReviewStatus.APPROVED,
                reviewed_by=supervisor,
                reviewed_at=timezone.now(),
            )
            for indicator in manual
            for pk in members
        ],
        batch_size=5000,
    )
    leaves = scheme.indicators.filter(children__isnull=True).count()
    print(
        f"scheme: {len(members):,} units in {sum(1 for g in by_kind.values() if g)} groups, {leaves} scored indicators",
        flush=True,
    )
    return supervisor, period, len(members)


def time_runs(supervisor, period, today, units, *, profile=False):
    from luoshi.assessment import measures, services
    from luoshi.assessment.models import GroupMember, IndicatorScore, UnitScore

    plan, _signed = services.plan_for(period.scheme)
    members = list(GroupMember.objects.filter(scheme=period.scheme).values_list("organisation_id", flat=True))
    window = measures.Window(period.start, period.end, today)
    for family in sorted({measures.MEASURES[name].family for name in plan.measures}):
        names = [name for name in plan.measures if measures.MEASURES[name].family == family]
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        measures.take(names, scheme=period.scheme, units=members, window=window)
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
            if seconds > 1:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)
        print(f"  measures {family:<16} {seconds:6.2f} s", flush=True)
    totals = []
    for attempt in ("first run", "second run"):
        profiler = cProfile.Profile() if profile and not totals else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        run = services.run_scoring(user=supervisor, period=period, as_of=today)
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
        totals.append(seconds)
        rows = UnitScore.objects.filter(run=run).count(), IndicatorScore.objects.filter(run=run).count()
        print(
            f"  {attempt}: {seconds:6.1f} s — {rows[0]:,} unit scores, {rows[1]:,} indicator scores",
            flush=True,
        )
    return totals


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="luoshi-bench-") as workdir:
        if not os.environ.get("DATABASE_URL"):
            os.environ["SQLITE_PATH"] = str(Path(workdir) / "bench.sqlite3")
        os.environ["LUOSHI_MEDIA_ROOT"] = str(Path(workdir) / "media")
        import django

        django.setup()
        from django.db import connection

        print(f"database: {connection.vendor}", flush=True)
        generate(args)
        supervisor, period, units = set_up_scheme(args.today)
        totals = time_runs(supervisor, period, args.today, units, profile=args.profile)
    worst = max(totals)
    print(
        f"\n{units:,} units, {args.items:,} items: scoring took {worst:.1f} s at worst (target {TARGET_SECONDS} s)"
    )
    return 0 if worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
