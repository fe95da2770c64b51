"""The recovery drill (等保 §8.1.4.10): back up, lose everything, restore, and find every row and file again.

Runs on the database the suite runs on: on SQLite through the online backup API (into a database
file, as production has), under ``scripts/with-postgres`` through pg_dump and pg_restore.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from luoshi.core import backup
from luoshi.core.crypto import sm3
from luoshi.ledgers.models import Evidence, Item
from luoshi.testing.access import build_scene
from luoshi.testing.databases import file_database

pytestmark = pytest.mark.django_db(transaction=True)


def every_row() -> dict[str, list]:
    """Every row of every table, in a stable order."""
    rows = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows[table] = sorted(cursor.fetchall(), key=repr)
    return rows


def every_file() -> dict[str, str]:
    root = Path(settings.MEDIA_ROOT)
    return {
        path.relative_to(root).as_posix(): sm3(path.read_bytes())
        for path in root.rglob("*")
        if path.is_file()
    }


def wipe() -> None:
    """The server is lost: no database, no uploaded files."""
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        connection.close()
        for path in (name, Path(f"{name}-wal"), Path(f"{name}-shm")):
            path.unlink(missing_ok=True)
    else:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
    shutil.rmtree(settings.MEDIA_ROOT)


@pytest.fixture
def scene(world, tmp_path):
    """The world with items, reports, evidence and attachments, in a database file (on SQLite)."""
    built = build_scene(world)
    with file_database(tmp_path):
        yield built


def test_backup_wipe_restore_gives_back_every_row_and_file(scene, tmp_path):
    rows, files = every_row(), every_file()
    assert Evidence.objects.exists() and any(name.startswith("evidence/") for name in files)

    call_command("backup", str(tmp_path / "backup"))
    wipe()
    assert not every_file()
    call_command("restore", str(tmp_path / "backup"))

    assert every_row() == rows
    assert every_file() == files
    # The restored database goes on working: its sequences continue after the restored rows.
    top = Item.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert scene.world.make_item(title="恢复后新建的事项").pk > top
    with Evidence.objects.first().file.open("rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_the_manifest_lists_every_file_with_its_sm3_digest_and_not_the_key_file(scene, tmp_path, settings):
    settings.KEY_FILE = Path(settings.MEDIA_ROOT) / "keys.json"
    settings.KEY_FILE.write_text("{}")
    manifest = backup.make_backup(tmp_path / "backup")
    written = json.loads((tmp_path / "backup" / "manifest.json").read_text())

    assert written == manifest
    assert "keys.json" not in manifest["media"] and not (tmp_path / "backup" / "media" / "keys.json").exists()
    files = every_file()
    del files["keys.json"]
    assert manifest["media"] == files
    dump = tmp_path / "backup" / manifest["database"]["file"]
    assert manifest["database"]["sm3"] == sm3(dump.read_bytes())
    assert manifest["migrations"]["core"].startswith("00")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flip_evidence", "摘要与清单不符"),
        ("flip_database", "摘要与清单不符"),
        ("remove_evidence", "缺少文件"),
        ("add_file", "清单中没有文件"),
        ("break_manifest", "已损坏"),
    ],
)
def test_a_damaged_backup_is_refused_before_anything_is_touched(scene, tmp_path, damage, message):
    manifest = backup.make_backup(tmp_path / "backup")
    root = tmp_path / "backup"
    evidence = root / "media" / next(name for name in manifest["media"] if name.startswith("evidence/"))
    if damage == "flip_evidence":
        evidence.write_bytes(evidence.read_bytes() + b"x")
    elif damage == "flip_database":
        dump = root / manifest["database"]["file"]
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0xFF
        dump.write_bytes(bytes(data))
    elif damage == "remove_evidence":
        evidence.unlink()
    elif damage == "add_file":
        (root / "media" / "planted.pdf").write_bytes(b"%PDF-")
    else:
        (root / "manifest.json").write_text('{"format": 1, "engine"')
    rows, files = every_row(), every_file()

    with pytest.raises(CommandError, match=message):
        call_command("restore", str(root), "--force")

    assert every_row() == rows and every_file() == files


def test_restoring_over_data_needs_force(scene, tmp_path):
    backup.make_backup(tmp_path / "backup")
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(tmp_path / "backup"))

    Item.objects.filter(pk=scene.item.pk).update(title="备份之后的修改")
    call_command("restore", str(tmp_path / "backup"), "--force")
    assert Item.objects.get(pk=scene.item.pk).title == scene.item.title


def test_a_backup_is_written_only_into_a_new_or_empty_folder(scene, tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "old.txt").write_text("上次的备份")
    with pytest.raises(CommandError, match="不是空目录"):
        call_command("backup", str(tmp_path / "backup"))


def test_the_postgresql_password_goes_in_the_environment_never_on_the_command_line(monkeypatch):
    seen = {}

    def run(command, env, **kwargs):
        seen.update(command=command, env=env)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(backup.subprocess, "run", run)
    target = type(
        "Connection",
        (),
        {
            "settings_dict": {
                "NAME": "luoshi",
                "HOST": "db",
                "PORT": "5432",
                "USER": "app",
                "PASSWORD": "s3cret",
            }
        },
    )()
    backup._run(["pg_dump", *backup._pg_target(target)], target)

    assert seen["env"]["PGPASSWORD"] == "s3cret"
    assert not any("s3cret" in part for part in seen["command"])
    assert "--host=db" in seen["command"] and "--dbname=luoshi" in seen["command"]
