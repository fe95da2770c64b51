"""Encrypted personal-data fields: what the column holds, searching, masking, and the audit trail."""

import pytest
from django.core.exceptions import FieldError
from django.db import connection, models
from django.db.models import TextField
from django.db.models.functions import Cast
from django.test.utils import isolate_apps

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core import crypto
from luoshi.core.fields import (
    BlindIndexField,
    EncryptedField,
    PersonalData,
    encrypted_fields,
    encrypted_match,
    mask,
    mask_address,
    mask_id_number,
    mask_phone,
    masked_value,
    models_with_encrypted_fields,
)
from luoshi.orgs import services
from luoshi.orgs.models import User
from luoshi.orgs.tests.factories import UserFactory

PHONE = "13812345678"


def stored(user, field="phone") -> str:
    """The column as it is in the database, bypassing the field's decryption."""
    return User.objects.annotate(raw=Cast(field, TextField())).values_list("raw", flat=True).get(pk=user.pk)


# Masking --------------------------------------------------------------------------------------------


def test_masks_keep_only_what_identifies_nobody():
    assert mask_phone(PHONE) == "138****5678"
    assert mask_phone("138 1234 5678") == "138****5678"
    assert mask_id_number("11010119900101123x") == "110101********123X"
    assert mask_address("北京市东城区景山前街4号") == "北京市东城区****"
    assert mask_address("东城区") == "东****"
    assert mask_phone("139") == "***"


def test_mask_by_kind_leaves_empty_values_empty():
    assert mask("", PersonalData.PHONE) == ""
    assert mask(None, PersonalData.ADDRESS) == ""
    assert mask("张三的备注", PersonalData.TEXT) == "张****"
    assert mask(PHONE, PersonalData.PHONE) == "138****5678"


@pytest.mark.django_db
def test_masked_value_is_what_exports_write():
    user = UserFactory(phone=PHONE)
    assert masked_value(user, "phone") == "138****5678"


# Storage --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_column_holds_ciphertext_and_the_attribute_the_value():
    user = UserFactory(phone=PHONE)
    token = stored(user)
    assert crypto.is_ciphertext(token) and PHONE not in token
    assert crypto.decrypt(token) == PHONE
    assert User.objects.get(pk=user.pk).phone == PHONE


@pytest.mark.django_db
def test_no_value_is_stored_as_empty_not_encrypted():
    user = UserFactory()
    assert stored(user) == "" and stored(user, "phone_index") == ""
    assert User.objects.get(pk=user.pk).phone == ""


@pytest.mark.django_db
def test_a_tampered_ciphertext_raises_on_load():
    user = UserFactory(phone=PHONE)
    prefix, key_id, payload = stored(user).split(":")
    forged = f"{prefix}:{key_id}:{payload[:-4]}AAAA"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orgs_user SET phone = %s WHERE id = %s", [forged, user.pk])
    with pytest.raises(crypto.DecryptionError):
        User.objects.get(pk=user.pk)


@pytest.mark.django_db
def test_plain_text_written_behind_the_fields_back_is_refused_too():
    user = UserFactory()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orgs_user SET phone = %s WHERE id = %s", [PHONE, user.pk])
    with pytest.raises(crypto.DecryptionError):
        User.objects.get(pk=user.pk)


@pytest.mark.django_db
def test_plain_length_limit_is_validated():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        services.create_user(username="long", full_name="号码太长", phone="1" * 21)
    assert "phone" in error.value.message_dict


def test_form_field_is_one_line_of_text():
    field = User._meta.get_field("phone").formfield()
    assert field.max_length == 20 and field.widget.input_type == "text"


# Searching --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_search_by_blind_index_matches_however_typed():
    user = UserFactory(phone=PHONE)
    UserFactory(phone="13900000000")
    assert list(User.objects.filter(encrypted_match(User, "phone", "138-1234-5678"))) == [user]
    assert not User.objects.filter(encrypted_match(User, "phone", "13812345679")).exists()
    assert not User.objects.filter(encrypted_match(User, "phone", "张三")).exists()


@pytest.mark.django_db
def test_the_index_follows_every_change():
    user = UserFactory(phone=PHONE)
    services.update_user(user=user, phone="13700001111")
    assert list(User.objects.filter(encrypted_match(User, "phone", "13700001111"))) == [user]
    services.update_user(user=user, phone="")
    assert stored(user, "phone_index") == ""


@pytest.mark.django_db
def test_comparing_the_column_with_a_value_is_refused():
    with pytest.raises(FieldError, match="blind index"):
        list(User.objects.filter(phone=PHONE))
    with pytest.raises(FieldError):
        list(User.objects.filter(phone__contains="1234"))
    UserFactory(phone=PHONE)
    assert User.objects.filter(phone="").count() == User.objects.count() - 1


def test_a_field_without_an_index_cannot_be_searched():
    with pytest.raises(FieldError, match="no BlindIndexField"):
        encrypted_match(User, "full_name", "x")


# The audit trail -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_audit_trail_keeps_the_number_masked():
    user = UserFactory(phone=PHONE)
    services.update_user(user=user, phone="13700001111")
    events = AuditEvent.objects.filter(object_type="orgs.User", object_id=str(user.pk))
    created = events.get(action=AuditAction.CREATE)
    changed = events.get(action=AuditAction.UPDATE)
    assert created.after["phone"] == "138****5678"
    assert (changed.before["phone"], changed.after["phone"]) == ("138****5678", "137****1111")
    text = str(list(events.values_list("before", "after")))
    assert PHONE not in text and "13700001111" not in text


# Declaring fields ----------------------------------------------------------------------------------


def test_encrypted_fields_are_found_by_type():
    assert User in models_with_encrypted_fields()
    assert [field.name for field in encrypted_fields(User)] == ["phone"]


def test_fields_survive_a_migration_round_trip():
    for name in ("phone", "phone_index"):
        field = User._meta.get_field(name)
        _, path, args, kwargs = field.deconstruct()
        rebuilt = type(field)(*args, **kwargs)
        assert rebuilt.deconstruct()[1:] == (path, args, kwargs)
    assert User._meta.get_field("phone").deconstruct()[3]["kind"] == "phone"


@isolate_apps("luoshi.core")
def test_an_index_must_name_an_encrypted_field():
    class Appeal(models.Model):  # noqa: DJ008 — a declaration to check, never shown
        name = models.CharField(max_length=10)
        address = EncryptedField(kind=PersonalData.ADDRESS)
        name_index = BlindIndexField(source="name")
        address_index = BlindIndexField(source="address")
        missing_index = BlindIndexField(source="missing")

    errors = {
        field: [error.id for error in Appeal._meta.get_field(field).check()]
        for field in ("name_index", "address_index", "missing_index")
    }
    assert errors == {"name_index": ["luoshi.E001"], "address_index": [], "missing_index": ["luoshi.E001"]}
