"""Key rotation: a new active key, every encrypted column re-encrypted in batches, old keys retired."""

import json

import pytest
from django.core.management import CommandError, call_command

from luoshi.core import crypto, rotation
from luoshi.core.fields import encrypted_match
from luoshi.core.tests.test_fields import stored
from luoshi.orgs.models import User
from luoshi.orgs.tests.factories import UserFactory
from luoshi.twofactor import services as twofactor_services
from luoshi.twofactor.tests.test_services import current_code, enrol


@pytest.fixture
def key_file(tmp_path, settings):
    settings.KEY_FILE = tmp_path / "keys.json"
    crypto.reload_keys()
    yield settings.KEY_FILE
    crypto.reload_keys()


def _keys(key_file) -> dict:
    return json.loads(key_file.read_text())


def _people(n):
    return [UserFactory(phone=f"1380000{i:04d}") for i in range(n)]


@pytest.mark.django_db
def test_a_new_key_becomes_active_and_the_old_one_stays(key_file):
    crypto.keyring()
    assert rotation.add_data_key() == "d2"
    content = _keys(key_file)
    assert content["active_data_key"] == "d2" and set(content["data_keys"]) == {"d1", "d2"}
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert crypto.ciphertext_key_id(crypto.encrypt("x")) == "d2"  # no reload needed: the file changed


@pytest.mark.django_db
def test_reencrypt_moves_every_row_to_the_active_key_in_batches(key_file):
    people = _people(5)
    rotation.add_data_key()
    assert rotation.rows_under_other_keys()["orgs.User"] == 5

    logged = []
    assert rotation.reencrypt(batch_size=2, log=logged.append) == 5
    assert "orgs.User: 5" in logged and "twofactor.AuthenticatorDevice: 0" in logged
    assert {crypto.ciphertext_key_id(stored(person)) for person in people} == {"d2"}
    assert rotation.rows_under_other_keys()["orgs.User"] == 0
    assert rotation.reencrypt() == 0  # nothing left: a second run writes nothing
    assert [User.objects.get(pk=p.pk).phone for p in people] == [p.phone for p in people]


@pytest.mark.django_db
def test_reencrypt_covers_the_second_factor_secret(key_file):
    device, _codes = enrol(UserFactory())
    rotation.add_data_key()
    assert rotation.rows_under_other_keys()["twofactor.AuthenticatorDevice"] == 1

    rotation.reencrypt()
    device.refresh_from_db()
    assert rotation.rows_under_other_keys()["twofactor.AuthenticatorDevice"] == 0
    assert (
        twofactor_services.verify_second_factor(user=device.user, code=current_code(device.key, 1)) == device
    )


@pytest.mark.django_db
def test_rotation_leaves_versions_and_audit_trail_alone(key_file):
    from luoshi.audit.models import AuditEvent

    person = UserFactory(phone="13812345678")
    events = AuditEvent.objects.count()
    rotation.add_data_key()
    rotation.reencrypt()
    assert AuditEvent.objects.count() == events
    assert User.objects.get(pk=person.pk).phone == "13812345678"


@pytest.mark.django_db
def test_a_new_index_key_reindexes_every_row(key_file):
    person = UserFactory(phone="13812345678")
    before = stored(person, "phone_index")
    rotation.replace_index_key()
    assert not User.objects.filter(encrypted_match(User, "phone", "13812345678")).exists()
    rotation.reencrypt(reindex=True)
    assert stored(person, "phone_index") != before
    assert list(User.objects.filter(encrypted_match(User, "phone", "13812345678"))) == [person]


@pytest.mark.django_db
def test_old_keys_are_retired_only_once_no_row_needs_them(key_file):
    person = UserFactory(phone="13812345678")
    rotation.add_data_key()
    with pytest.raises(rotation.RotationError, match=r"orgs\.User"):
        rotation.retire_old_data_keys()
    assert set(_keys(key_file)["data_keys"]) == {"d1", "d2"}

    rotation.reencrypt()
    assert rotation.retire_old_data_keys() == ["d1"]
    assert set(_keys(key_file)["data_keys"]) == {"d2"}
    assert User.objects.get(pk=person.pk).phone == "13812345678"


@pytest.mark.django_db
def test_the_command_rotates_reindexes_and_retires(key_file, capsys):
    people = _people(3)
    call_command("rotate_keys", "--index-key", "--retire", "--batch-size", "2")
    out = capsys.readouterr().out
    assert "d2" in out and "orgs.User: 3" in out and "retired: d1" in out
    content = _keys(key_file)
    assert content["active_data_key"] == "d2" and set(content["data_keys"]) == {"d2"}
    assert [User.objects.get(pk=p.pk).phone for p in people] == [p.phone for p in people]
    found = User.objects.filter(encrypted_match(User, "phone", people[0].phone))
    assert list(found) == [people[0]]


@pytest.mark.django_db
def test_the_command_refuses_to_retire_a_key_still_in_use(key_file, monkeypatch):
    UserFactory(phone="13812345678")
    # A run that stopped before re-encrypting anything: --resume --retire must not drop d1.
    monkeypatch.setattr(rotation, "reencrypt", lambda **kwargs: 0)
    call_command("rotate_keys")
    with pytest.raises(CommandError, match="rows still under an old key"):
        call_command("rotate_keys", "--resume", "--retire")
    assert set(_keys(key_file)["data_keys"]) == {"d1", "d2"}
