"""The audit trail (等保 2.0 §8.1.4.3): append-only, complete, and a keyed hash chain that SQL cannot rewrite.

Run on PostgreSQL too: ``scripts/with-postgres .venv/bin/pytest -p no:xdist -q tests/security/test_audit_trail.py``.
"""

import datetime as dt
import gzip
import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from luoshi.audit import chain
from luoshi.audit.models import RETENTION_DAYS, AppendOnlyError, AuditAction, AuditChainHead, AuditEvent
from luoshi.audit.services import record
from luoshi.core.crypto import sm3_file
from luoshi.ledgers import services as ledger_services
from luoshi.orgs import services as orgs_services
from luoshi.orgs.models import Role, User
from luoshi.testing.access import PDF

ADDRESS = "10.20.30.40"
TABLE = AuditEvent._meta.db_table


def _audit(*args) -> str:
    """``luoshi audit …``'s output; a refusal or a broken chain raises CommandError."""
    out = io.StringIO()
    call_command("audit", *args, stdout=out)
    return out.getvalue()


def _verify() -> str:
    return _audit("verify")


def _broken_at() -> str:
    with pytest.raises(CommandError) as error:
        _verify()
    return str(error.value)


def _consume(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.replace("{table}", connection.ops.quote_name(TABLE)), params)


def _last(**filters) -> AuditEvent:
    return AuditEvent.objects.filter(**filters).order_by("-sequence").first()


# Append-only --------------------------------------------------------------------------------------


def test_the_orm_can_neither_change_nor_delete_an_event(world):
    event = record(action=AuditAction.EXPORT, username="probe", object_repr="导出")
    event.object_repr = "改过"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(object_repr="改过")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).object_repr == "导出"


def test_each_event_is_a_link_of_the_chain(world):
    first = record(action=AuditAction.EXPORT, username="probe")
    second = record(action=AuditAction.EXPORT, username="probe")
    assert second.sequence == first.sequence + 1
    assert first.mac_key and len(first.mac) == 64 and first.mac != second.mac
    head = AuditChainHead.objects.get(pk=1)
    assert (head.sequence, head.mac) == (second.sequence, second.mac)


def test_a_change_whose_audit_row_cannot_be_written_is_not_written(world):
    """§8.1.4.3 d): auditing cannot be bypassed by making it fail; the change goes with its record."""
    person = User.objects.get(pk=world.handler.pk)
    events = AuditEvent.objects.count()
    with (
        mock.patch("luoshi.audit.services.chain.link_mac", side_effect=RuntimeError("audit down")),
        pytest.raises(RuntimeError),
    ):
        orgs_services.update_user(user=person, full_name="改过的名字")
    assert User.objects.get(pk=person.pk).full_name == world.handler.full_name
    assert AuditEvent.objects.count() == events


# Coverage: who, when, from where, what, before/after, success --------------------------------------


def test_every_kind_of_action_is_recorded_with_who_when_where_and_what(client, world):
    started = timezone.now()
    world.handler.__dict__.pop("_access_profile", None)
    meta = {"REMOTE_ADDR": ADDRESS}

    client.post(reverse("login"), {"username": "handler", "password": "不对"}, **meta)
    failed = _last(action=AuditAction.LOGIN_FAILED)
    assert failed.username == "handler" and not failed.success and failed.ip_address == ADDRESS

    client.post(reverse("login"), {"username": "handler", "password": world.password}, **meta)
    login = _last(action=AuditAction.LOGIN)
    assert login.user_id == world.handler.pk and login.success and login.ip_address == ADDRESS
    # The sign-in's own stamp on the account is the LOGIN row, not a nameless UPDATE beside it.
    assert not AuditEvent.objects.filter(
        action=AuditAction.UPDATE, object_id=str(world.handler.pk), created_at__gte=started
    ).exists()
    client.post(reverse("logout"), **meta)
    logout = _last(action=AuditAction.LOGOUT)
    assert logout.user_id == world.handler.pk and logout.ip_address == ADDRESS

    # A download of an attachment the user may see.
    upload = SimpleUploadedFile("会议纪要.pdf", PDF, content_type="application/pdf")
    attachment = ledger_services.attach_to_item(item=world.item, user=world.supervisor, upload=upload)
    client.force_login(world.supervisor)
    response = client.get(reverse("ledgers:attachment_download", args=[attachment.pk]), **meta)
    _consume(response)
    download = _last(action=AuditAction.DOWNLOAD)
    assert download.user_id == world.supervisor.pk and download.object_id == str(attachment.pk)
    assert download.ip_address == ADDRESS

    # An account edited by the system admin: before and after.
    client.force_login(world.system_admin)
    client.post(
        reverse("orgs:user_edit", args=[world.handler.pk]),
        {"full_name": "钱小承", "username": "handler", "is_active": "on"},
        **meta,
    )
    update = _last(action=AuditAction.UPDATE, object_type="orgs.User", object_id=str(world.handler.pk))
    assert update.username == "sysadmin" and update.ip_address == ADDRESS
    assert update.before["full_name"] == "钱承办" and update.after["full_name"] == "钱小承"

    # Permissions: a role granted and revoked, a leader's charges, by the security admin.
    client.force_login(world.security_admin)
    roles_url = reverse("orgs:user_roles", args=[world.handler.pk])
    client.post(roles_url, {"form": "grant", "organisation": world.co_unit.pk, "role": Role.LIAISON}, **meta)
    granted = _last(action=AuditAction.PERMISSION)
    assert granted.username == "secadmin" and granted.object_id == str(world.handler.pk)
    assert granted.before is None and granted.after["role"] == Role.LIAISON
    assert granted.after["organisation_id"] == world.co_unit.pk and granted.ip_address == ADDRESS
    membership_id = granted.after["id"]
    client.post(reverse("orgs:membership_revoke", args=[membership_id]), **meta)
    revoked = _last(action=AuditAction.PERMISSION)
    assert revoked.before["role"] == Role.LIAISON and revoked.after is None
    client.post(
        reverse("orgs:user_roles", args=[world.leader.pk]),
        {"form": "charges", "organisations": [world.co_unit.pk]},
        **meta,
    )
    charges = AuditEvent.objects.filter(
        action=AuditAction.PERMISSION, object_id=str(world.leader.pk), sequence__gt=revoked.sequence
    )
    assert {(e.before or {}).get("organisation_id") for e in charges if e.after is None} == {
        world.lead_unit.pk
    }
    assert {(e.after or {}).get("organisation_id") for e in charges if e.before is None} == {world.co_unit.pk}
    # Permission rows are recorded as such, never as a bare create/delete of a membership.
    assert not AuditEvent.objects.filter(object_type__in=["orgs.Membership", "orgs.LeaderCharge"]).exists()

    # The audit admin's own reads and exports of the trail.
    client.force_login(world.audit_admin)
    client.get(reverse("audit:event_list"), {"action": AuditAction.PERMISSION}, **meta)
    view = _last(action=AuditAction.VIEW)
    assert view.username == "auditadmin" and view.after == {"query": {"action": "permission"}}
    response = client.get(reverse("audit:event_export"), {"username": "secadmin"}, **meta)
    _consume(response)
    export = _last(action=AuditAction.EXPORT)
    assert export.username == "auditadmin" and export.ip_address == ADDRESS
    assert export.after == {"query": {"username": "secadmin"}}

    for event in AuditEvent.objects.filter(created_at__gte=started):
        assert started <= event.created_at <= timezone.now()
    assert _verify().startswith("audit chain intact")


# The chain catches SQL edits ------------------------------------------------------------------------


@pytest.fixture
def trail(world):
    """The world's trail plus five probes; returns their sequences."""
    return [
        record(action=AuditAction.EXPORT, username="probe", object_repr=f"导出{i}").sequence for i in range(5)
    ]


def test_verify_passes_on_a_clean_chain_and_is_itself_recorded(trail):
    out = _verify()
    assert "audit chain intact" in out and f"up to sequence {trail[-1]}" in out
    run = _last(action=AuditAction.VERIFY)
    assert run.success and run.after["broken_at"] is None and run.username.startswith("cli:")


def test_verify_catches_a_row_changed_by_sql(trail):
    _sql("UPDATE {table} SET object_repr = %s WHERE sequence = %s", ["偷改", trail[2]])
    assert f"broken at sequence {trail[2]}" in _broken_at()
    assert not _last(action=AuditAction.VERIFY).success


def test_verify_catches_a_row_deleted_by_sql(trail):
    _sql("DELETE FROM {table} WHERE sequence = %s", [trail[1]])
    assert f"broken at sequence {trail[1]}" in _broken_at()


def test_verify_catches_the_last_rows_deleted_by_sql(trail):
    _sql("DELETE FROM {table} WHERE sequence >= %s", [trail[3]])
    assert f"broken at sequence {trail[3]}" in _broken_at()


def test_verify_catches_a_row_inserted_by_sql(trail):
    head = AuditChainHead.objects.get(pk=1)
    copy = AuditEvent.objects.get(sequence=trail[-1])
    _sql(
        "INSERT INTO {table} (sequence, created_at, username, request_id, action, object_type, object_id,"
        " object_repr, success, mac_key, mac) VALUES (%s, %s, %s, '', %s, '', '', %s, %s, %s, %s)",
        [
            head.sequence + 1,
            timezone.now(),
            "intruder",
            AuditAction.LOGIN,
            "伪造",
            True,
            copy.mac_key,
            copy.mac,
        ],
    )
    assert f"broken at sequence {head.sequence + 1}" in _broken_at()


def test_verify_catches_rows_reordered_by_sql(trail):
    first, second = (AuditEvent.objects.get(sequence=s) for s in trail[1:3])
    _sql("UPDATE {table} SET object_repr = %s WHERE sequence = %s", [second.object_repr, first.sequence])
    _sql("UPDATE {table} SET object_repr = %s WHERE sequence = %s", [first.object_repr, second.sequence])
    assert f"broken at sequence {trail[1]}" in _broken_at()


def test_verify_catches_the_head_moved_back_to_hide_a_cut(trail):
    previous = AuditEvent.objects.get(sequence=trail[-2])
    _sql("DELETE FROM {table} WHERE sequence = %s", [trail[-1]])
    AuditChainHead.objects.filter(pk=1).update(sequence=previous.sequence, mac=previous.mac)
    assert "broken at sequence" in _broken_at()


# Concurrency ------------------------------------------------------------------------------------------

THREADS, EACH = 6, 15

RECORDING_SCRIPT = f"""
import threading, django
django.setup()
from django.db import connection
from luoshi.audit.services import record

def work(n):
    for i in range({EACH}):
        record(action="export", username=f"thread{{n}}", object_repr=str(i))
    connection.close()

threads = [threading.Thread(target=work, args=(n,)) for n in range({THREADS})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def _record_from_threads() -> None:
    errors = []

    def work(n):
        try:
            for i in range(EACH):
                record(action=AuditAction.EXPORT, username=f"thread{n}", object_repr=str(i))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def _record_from_threads_on_a_file_database(tmp_path: Path) -> None:
    """SQLite's test database lives in memory (one connection); writers race on a file database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "luoshi.settings",
        "SQLITE_PATH": str(tmp_path / "chain.sqlite3"),
        "LUOSHI_KEY_FILE": str(settings.KEY_FILE),
        "LUOSHI_VAR_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    for command in ([*manage, "migrate", "-v", "0"], [sys.executable, "-c", RECORDING_SCRIPT]):
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)
    verified = subprocess.run(
        [*manage, "audit", "verify"], env=env, capture_output=True, text=True, timeout=300
    )
    assert verified.returncode == 0, verified.stderr
    assert f"{THREADS * EACH} rows checked" in verified.stdout


@pytest.mark.django_db(transaction=True)
def test_threads_recording_at_once_make_one_unbroken_chain(tmp_path):
    if connection.vendor == "sqlite":
        _record_from_threads_on_a_file_database(tmp_path)
        return
    _record_from_threads()
    verdict = chain.verify_trail()
    assert verdict.ok, verdict.reason
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert len(sequences) == THREADS * EACH and sequences == list(range(1, len(sequences) + 1))


# Retention and archiving -----------------------------------------------------------------------------


def _recorded_at(moment: dt.datetime, **fields) -> AuditEvent:
    with mock.patch("luoshi.audit.services.timezone.now", return_value=moment):
        return record(action=AuditAction.EXPORT, **fields)


@pytest.fixture
def aged_trail(db, settings, tmp_path):
    """300 and 200 days old, then 100 days old and new rows, in the order they were recorded."""
    settings.VAR_DIR = tmp_path
    now = timezone.now()
    rows = [
        _recorded_at(now - dt.timedelta(days=days), username="probe", object_repr=f"{days}天前")
        for days in (300, 299, 200, 100, 0)
    ]
    return now, rows


def test_archive_refuses_rows_younger_than_the_retention_period(aged_trail):
    today = timezone.localdate()
    for days in (0, 100, RETENTION_DAYS - 1):
        with pytest.raises(CommandError, match="至少 184 天"):
            _audit("archive", "--before", (today - dt.timedelta(days=days)).isoformat())
    assert AuditEvent.objects.count() == 5


def test_archive_moves_old_rows_to_a_file_and_keeps_the_chain_verifiable(aged_trail, tmp_path):
    _now, rows = aged_trail
    before = timezone.localdate() - dt.timedelta(days=RETENTION_DAYS)
    _audit("archive", "--before", before.isoformat())

    remaining = list(AuditEvent.objects.order_by("sequence").values_list("object_repr", flat=True))
    assert remaining[:2] == ["100天前", "0天前"]  # rows younger than 184 days stay, whatever was asked
    archive_row = _last(action=AuditAction.ARCHIVE)
    assert archive_row.after["rows"] == 3 and archive_row.after["anchor_sequence"] == rows[2].sequence
    assert archive_row.after["anchor_mac"] == rows[2].mac and archive_row.username.startswith("cli:")
    head = AuditChainHead.objects.get(pk=1)
    assert (head.anchor_sequence, head.anchor_mac) == (rows[2].sequence, rows[2].mac)

    path = Path(archive_row.after["file"])
    assert path.parent == tmp_path / "audit-archive"
    assert Path(f"{path}.sm3").read_text().split()[0] == archive_row.after["sm3"]
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        assert len(handle.readlines()) == 1 + 3
    out = _audit("verify", "--archive", str(path))
    assert f"anchor: sequence {rows[2].sequence}, mac {rows[2].mac}" in out
    assert "audit chain intact" in _verify()

    # Still refused through the ORM after archiving; and nothing left before the anchor to archive.
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert "nothing recorded before" in _audit("archive", "--before", before.isoformat())


def test_an_altered_archive_file_fails_verification(aged_trail):
    _now, rows = aged_trail
    before = timezone.localdate() - dt.timedelta(days=RETENTION_DAYS)
    _audit("archive", "--before", before.isoformat())
    path = Path(_last(action=AuditAction.ARCHIVE).after["file"])
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = handle.readlines()
    lines[2] = lines[2].replace("299天前", "改过")
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(lines)
    with pytest.raises(CommandError, match="SM3 digest does not match"):
        _audit("verify", "--archive", str(path))
    # Even with a matching digest written beside it, the MACs give the change away.
    with path.open("rb") as handle:
        Path(f"{path}.sm3").write_text(sm3_file(handle))
    with pytest.raises(CommandError, match=f"broken at sequence {rows[1].sequence}"):
        _audit("verify", "--archive", str(path))


def test_cutting_archived_rows_without_the_anchor_is_caught(aged_trail):
    _now, rows = aged_trail
    _sql("DELETE FROM {table} WHERE sequence <= %s", [rows[1].sequence])
    assert f"broken at sequence {rows[0].sequence}" in _broken_at()
