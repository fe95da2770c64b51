"""Backups of the database and the uploaded files, and restoring them (``luoshi backup`` / ``luoshi restore``).

A backup is a folder: the database (``database.sqlite3`` made with SQLite's online backup and checked
with ``PRAGMA integrity_check``, or ``database.pgdump`` from ``pg_dump -Fc``), a copy of MEDIA_ROOT
under ``media/``, and ``manifest.json`` with the SM3 digest of each of them. Restoring checks every
digest first and refuses a damaged or incomplete backup before touching anything.

The key file (settings.KEY_FILE) is never part of a backup: whoever holds a backup must not hold the
key to its encrypted fields too. It is kept apart, as docs/operations.md says.
"""

import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404 # pg_dump/pg_restore, run with an argument list and no shell
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.core.crypto import sm3_file

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA = "media"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# Written by ``migrate`` on any database, empty or not: rows here do not make a database "in use".
SCHEMA_MODELS = (ContentType, Permission)


class BackupError(Exception):
    """The backup cannot be made or restored; the message says why and what to do."""


def _connection():
    return connections[DEFAULT_DB_ALIAS]


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return sm3_file(handle)


def _media_files(root: Path) -> list[Path]:
    """Every file under ``root`` (relative), never the key file, should it have been put there."""
    if not root.is_dir():
        return []
    key_file = Path(settings.KEY_FILE).resolve()
    return sorted(
        path.relative_to(root) for path in root.rglob("*") if path.is_file() and path.resolve() != key_file
    )


# Making a backup ---------------------------------------------------------------------------------


def make_backup(destination: Path) -> dict:
    """Write a backup into ``destination`` (new or empty); returns the manifest."""
    destination = Path(destination)
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(_("备份目录 %(dir)s 不是空目录，请指定一个新目录。") % {"dir": destination})
    destination.mkdir(parents=True, exist_ok=True)
    connection = _connection()
    dump = destination / DUMPS[connection.vendor]
    if connection.vendor == "sqlite":
        _dump_sqlite(connection, dump)
    else:
        _run(["pg_dump", "--format=custom", f"--file={dump}", *_pg_target(connection)], connection)
    media_root = Path(settings.MEDIA_ROOT)
    files = {}
    for relative in _media_files(media_root):
        target = destination / MEDIA / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(media_root / relative, target)
        files[relative.as_posix()] = _digest(target)
    manifest = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "engine": connection.vendor,
        "database": {"file": dump.name, "sm3": _digest(dump)},
        "migrations": _applied_migrations(connection),
        "media": files,
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def _dump_sqlite(connection, dump: Path) -> None:
    """Copy the live database page by page (writers may go on meanwhile), then check the copy."""
    connection.ensure_connection()
    target = sqlite3.connect(dump)
    try:
        connection.connection.backup(target)
        # One self-contained file: no -wal beside it.
        target.execute("PRAGMA journal_mode=DELETE")
        _check_integrity(target, dump)
    finally:
        target.close()


def _check_integrity(database: sqlite3.Connection, path: Path) -> None:
    result = [row[0] for row in database.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise BackupError(
            _("数据库 %(file)s 完整性检查未通过：%(result)s")
            % {"file": path, "result": "；".join(result[:5])}
        )


def _applied_migrations(connection) -> dict[str, str]:
    """The last migration applied per app: a restore onto newer code then needs ``luoshi migrate``."""
    last = {}
    for app, name in (
        MigrationRecorder(connection).migration_qs.order_by("app", "name").values_list("app", "name")
    ):
        last[app] = name
    return last


# PostgreSQL tools --------------------------------------------------------------------------------


def _pg_target(connection) -> list[str]:
    """Where the database is, as pg_dump/pg_restore options; the password goes in the environment."""
    db = connection.settings_dict
    options = [f"--dbname={db['NAME']}"]
    if db.get("HOST"):
        options.append(f"--host={db['HOST']}")
    if db.get("PORT"):
        options.append(f"--port={db['PORT']}")
    if db.get("USER"):
        options.append(f"--username={db['USER']}")
    return options


def _run(command: list[str], connection) -> None:
    environment = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if connection.settings_dict.get("PASSWORD"):
        # Never on the command line, where any user of the machine could read it (ps).
        environment["PGPASSWORD"] = connection.settings_dict["PASSWORD"]
    try:
        result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)  # nosec B603 # our own argument list, no shell
    except FileNotFoundError as error:
        raise BackupError(
            _("找不到 %(tool)s，请安装 PostgreSQL 客户端工具。") % {"tool": command[0]}
        ) from error
    if result.returncode != 0:
        raise BackupError(
            _("%(tool)s 失败（退出码 %(code)d）：%(error)s")
            % {"tool": command[0], "code": result.returncode, "error": result.stderr.strip()[-2000:]}
        )


# Restoring -----------------------------------------------------------------------------------------


def verify_backup(source: Path) -> dict:
    """The manifest of the backup in ``source`` once every file in it is found intact; else ``BackupError``."""
    source = Path(source)
    try:
        manifest = json.loads((source / MANIFEST).read_text())
        dump_name, dump_digest = manifest["database"]["file"], manifest["database"]["sm3"]
        media = dict(manifest["media"])
        engine = manifest["engine"]
    except FileNotFoundError as error:
        raise BackupError(
            _("%(dir)s 中没有 %(file)s，这不是一个完整的备份。") % {"dir": source, "file": MANIFEST}
        ) from error
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(_("备份清单 %(file)s 已损坏，无法读取。") % {"file": source / MANIFEST}) from error
    if manifest.get("format") != FORMAT or DUMPS.get(engine) != dump_name:
        raise BackupError(_("备份清单的格式无法识别。"))
    problems = []
    expected = {Path(dump_name): dump_digest} | {Path(MEDIA) / name: digest for name, digest in media.items()}
    for relative, digest in expected.items():
        path = source / relative
        if not path.is_file():
            problems.append(_("缺少文件 %(file)s") % {"file": relative})
        elif _digest(path) != digest:
            problems.append(_("文件 %(file)s 的 SM3 摘要与清单不符") % {"file": relative})
    unexpected = {Path(MEDIA) / name for name in _media_files(source / MEDIA)} - set(expected)
    problems += [_("清单中没有文件 %(file)s") % {"file": relative} for relative in sorted(unexpected)]
    if problems:
        raise BackupError(
            _("备份已损坏或不完整，未作任何恢复：%(problems)s") % {"problems": "；".join(problems[:10])}
        )
    return manifest


def database_in_use() -> bool:
    """Whether any table holds rows besides those ``migrate`` writes by itself."""
    connection = _connection()
    tables = set(connection.introspection.table_names())
    for model in apps.get_models(include_auto_created=True):
        if model in SCHEMA_MODELS or model._meta.db_table not in tables:
            continue
        if model._default_manager.using(DEFAULT_DB_ALIAS).exists():
            return True
    return False


def restore_backup(source: Path, *, force: bool = False) -> dict:
    """Replace the database and MEDIA_ROOT with the backup in ``source``; returns its manifest.

    Refuses a damaged backup, one of another database engine, and, without ``force``, a database or
    media folder that is in use. Stop the web server and the worker first.
    """
    source = Path(source)
    manifest = verify_backup(source)
    connection = _connection()
    if manifest["engine"] != connection.vendor:
        raise BackupError(
            _("这是 %(backup)s 数据库的备份，当前数据库是 %(current)s，不能恢复。")
            % {"backup": manifest["engine"], "current": connection.vendor}
        )
    media_root = Path(settings.MEDIA_ROOT)
    if not force and (database_in_use() or _media_files(media_root)):
        raise BackupError(_("当前数据库或附件目录中已有数据。确认要用备份覆盖它们，请加 --force。"))
    dump = source / manifest["database"]["file"]
    if connection.vendor == "sqlite":
        _restore_sqlite(connection, dump)
    else:
        connection.close()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *_pg_target(connection),
                str(dump),
            ],
            connection,
        )
    _restore_media(source / MEDIA, media_root, manifest["media"])
    return manifest


def _restore_sqlite(connection, dump: Path) -> None:
    connection.ensure_connection()
    backup = sqlite3.connect(dump)
    try:
        backup.backup(connection.connection)
    finally:
        backup.close()
    live = connection.connection
    # The copy was written in rollback-journal mode; the live database runs in WAL (settings).
    live.execute("PRAGMA journal_mode=WAL")
    _check_integrity(live, Path(connection.settings_dict["NAME"]))


def _restore_media(source: Path, media_root: Path, files: dict[str, str]) -> None:
    """MEDIA_ROOT becomes the backup's copy: files it did not have are removed, each copy is checked."""
    for relative in _media_files(media_root):
        if relative.as_posix() not in files:
            (media_root / relative).unlink()
    for name, digest in files.items():
        target = media_root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target)
        if _digest(target) != digest:
            raise BackupError(_("附件 %(file)s 写入后校验失败，请检查磁盘。") % {"file": target})
