"""Personal data (GB/T 39786 §8.4, PIPL): never in clear in the database, masked on screens, whole only
to a role that needs it and then audited, and a ciphertext altered in the database is refused.

The database check reads the bytes the database keeps: on SQLite a page-by-page copy of the test
database (with its WAL and journal when it is a file), on PostgreSQL the output of ``pg_dump``.
"""

import base64
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core import crypto
from luoshi.orgs import services
from luoshi.orgs.models import User

PHONES = ("13812345678", "15998765432", "18600001111")


def _encodings(number: str) -> dict[str, bytes]:
    """The number as anything that reads the bytes might find it."""
    spaced = f"{number[:3]} {number[3:7]} {number[7:]}"
    return {
        "text": number.encode(),
        "spaced": spaced.encode(),
        "dashed": spaced.replace(" ", "-").encode(),
        "utf-16-le": number.encode("utf-16-le"),
        "utf-16-be": number.encode("utf-16-be"),
        "base64": base64.b64encode(number.encode()).rstrip(b"="),
        "hex": number.encode().hex().encode(),
        "HEX": number.encode().hex().upper().encode(),
    }


def _sqlite_bytes(tmp_path: Path) -> bytes:
    connection.ensure_connection()
    copy_path = tmp_path / "copy.sqlite3"
    copy = sqlite3.connect(copy_path)
    try:
        connection.connection.backup(copy)
    finally:
        copy.close()
    data = copy_path.read_bytes()
    # A file database (not the in-memory default of the test run): its WAL and journal count too.
    name = connection.settings_dict["NAME"]
    for suffix in ("", "-wal", "-journal"):
        path = Path(f"{name}{suffix}")
        if not str(name).startswith("file:") and path.is_file():
            data += path.read_bytes()
    return data


def _postgres_bytes() -> bytes:
    db = connection.settings_dict
    command = [shutil.which("pg_dump") or "pg_dump", "--no-owner", "--dbname", db["NAME"]]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [option, str(db[key])]
    env = {"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(command, check=True, capture_output=True, env=env, timeout=120).stdout


def _database_bytes(tmp_path: Path) -> bytes:
    if connection.vendor == "sqlite":
        return _sqlite_bytes(tmp_path)
    assert connection.vendor == "postgresql", f"no byte-level check written for {connection.vendor}"
    return _postgres_bytes()


@pytest.mark.django_db(transaction=True)
def test_phone_numbers_are_never_in_clear_in_the_database(client, world, tmp_path):
    # Written every way the product writes them: service, edit screen, a change, a full view.
    first = services.update_user(user=world.handler, phone=PHONES[0])
    services.create_account(
        username="newcomer", full_name="新同志", password="Zhengque-mima-2026", phone=PHONES[1]
    )
    client.force_login(world.system_admin)
    data = {"full_name": "李联络", "username": world.lead_liaison.username, "is_active": "on"}
    client.post(reverse("orgs:user_edit", args=[world.lead_liaison.pk]), {**data, "phone": "13000000000"})
    client.post(reverse("orgs:user_edit", args=[world.lead_liaison.pk]), {**data, "phone": PHONES[2]})
    client.get(reverse("orgs:user_phone", args=[first.pk]))
    assert sorted(User.objects.exclude(phone="").values_list("phone", flat=True)) == sorted([*PHONES]), (
        "the numbers are stored and read back"
    )

    dump = _database_bytes(tmp_path)

    assert b"sm4gcm:" in dump, "the dump holds the ciphertexts, so it is the right database"
    found = [
        f"{number} as {encoding}"
        for number in (*PHONES, "13000000000")
        for encoding, needle in _encodings(number).items()
        if needle in dump
    ]
    assert not found, f"personal data in clear in the database: {found}"


def test_pages_mask_the_number_for_roles_without_need(client, world):
    person = services.update_user(user=world.handler, phone=PHONES[0])
    client.force_login(world.security_admin)
    html = client.get(reverse("orgs:user_list")).content.decode()
    assert "138****5678" in html and PHONES[0] not in html
    assert client.get(reverse("orgs:user_phone", args=[person.pk])).status_code == 404

    client.force_login(world.system_admin)
    for url in (reverse("orgs:user_list"), reverse("orgs:user_edit", args=[person.pk])):
        assert PHONES[0] not in client.get(url).content.decode(), f"{url} carries the whole number"
    assert not AuditEvent.objects.filter(action=AuditAction.PERSONAL_DATA).exists()


def test_every_full_view_is_audited(client, world):
    person = services.update_user(user=world.handler, phone=PHONES[0])
    for viewer in (world.system_admin, world.supervisor):
        client.force_login(viewer)
        assert PHONES[0] in client.get(reverse("orgs:user_phone", args=[person.pk])).content.decode()
    events = AuditEvent.objects.filter(action=AuditAction.PERSONAL_DATA, object_id=str(person.pk))
    assert sorted(events.values_list("user_id", flat=True)) == sorted(
        [world.system_admin.pk, world.supervisor.pk]
    )


def test_a_tampered_ciphertext_raises(world):
    person = services.update_user(user=world.handler, phone=PHONES[0])
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM orgs_user WHERE id = %s", [person.pk])
        token = cursor.fetchone()[0]
        # One character of the encrypted number changed: the GCM tag no longer fits.
        at = len(token) - 30
        flipped = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]
        cursor.execute("UPDATE orgs_user SET phone = %s WHERE id = %s", [flipped, person.pk])
    with pytest.raises(crypto.DecryptionError):
        User.objects.get(pk=person.pk)
