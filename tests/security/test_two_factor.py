"""Two-factor sign-in (等保 §8.1.4.1 c/d), through the real sign-in form with enforcement on.

Who must use it, that nothing but the two-factor pages is reachable before the code, that a code
works once (app codes and recovery codes), that wrong codes are throttled, that resetting a password
never skips the code, that the security admin's reset is audited, and that production refuses to
run with it switched off.
"""

import base64
import datetime as dt
import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.core.checks import Error
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core import crypto
from luoshi.orgs import services as org_services
from luoshi.security.selectors import current_policy
from luoshi.testing.twofactor import login_verified
from luoshi.twofactor import checks, selectors, services
from luoshi.twofactor.models import AuthenticatorDevice, RecoveryCode, RecoveryDevice
from luoshi.twofactor.views import pending_key
from tests.security.test_personal_data import _database_bytes

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Xq7#mPz2!vRk9w"


@pytest.fixture(autouse=True)
def enforced(settings):
    settings.TWO_FACTOR_ENFORCED = True


def sign_in(client, user, password):
    response = client.post(reverse("login"), {"username": user.username, "password": password})
    assert response.status_code == 302, f"password step failed for {user.username}"
    return response


def code_for(device, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = timezone.now().timestamp() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def app_for(user) -> AuthenticatorDevice:
    return AuthenticatorDevice.objects.create(user=user, name="手机", confirmed=True)


def landing(client):
    """Where a request for an ordinary page ends up (path only)."""
    response = client.get(reverse("ledgers:item_list"))
    return response["Location"].split("?")[0] if response.status_code == 302 else response.status_code


def errors_of(response) -> str:
    return " ".join(response.context["form"].errors.get("code", []))


# Who must use it -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "system_admin", "security_admin", "audit_admin"])
def test_admins_and_supervisors_must_enrol(client, world, role):
    user = getattr(world, role)
    assert selectors.two_factor_required(user)
    sign_in(client, user, world.password)
    assert landing(client) == reverse("twofactor:enrol")


def test_a_liaison_need_not_unless_the_policy_says_so(client, world):
    assert not selectors.two_factor_required(world.lead_liaison)
    sign_in(client, world.lead_liaison, world.password)
    assert landing(client) == 200

    policy = current_policy()
    policy.require_two_factor_for_all = True
    policy.save()
    client.post(reverse("logout"))
    sign_in(client, world.lead_liaison, world.password)
    assert selectors.two_factor_required(world.lead_liaison)
    assert landing(client) == reverse("twofactor:enrol")


def test_a_liaison_who_enrolled_voluntarily_is_asked_for_a_code(client, world):
    app_for(world.lead_liaison)
    sign_in(client, world.lead_liaison, world.password)
    assert landing(client) == reverse("twofactor:verify")


def test_nothing_is_asked_when_enforcement_is_off_and_nobody_enrolled(client, world, settings):
    settings.TWO_FACTOR_ENFORCED = False
    sign_in(client, world.supervisor, world.password)
    assert landing(client) == 200


# Enrolment -----------------------------------------------------------------------------------------


def test_supervisor_enrols_with_a_qr_code_then_gets_in(client, world):
    sign_in(client, world.supervisor, world.password)
    page = client.get(reverse("twofactor:enrol"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "data:" not in html
    assert "<script>" not in html  # the page only loads the shell's static scripts
    key = pending_key(client.session)
    secret = "".join(re.search(r'data-testid="secret">([^<]+)<', html).group(1).split())
    device = AuthenticatorDevice(user=world.supervisor, key=key)
    assert device.config_url.split("secret=")[1].startswith(secret)

    wrong = client.post(
        reverse("twofactor:enrol"), {"code": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert "验证码不正确" in errors_of(wrong)
    assert not AuthenticatorDevice.objects.filter(user=world.supervisor).exists()

    done = client.post(reverse("twofactor:enrol"), {"code": code_for(device)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and all(code in done.content.decode() for code in codes)
    assert AuthenticatorDevice.objects.get(user=world.supervisor).confirmed
    assert landing(client) == 200


def test_a_session_that_has_not_passed_its_app_cannot_enrol_another(client, world):
    app_for(world.supervisor)
    sign_in(client, world.supervisor, world.password)
    response = client.get(reverse("twofactor:enrol"))
    assert response.status_code == 302 and response["Location"] == reverse("twofactor:verify")
    assert client.post(reverse("twofactor:enrol"), {"code": "123456"})["Location"] == reverse(
        "twofactor:verify"
    )


# Before the code, only the two-factor pages --------------------------------------------------------


def test_verify_page_blocks_everything_else(client, world):
    app_for(world.supervisor)
    sign_in(client, world.supervisor, world.password)
    verify = reverse("twofactor:verify")
    item = reverse("ledgers:item_detail", args=[world.item.pk])

    response = client.get(item)
    assert response.status_code == 302 and response["Location"] == f"{verify}?next={item.replace('/', '%2F')}"
    for url in (reverse("ledgers:my_work"), reverse("orgs:user_autocomplete"), reverse("twofactor:security")):
        assert client.get(url)["Location"].startswith(verify), url
    comment = client.post(reverse("ledgers:item_comment", args=[world.item.pk]), {"text": "未验证"})
    assert comment["Location"] == verify
    assert not world.item.events.filter(kind="comment").exists()
    partial = client.get(reverse("ledgers:item_list"), headers={"HX-Request": "true"})
    assert partial.status_code == 204 and partial["HX-Redirect"] == verify

    assert client.get(verify).status_code == 200
    assert client.get("/healthz").status_code != 302
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_code_opens_the_page_asked_for(client, world):
    device = app_for(world.supervisor)
    sign_in(client, world.supervisor, world.password)
    item = reverse("ledgers:item_detail", args=[world.item.pk])
    response = client.post(reverse("twofactor:verify"), {"code": code_for(device), "next": item})
    assert response.status_code == 302 and response["Location"] == item
    assert client.get(item).status_code == 200


def test_a_code_is_used_once(client, world):
    device = app_for(world.supervisor)
    code = code_for(device)
    sign_in(client, world.supervisor, world.password)
    assert client.post(reverse("twofactor:verify"), {"code": code}).status_code == 302
    client.post(reverse("logout"))

    sign_in(client, world.supervisor, world.password)
    replay = client.post(reverse("twofactor:verify"), {"code": code})
    assert replay.status_code == 200
    assert "已使用过" in errors_of(replay)
    assert landing(client) == reverse("twofactor:verify")
    failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, user_id=world.supervisor.pk)
    assert failed.filter(after__second_factor=False).exists()


def test_wrong_codes_are_throttled_and_the_user_told_so(client, world):
    device = app_for(world.supervisor)
    right = code_for(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    sign_in(client, world.supervisor, world.password)
    assert "验证码不正确" in errors_of(client.post(reverse("twofactor:verify"), {"code": wrong}))

    # Right away, even the right code is refused: django-otp makes the user wait after a failure.
    throttled = client.post(reverse("twofactor:verify"), {"code": right})
    assert "次数过多" in errors_of(throttled) and "秒后再试" in errors_of(throttled)
    device.refresh_from_db()
    assert device.throttling_failure_count == 1

    AuthenticatorDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(seconds=5)
    )
    assert client.post(reverse("twofactor:verify"), {"code": right}).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_a_recovery_code_works_once(client, world):
    sign_in(client, world.supervisor, world.password)
    key = client.get(reverse("twofactor:enrol")) and pending_key(client.session)
    codes = client.post(reverse("twofactor:enrol"), {"code": code_for(AuthenticatorDevice(key=key))}).context[
        "codes"
    ]
    client.post(reverse("logout"))

    sign_in(client, world.supervisor, world.password)
    used = client.post(reverse("twofactor:verify"), {"code": codes[0].upper()})
    assert used.status_code == 302
    assert landing(client) == 200
    client.post(reverse("logout"))

    sign_in(client, world.supervisor, world.password)
    again = client.post(reverse("twofactor:verify"), {"code": codes[0]})
    assert "已使用过" in errors_of(again)
    RecoveryDevice.objects.filter(user=world.supervisor).update(throttling_failure_timestamp=None)
    assert client.post(reverse("twofactor:verify"), {"code": codes[1]}).status_code == 302
    assert selectors.recovery_codes_left(world.supervisor) == 8


# Resets ---------------------------------------------------------------------------------------------


def test_an_admin_password_reset_does_not_skip_the_code(client, world):
    device = app_for(world.supervisor)
    org_services.set_password(user=world.supervisor, password=NEW_PASSWORD)
    assert AuthenticatorDevice.objects.filter(pk=device.pk, confirmed=True).exists()

    sign_in(client, world.supervisor, NEW_PASSWORD)
    assert landing(client) == reverse("twofactor:verify")


def test_security_admin_reset_is_audited_and_forces_enrolment(client, world):
    app_for(world.supervisor)
    login_verified(client, world.security_admin)
    assert world.supervisor.username in client.get(reverse("twofactor:user_list")).content.decode()
    assert client.get(reverse("twofactor:reset", args=[world.supervisor.pk])).status_code == 200

    response = client.post(reverse("twofactor:reset", args=[world.supervisor.pk]))
    assert response["Location"] == reverse("twofactor:user_list")
    assert not AuthenticatorDevice.objects.filter(user=world.supervisor).exists()
    event = AuditEvent.objects.get(
        action=AuditAction.UPDATE, object_id=str(world.supervisor.pk), after__two_factor=False
    )
    assert event.user_id == world.security_admin.pk and event.before == {"two_factor": True}

    client.post(reverse("logout"))
    sign_in(client, world.supervisor, world.password)
    assert landing(client) == reverse("twofactor:enrol")


def test_only_the_security_admin_resets(client, world):
    app_for(world.supervisor)
    for role in ("system_admin", "audit_admin", "leader"):
        login_verified(client, getattr(world, role))
        assert client.post(reverse("twofactor:reset", args=[world.supervisor.pk])).status_code == 404
    assert AuthenticatorDevice.objects.filter(user=world.supervisor).exists()


def test_a_session_whose_app_was_reset_is_stopped(client, world):
    """A signed-in supervisor whose phone the security admin reset must enrol before going on."""
    login_verified(client, world.supervisor)
    assert landing(client) == 200
    AuthenticatorDevice.objects.filter(user=world.supervisor).delete()
    assert landing(client) == reverse("twofactor:verify")
    assert client.get(reverse("twofactor:verify"))["Location"] == reverse("twofactor:enrol")


# Production -----------------------------------------------------------------------------------------


def test_production_refuses_two_factor_off():
    with override_settings(PRODUCTION=True, TWO_FACTOR_ENFORCED=False):
        errors = checks.two_factor_enforced_in_production(None)
    assert [error.id for error in errors] == ["twofactor.E001"]
    assert isinstance(errors[0], Error)
    with override_settings(PRODUCTION=True, TWO_FACTOR_ENFORCED=True):
        assert checks.two_factor_enforced_in_production(None) == []
    with override_settings(PRODUCTION=False, TWO_FACTOR_ENFORCED=False):
        assert checks.two_factor_enforced_in_production(None) == []


def test_the_check_is_registered():
    from django.core.checks import registry

    assert checks.two_factor_enforced_in_production in registry.registry.get_checks()


# Secrets at rest (GB/T 39786 §8.4 e) ----------------------------------------------------------------


def _secret_encodings(key: str, codes) -> dict[str, bytes]:
    """The app's secret and the recovery codes as anything that reads the bytes might find them."""
    raw = bytes.fromhex(key)
    b32 = base64.b32encode(raw).decode().rstrip("=")
    found = {
        "secret hex": key.encode(),
        "secret HEX": key.upper().encode(),
        "secret base32": b32.encode(),
        "secret base32 lower": b32.lower().encode(),
        "secret base64": base64.b64encode(raw).rstrip(b"="),
        "secret bytes": raw,
    }
    for code in codes:
        found[f"recovery code {code}"] = code.encode()
        found[f"recovery code {code.upper()}"] = code.upper().encode()
    return found


@pytest.mark.django_db(transaction=True)
def test_neither_the_secret_nor_a_recovery_code_is_in_clear_in_the_database(client, world, tmp_path):
    # Enrolled, then used (an app code and a recovery code), then new recovery codes: every write.
    sign_in(client, world.supervisor, world.password)
    key = client.get(reverse("twofactor:enrol")) and pending_key(client.session)
    first = client.post(reverse("twofactor:enrol"), {"code": code_for(AuthenticatorDevice(key=key))}).context[
        "codes"
    ]
    client.post(reverse("logout"))
    sign_in(client, world.supervisor, world.password)
    device = selectors.totp_device(world.supervisor)
    assert (
        client.post(reverse("twofactor:verify"), {"code": code_for(device, steps_ahead=1)}).status_code == 302
    )
    client.post(reverse("logout"))
    sign_in(client, world.supervisor, world.password)
    assert client.post(reverse("twofactor:verify"), {"code": first[0]}).status_code == 302
    second = client.post(reverse("twofactor:recovery_codes")).context["codes"]
    assert selectors.totp_device(world.supervisor).key == key, "the secret is stored and read back"
    assert selectors.recovery_codes_left(world.supervisor) == 10

    dump = _database_bytes(tmp_path)

    assert b"sm4gcm:" in dump, "the dump holds the ciphertexts, so it is the right database"
    found = [name for name, needle in _secret_encodings(key, [*first, *second]).items() if needle in dump]
    assert not found, f"second-factor secrets in clear in the database: {found}"


def test_the_migration_moves_otp_devices_encrypted_and_deletes_the_clear_rows(world):
    """A database from before: django-otp's tables with a clear secret and clear recovery codes."""
    key, codes = services.new_secret(), ["abcdefgh", "ijklmnop"]
    bound = timezone.now() - dt.timedelta(days=30)
    with connection.cursor() as cursor:
        device_columns = (
            "id integer PRIMARY KEY, user_id integer, name varchar(64), confirmed boolean, "
            "throttling_failure_timestamp timestamp NULL, throttling_failure_count integer, "
            "created_at timestamp NULL, last_used_at timestamp NULL"
        )
        cursor.execute(
            f"CREATE TABLE otp_totp_totpdevice ({device_columns}, key varchar(80), step integer, "
            "t0 bigint, digits integer, tolerance integer, drift integer, last_t bigint)"
        )
        cursor.execute(f"CREATE TABLE otp_static_staticdevice ({device_columns})")
        cursor.execute(
            "CREATE TABLE otp_static_statictoken (id integer PRIMARY KEY, device_id integer, token varchar(16))"
        )
        cursor.execute(
            "INSERT INTO otp_totp_totpdevice VALUES (7, %s, '手机', %s, NULL, 0, %s, NULL, %s, 30, 0, 6, 1, 0, 5)",
            [world.supervisor.pk, True, bound, key],
        )
        cursor.execute(
            "INSERT INTO otp_static_staticdevice VALUES (3, %s, '恢复码', %s, NULL, 0, %s, NULL)",
            [world.supervisor.pk, True, bound],
        )
        for pk, code in enumerate(codes):
            cursor.execute("INSERT INTO otp_static_statictoken VALUES (%s, 3, %s)", [pk, code])

    importlib.import_module("luoshi.twofactor.migrations.0002_move_otp_devices").move_devices(
        django_apps, connection.schema_editor()
    )

    device = selectors.totp_device(world.supervisor)
    assert device.key == key and device.last_t == 5 and device.created_at == bound
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM twofactor_authenticatordevice WHERE id = %s", [device.pk])
        assert crypto.is_ciphertext(cursor.fetchone()[0])
        for table in ("otp_totp_totpdevice", "otp_static_staticdevice", "otp_static_statictoken"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            assert cursor.fetchone()[0] == 0, f"{table} still holds clear rows"
    assert not RecoveryCode.objects.filter(digest__in=codes).exists()
    assert services.verify_second_factor(user=world.supervisor, code=codes[1]) == selectors.recovery_device(
        world.supervisor
    )
    assert selectors.recovery_codes_left(world.supervisor) == 1
