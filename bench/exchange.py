#!/usr/bin/env python
"""Import and export of large ledgers: time and peak memory at 10,000 and 100,000 rows.

    .venv/bin/python bench/exchange.py                              # SQLite in a throwaway directory
    scripts/with-postgres .venv/bin/python bench/exchange.py        # the same on PostgreSQL
    .venv/bin/python bench/exchange.py --rows 10000                 # one size only

For each size it writes an office-style workbook (a title row, a 填报单位 line, the header, a
key-work column whose cells are merged over their tasks, units in several spellings, dates in
several forms), then measures, each in a fresh process so that its peak memory is its own:

1. dry run: ``read_table`` + ``plan_import`` (what ``luoshi import --dry-run`` does);
2. import: the dry run plus ``import_plan`` (all rows written in one transaction);
3. re-import: the same workbook again, every row matched to its item (nothing changes);
4. export: the ledger written back to .xlsx (``export_ledger_to_path``).

Targets (issue 3): 100,000 rows imported (dry run plus write) in under 60 s and exported in under
15 s on the project machine, peak memory under 500 MB for both. Not part of the test suite.
"""

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "luoshi.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("LUOSHI_TWO_FACTOR", "off")

UNITS = 300
LEADERS = 30
TASKS_PER_KEY_WORK = 8
DEADLINES = ("2026年6月30日", "2026.9", "9月底前", "三季度末", "下半年", "长期坚持", "11月中旬", "年底前")


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, action="append", help="row counts (default 10000 and 100000)")
    return parser.parse_args()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def write_workbook(path: Path, rows: int) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("台账")
    sheet.merge_range(0, 0, 0, 8, "2026年重点工作任务台账")
    sheet.write_string(1, 0, "填报单位：区委督查室　　更新日期：2026年5月20日")
    header = [
        "序号",
        "重点工作",
        "具体任务",
        "牵头领导",
        "牵头单位",
        "责任单位",
        "完成时限",
        "调度频次",
        "备注",
    ]
    for column, name in enumerate(header):
        sheet.write_string(2, column, name)
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    import datetime as dt

    for index in range(rows):
        row = 3 + index
        group, position = divmod(index, TASKS_PER_KEY_WORK)
        if position == 0:
            last = min(row + TASKS_PER_KEY_WORK - 1, 2 + rows)
            if last > row:
                sheet.merge_range(row, 1, last, 1, f"重点工作{group + 1}")
            else:
                sheet.write_string(row, 1, f"重点工作{group + 1}")
        sheet.write_string(row, 0, str(index + 1))
        sheet.write_string(row, 2, f"第{index + 1}项具体任务：推进项目建设并按期完成验收")
        sheet.write_string(row, 3, f"领导{index % LEADERS}（副区长）")
        sheet.write_string(row, 4, f"单位{index % UNITS}")
        sheet.write_string(row, 5, f"单位{(index + 1) % UNITS}、单位{(index + 2) % UNITS}；各镇（街道）")
        if index % 9 == 0:
            sheet.write_datetime(row, 6, dt.datetime(2026, 12, 15), date_format)
        else:
            sheet.write_string(row, 6, DEADLINES[index % len(DEADLINES)])
        sheet.write_string(row, 7, "每月" if index % 2 else "每季度")
        sheet.write_string(row, 8, "=SUM(1,2)" if index % 1000 == 0 else "")
    book.close()


def setup_database() -> tuple[int, int]:
    """A fresh database with the units and leaders the workbooks name; returns the office and supervisor."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from luoshi.orgs.models import Role
    from luoshi.orgs.tests.factories import OrganisationFactory, UserFactory, grant, leader

    office = OrganisationFactory(name="区委督查室")
    government = OrganisationFactory(name="区人民政府")
    for n in range(UNITS):
        OrganisationFactory(name=f"单位{n}", parent=government)
    for n in range(LEADERS):
        leader(government, charges=[], username=f"leader{n}", full_name=f"领导{n}")
    supervisor = UserFactory(username="bench_supervisor", full_name="督办")
    grant(supervisor, office, Role.SUPERVISOR)
    return office.pk, supervisor.pk


def _measure(queue, phase, path, ledger_pk, user_pk):
    import django

    django.setup()
    from luoshi.exchange.export import export_ledger_to_path
    from luoshi.exchange.importing import plan_import
    from luoshi.exchange.services import import_plan
    from luoshi.exchange.workbook import read_table
    from luoshi.ledgers.models import Ledger
    from luoshi.orgs.models import User

    ledger = Ledger.objects.get(pk=ledger_pk)
    user = User.objects.get(pk=user_pk)
    started = time.perf_counter()
    detail = ""
    if phase == "export":
        rows = export_ledger_to_path(ledger, user, f"{path}.export.xlsx")
        detail = f"{rows} rows, {os.path.getsize(f'{path}.export.xlsx') / 1e6:.1f} MB"
    else:
        with open(path, "rb") as upload:
            table = read_table(upload, name=path.name)
        read = time.perf_counter() - started
        plan = plan_import(table, ledger=ledger)
        planned = time.perf_counter() - started
        detail = f"read {read:.1f} s, planned {planned - read:.1f} s, {plan.error_count} rows in error"
        if phase != "dry run":
            result = import_plan(plan=plan, ledger=ledger, user=user, source=path.name)
            detail += (
                f", written {time.perf_counter() - planned - started:.1f} s "
                f"(+{result.created} new, {result.updated} updated, {result.unchanged} unchanged)"
            )
    queue.put((phase, time.perf_counter() - started, _peak_mb(), detail))


def run(rows: int, workdir: Path, office_pk: int, user_pk: int) -> list[tuple]:
    from django.db import connections

    from luoshi.ledgers.models import Ledger

    path = workdir / f"ledger_{rows}.xlsx"
    started = time.perf_counter()
    write_workbook(path, rows)
    print(f"  workbook: {path.stat().st_size / 1e6:.1f} MB written in {time.perf_counter() - started:.1f} s")
    ledger_pk = Ledger.objects.create(name=f"台账{rows}", year=2026, owner_office_id=office_pk).pk
    connections.close_all()  # each measuring process opens its own connection
    results = []
    context = multiprocessing.get_context("fork")
    for phase in ("dry run", "import", "re-import", "export"):
        queue = context.Queue()
        process = context.Process(target=_measure, args=(queue, phase, path, ledger_pk, user_pk))
        process.start()
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"bench/exchange.py: the {phase} phase failed (exit status {process.exitcode})")
        result = queue.get()
        print(f"  {phase:<10} {result[1]:7.1f} s   peak {result[2]:6.0f} MB   {result[3]}")
        results.append((rows, *result))
    return results


def main() -> int:
    args = parse_args()
    sizes = args.rows or [10_000, 100_000]
    with tempfile.TemporaryDirectory(prefix="luoshi-bench-") as workdir:
        workdir = Path(workdir)
        if not os.environ.get("DATABASE_URL"):
            os.environ["SQLITE_PATH"] = str(workdir / "bench.sqlite3")
        os.environ["LUOSHI_MEDIA_ROOT"] = str(workdir / "media")
        office_pk, user_pk = setup_database()
        from django.db import connection

        print(f"database: {connection.vendor}")
        results = []
        for rows in sizes:
            print(f"{rows:,} rows")
            results += run(rows, workdir, office_pk, user_pk)
    print("\nrows     phase        seconds   peak MB")
    for rows, phase, seconds, peak, _detail in results:
        print(f"{rows:<8} {phase:<12} {seconds:7.1f}   {peak:7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
