"""Contacts' phone numbers: masked on every screen, whole only to a role that needs it, and audited."""

import importlib
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.urls import reverse

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core import crypto
from luoshi.core.fields import encrypted_match
from luoshi.core.tests.test_fields import stored
from luoshi.orgs import selectors, services
from luoshi.orgs.forms import UserForm
from luoshi.orgs.models import User
from luoshi.orgs.tests.factories import fresh

migration = importlib.import_module("luoshi.orgs.migrations.0002_encrypt_phone")

PHONE = "13812345678"
MASKED = "138****5678"


@pytest.fixture
def contact(world):
    """The lead unit's handler, with a phone number."""
    return services.update_user(user=world.handler, phone=PHONE)


def _views(person) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.PERSONAL_DATA, object_id=str(person.pk)))


# Who may see the whole number -------------------------------------------------------------------------


def test_only_the_system_admin_and_supervisors_for_unit_contacts(world, contact):
    allowed = {
        name
        for name, user in {**world.business_users, **world.admins}.items()
        if selectors.may_see_full_phone(user, contact)
    }
    assert allowed == {"system_admin", "supervisor", "other_supervisor"}
    # A leader is no unit contact: supervisors see a leader's number masked.
    assert not selectors.may_see_full_phone(world.supervisor, world.leader)
    assert selectors.may_see_full_phone(world.system_admin, world.leader)


def test_reveal_returns_the_number_and_records_the_view(world, contact):
    assert services.reveal_phone(viewer=world.supervisor, person=contact) == PHONE
    [event] = _views(contact)
    assert event.user_id == world.supervisor.pk and event.after == {"field": "phone"}
    assert PHONE not in str(event.after)


def test_reveal_is_refused_without_need_and_records_nothing(world, contact):
    with pytest.raises(PermissionDenied):
        services.reveal_phone(viewer=world.security_admin, person=contact)
    assert _views(contact) == []


def test_revealing_no_number_records_nothing(world):
    assert services.reveal_phone(viewer=world.system_admin, person=world.handler) == ""
    assert _views(world.handler) == []


# Screens ----------------------------------------------------------------------------------------------


def test_user_list_masks_and_offers_the_audited_reveal_to_the_system_admin(client, world, contact):
    client.force_login(world.system_admin)
    html = client.get(reverse("orgs:user_list")).content.decode()
    assert MASKED in html and PHONE not in html
    reveal = reverse("orgs:user_phone", args=[contact.pk])
    assert reveal in html and "显示完整号码" in html

    response = client.get(reveal, headers={"HX-Request": "true"})
    assert response.status_code == 200 and PHONE in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert len(_views(contact)) == 1


def test_user_list_is_masked_only_for_the_security_admin(client, world, contact):
    client.force_login(world.security_admin)
    html = client.get(reverse("orgs:user_list")).content.decode()
    assert MASKED in html and PHONE not in html
    assert reverse("orgs:user_phone", args=[contact.pk]) not in html
    assert client.get(reverse("orgs:user_phone", args=[contact.pk])).status_code == 404
    assert _views(contact) == []


def test_user_list_finds_a_person_by_whole_phone_number(client, world, contact):
    client.force_login(world.system_admin)
    response = client.get(reverse("orgs:user_list"), {"q": "138 1234 5678"})
    assert [row.record for row in response.context["table"].page.object_list] == [contact]


def test_autocomplete_does_not_tell_whose_number_a_number_is(client, world, contact):
    client.force_login(world.lead_liaison)
    response = client.get(reverse("orgs:user_autocomplete"), {"q": PHONE})
    assert response.json() == {"results": []}


def test_edit_form_never_carries_the_number(client, world, contact):
    client.force_login(world.system_admin)
    html = client.get(reverse("orgs:user_edit", args=[contact.pk])).content.decode()
    assert PHONE not in html and MASKED in html and "清除手机号" in html


def _edit(client, person, **changes):
    data = {"full_name": person.full_name, "username": person.username, "is_active": "on", **changes}
    return client.post(reverse("orgs:user_edit", args=[person.pk]), data)


def test_an_empty_phone_keeps_the_number_a_new_one_replaces_it(client, world, contact):
    client.force_login(world.system_admin)
    assert _edit(client, contact, phone="", full_name="钱承办").status_code == 302
    assert (fresh(contact).phone, fresh(contact).full_name) == (PHONE, "钱承办")
    assert _edit(client, contact, phone="13900001111").status_code == 302
    assert fresh(contact).phone == "13900001111"
    assert _edit(client, contact, phone="", clear_phone="on").status_code == 302
    assert fresh(contact).phone == ""


def test_form_service_fields_leave_the_number_out_when_kept(world, contact):
    data = {"full_name": "钱承办", "username": "handler", "phone": "", "is_active": "on"}
    form = UserForm(data, instance=contact)
    assert form.is_valid(), form.errors
    assert "phone" not in form.service_fields()
    new = UserForm({**data, "username": "new", "phone": PHONE, "password": "x", "password_confirm": "x"})
    assert "clear_phone" not in new.fields
    assert new.is_valid() and new.service_fields()["phone"] == PHONE


# The data migration ----------------------------------------------------------------------------------


def _raw_set(person, phone):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orgs_user SET phone = %s, phone_index = '' WHERE id = %s", [phone, person.pk])


def test_migration_encrypts_existing_numbers_and_back(world):
    from django.apps import apps

    _raw_set(world.handler, PHONE)
    editor = SimpleNamespace(connection=connection)

    migration.encrypt_phones(apps, editor)
    assert crypto.decrypt(stored(world.handler)) == PHONE
    assert list(User.objects.filter(encrypted_match(User, "phone", PHONE))) == [world.handler]
    assert stored(world.leader) == ""

    migration.decrypt_phones(apps, editor)
    assert stored(world.handler) == PHONE and stored(world.handler, "phone_index") == ""
