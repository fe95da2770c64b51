"""Devices enrolled under django-otp's otp_totp/otp_static (secrets in clear) move to our models: the
TOTP secret encrypted, each recovery code replaced by its digest. The clear rows are then deleted.

Those apps are no longer installed, so their tables are read with raw SQL, and only if they exist (a
database made before this release). Their emptied tables stay: nothing uses them any more.
"""

import datetime as dt

from django.db import migrations

from luoshi.twofactor.models import recovery_code_digest

TOTP_TABLE = "otp_totp_totpdevice"
STATIC_DEVICE_TABLE = "otp_static_staticdevice"
STATIC_TOKEN_TABLE = "otp_static_statictoken"
DEVICE_COLUMNS = (
    "user_id",
    "name",
    "confirmed",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "created_at",
    "last_used_at",
)
TOTP_COLUMNS = ("key", "step", "t0", "digits", "tolerance", "drift", "last_t")


def _aware(value):
    # Raw SQL gets no field conversion: SQLite returns the stored UTC text, PostgreSQL a datetime.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _rows(cursor, table, columns):
    cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")  # nosec B608 # fixed names above
    return [
        {column: _aware(value) if column.endswith(("_at", "_timestamp")) else value for column, value in zip(columns, row)}
        for row in cursor.fetchall()
    ]


def _keep_created_at(device, row):
    # auto_now_add set it to now; the page 「账号安全」 shows when the app was bound.
    type(device).objects.filter(pk=device.pk).update(created_at=row["created_at"])


def move_devices(apps, schema_editor):
    connection = schema_editor.connection
    tables = set(connection.introspection.table_names())
    authenticator = apps.get_model("twofactor", "AuthenticatorDevice")
    recovery_device = apps.get_model("twofactor", "RecoveryDevice")
    recovery_code = apps.get_model("twofactor", "RecoveryCode")
    with connection.cursor() as cursor:
        if TOTP_TABLE in tables:
            for row in _rows(cursor, TOTP_TABLE, DEVICE_COLUMNS + TOTP_COLUMNS):
                # The EncryptedField of the historical model encrypts the key on save.
                device = authenticator.objects.create(**row)
                _keep_created_at(device, row)
            cursor.execute(f"DELETE FROM {TOTP_TABLE}")  # nosec B608
        if STATIC_DEVICE_TABLE in tables and STATIC_TOKEN_TABLE in tables:
            for row in _rows(cursor, STATIC_DEVICE_TABLE, ("id", *DEVICE_COLUMNS)):
                device = recovery_device.objects.create(**{k: v for k, v in row.items() if k != "id"})
                _keep_created_at(device, row)
                cursor.execute(f"SELECT token FROM {STATIC_TOKEN_TABLE} WHERE device_id = %s", [row["id"]])  # nosec B608
                codes = []
                for (token,) in cursor.fetchall():
                    mac_key, digest = recovery_code_digest(device.user_id, token)
                    codes.append(recovery_code(device=device, mac_key=mac_key, digest=digest))
                recovery_code.objects.bulk_create(codes)
            cursor.execute(f"DELETE FROM {STATIC_TOKEN_TABLE}")  # nosec B608
            cursor.execute(f"DELETE FROM {STATIC_DEVICE_TABLE}")  # nosec B608


class Migration(migrations.Migration):
    dependencies = [
        ("twofactor", "0001_initial"),
    ]

    # Backwards there is nowhere to put the secrets back in clear: the users enrol again.
    operations = [migrations.RunPython(move_devices, migrations.RunPython.noop)]
