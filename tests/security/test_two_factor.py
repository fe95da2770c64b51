"""Two-factor sign-in (等保 §8.1.4.1 c/d), through the real sign-in form with enforcement on.

Who must use it, that nothing but the two-factor pages is reachable before the code, that a code
works once (app codes and recovery codes), that wrong codes are throttled, that resetting a password
never skips the code, that the security admin's reset is audited, and that production refuses to
run with it switched off.
"""

import datetime as dt
import re

import pytest
from django.core.checks import Error
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.orgs import services as org_services
from luoshi.security.selectors import current_policy
from luoshi.testing.twofactor import login_verified
from luoshi.twofactor import checks, selectors
from luoshi.twofactor.views import PENDING_KEY_SESSION_KEY

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


def app_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="手机", confirmed=True)


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
    key = client.session[PENDING_KEY_SESSION_KEY]
    secret = "".join(re.search(r'data-testid="secret">([^<]+)<', html).group(1).split())
    device = TOTPDevice(user=world.supervisor, key=key)
    assert device.config_url.split("secret=")[1].startswith(secret)

    wrong = client.post(
        reverse("twofactor:enrol"), {"code": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert "验证码不正确" in errors_of(wrong)
    assert not TOTPDevice.objects.filter(user=world.supervisor).exists()

    done = client.post(reverse("twofactor:enrol"), {"code": code_for(device)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and all(code in done.content.decode() for code in codes)
    assert TOTPDevice.objects.get(user=world.supervisor).confirmed
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

    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(seconds=5)
    )
    assert client.post(reverse("twofactor:verify"), {"code": right}).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_a_recovery_code_works_once(client, world):
    sign_in(client, world.supervisor, world.password)
    key = client.get(reverse("twofactor:enrol")) and client.session[PENDING_KEY_SESSION_KEY]
    codes = client.post(reverse("twofactor:enrol"), {"code": code_for(TOTPDevice(key=key))}).context["codes"]
    client.post(reverse("logout"))

    sign_in(client, world.supervisor, world.password)
    used = client.post(reverse("twofactor:verify"), {"code": codes[0].upper()})
    assert used.status_code == 302
    assert landing(client) == 200
    client.post(reverse("logout"))

    sign_in(client, world.supervisor, world.password)
    again = client.post(reverse("twofactor:verify"), {"code": codes[0]})
    assert "已使用过" in errors_of(again)
    StaticDevice.objects.filter(user=world.supervisor).update(throttling_failure_timestamp=None)
    assert client.post(reverse("twofactor:verify"), {"code": codes[1]}).status_code == 302
    assert selectors.recovery_codes_left(world.supervisor) == 8


# Resets ---------------------------------------------------------------------------------------------


def test_an_admin_password_reset_does_not_skip_the_code(client, world):
    device = app_for(world.supervisor)
    org_services.set_password(user=world.supervisor, password=NEW_PASSWORD)
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()

    sign_in(client, world.supervisor, NEW_PASSWORD)
    assert landing(client) == reverse("twofactor:verify")


def test_security_admin_reset_is_audited_and_forces_enrolment(client, world):
    app_for(world.supervisor)
    login_verified(client, world.security_admin)
    assert world.supervisor.username in client.get(reverse("twofactor:user_list")).content.decode()
    assert client.get(reverse("twofactor:reset", args=[world.supervisor.pk])).status_code == 200

    response = client.post(reverse("twofactor:reset", args=[world.supervisor.pk]))
    assert response["Location"] == reverse("twofactor:user_list")
    assert not TOTPDevice.objects.filter(user=world.supervisor).exists()
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
    assert TOTPDevice.objects.filter(user=world.supervisor).exists()


def test_a_session_whose_app_was_reset_is_stopped(client, world):
    """A signed-in supervisor whose phone the security admin reset must enrol before going on."""
    login_verified(client, world.supervisor)
    assert landing(client) == 200
    TOTPDevice.objects.filter(user=world.supervisor).delete()
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
