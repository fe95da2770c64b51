"""``luoshi import FILE``: the dry run's JSON, the exit status, and the write."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.ledgers.models import Item

SAMPLE = str(Path(__file__).resolve().parent / "samples" / "ledger_sample.xlsx")


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command("import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_dry_run_with_errors_exits_non_zero(world):
    with pytest.raises(SystemExit) as exited:
        _run(SAMPLE, "--dry-run", "--json")

    assert exited.value.code == 1


def test_a_clean_dry_run_prints_the_rows_and_writes_nothing(sample_district, tmp_path):
    before = Item.objects.count()

    out, _err = _run(SAMPLE, "--dry-run", "--json")

    rows = json.loads(out)["rows"]
    assert [row["row"] for row in rows] == [4, 5, 6, 7, 8, 9]
    assert rows[4] == {
        "row": 8,
        "title": "群众反映的噪音扰民问题反弹",
        "parent": "民生领域问题",
        "lead_leader": "林海",
        "lead_org": "区城管局",
        "co_orgs": ["公安分局", "区生态环境分局"],
        "deadline": "2026-12-31",
        "standing": False,
        "cycle": None,
        "errors": [],
    }
    assert Item.objects.count() == before


def test_without_dry_run_it_writes_as_the_named_supervisor(sample_district):
    world = sample_district

    _out, err = _run(SAMPLE, "--ledger", str(world.ledger.pk), "--user", world.supervisor.username)

    assert "新增 9 项" in err
    assert Item.objects.filter(ledger=world.ledger, code="5").exists()
    event = AuditEvent.objects.filter(action=AuditAction.IMPORT).get()
    assert event.username == world.supervisor.username


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ledger", "999999", "--user", "supervisor"], "找不到台账"),
        ([], "写入时须指定 --ledger 和 --user"),
        (["--dry-run", "--ledger", "2026年重点工作", "--user", "nobody"], None),
    ],
)
def test_bad_arguments_are_refused_in_chinese(sample_district, args, message):
    if message is None:
        _run(SAMPLE, *args)  # a dry run needs no user
        return
    with pytest.raises(CommandError, match=message):
        _run(SAMPLE, *args)


def test_a_file_that_is_not_a_workbook_is_refused(world, tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_bytes(b"%PDF-1.7 not a workbook")

    with pytest.raises(CommandError):
        _run(str(path), "--dry-run")
