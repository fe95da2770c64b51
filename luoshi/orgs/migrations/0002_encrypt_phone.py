"""Contacts' phone numbers become SM4 ciphertext with a blind index; the existing rows are encrypted."""

from django.db import migrations

import luoshi.core.fields
from luoshi.core import crypto


def _rows(schema_editor, user_model):
    # Raw SQL: the field would try to decrypt the plain values the ORM reads before this step.
    quote = schema_editor.connection.ops.quote_name
    table, column = quote(user_model._meta.db_table), quote(user_model._meta.get_field("phone").column)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {column} FROM {table} WHERE {column} <> ''")
        return table, column, cursor.fetchall()


def encrypt_phones(apps, schema_editor):
    user_model = apps.get_model("orgs", "User")
    field = user_model._meta.get_field("phone")
    table, column, rows = _rows(schema_editor, user_model)
    with schema_editor.connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {column} = %s, phone_index = %s WHERE id = %s",
            [(crypto.encrypt(phone), field.index_value(phone), pk) for pk, phone in rows],
        )


def decrypt_phones(apps, schema_editor):
    table, column, rows = _rows(schema_editor, apps.get_model("orgs", "User"))
    with schema_editor.connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {column} = %s, phone_index = '' WHERE id = %s",
            [(crypto.decrypt(token), pk) for pk, token in rows],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="phone_index",
            field=luoshi.core.fields.BlindIndexField(source="phone"),
        ),
        migrations.AlterField(
            model_name="user",
            name="phone",
            field=luoshi.core.fields.EncryptedField(
                blank=True, kind="phone", max_length=20, verbose_name="手机号"
            ),
        ),
        migrations.RunPython(encrypt_phones, decrypt_phones),
    ]
