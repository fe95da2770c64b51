import pytest
from django.core.exceptions import ValidationError
from django_otp.oath import TOTP

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.twofactor import selectors, services
from luoshi.twofactor.models import AuthenticatorDevice, RecoveryCode

pytestmark = pytest.mark.django_db


def current_code(key: str, steps_ahead: int = 0) -> str:
    device = AuthenticatorDevice(key=key)
    totp = TOTP(device.bin_key)
    totp.time = totp.time + steps_ahead * 30
    return f"{totp.token():06d}"


def enrol(user):
    key = services.new_secret()
    return services.confirm_enrolment(user=user, key=key, code=current_code(key))


def test_new_secrets_are_random_20_byte_keys():
    first, second = services.new_secret(), services.new_secret()
    assert len(first) == 40 and first != second


def test_enrolment_needs_a_current_code(world):
    key = services.new_secret()
    with pytest.raises(ValidationError) as error:
        services.confirm_enrolment(user=world.handler, key=key, code="12345")
    assert "验证码不正确" in str(error.value)
    assert not AuthenticatorDevice.objects.filter(user=world.handler).exists()


def test_enrolment_binds_one_app_with_ten_recovery_codes_and_is_audited(world):
    device, codes = enrol(world.handler)
    assert device.confirmed and selectors.totp_device(world.handler) == device
    assert len(set(codes)) == 10 and selectors.recovery_codes_left(world.handler) == 10
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(world.handler.pk))
    assert event.after == {"two_factor": True, "recovery_codes": 10} and event.before == {"two_factor": False}


def test_the_enrolment_code_cannot_sign_in(world):
    key = services.new_secret()
    code = current_code(key)
    services.confirm_enrolment(user=world.handler, key=key, code=code)
    with pytest.raises(ValidationError, match="已使用过"):
        services.verify_second_factor(user=world.handler, code=code)


def test_rebinding_replaces_the_app_and_the_recovery_codes(world):
    _first, old_codes = enrol(world.handler)
    second, new_codes = enrol(world.handler)
    assert list(AuthenticatorDevice.objects.filter(user=world.handler)) == [second]
    assert RecoveryCode.objects.filter(device__user=world.handler).count() == 10
    for old in old_codes:
        with pytest.raises(ValidationError):
            services.verify_second_factor(user=world.handler, code=old)
        selectors.recovery_device(world.handler).throttle_reset()
    assert services.verify_second_factor(user=world.handler, code=new_codes[0]) == selectors.recovery_device(
        world.handler
    )


def test_app_codes_are_accepted_with_spaces(world):
    device, _codes = enrol(world.handler)
    code = current_code(device.key, steps_ahead=1)
    assert services.verify_second_factor(user=world.handler, code=f"{code[:3]} {code[3:]}") == device


def test_recovery_codes_are_accepted_in_any_case_and_used_up(world):
    _device, codes = enrol(world.handler)
    accepted = services.verify_second_factor(user=world.handler, code=f" {codes[3].upper()} ")
    assert accepted == selectors.recovery_device(world.handler)
    assert selectors.recovery_codes_left(world.handler) == 9


def test_a_user_without_a_device_has_no_code_to_enter(world):
    with pytest.raises(ValidationError):
        services.verify_second_factor(user=world.handler, code="123456")


def test_regenerating_recovery_codes_needs_an_app_and_voids_the_old_ones(world):
    with pytest.raises(ValidationError, match="请先启用"):
        services.regenerate_recovery_codes(user=world.handler)
    _device, old = enrol(world.handler)
    new = services.regenerate_recovery_codes(user=world.handler)
    assert not set(old) & set(new) and selectors.recovery_codes_left(world.handler) == 10
    with pytest.raises(ValidationError):
        services.verify_second_factor(user=world.handler, code=old[0])


def test_a_voluntary_second_factor_can_be_switched_off(world, settings):
    settings.TWO_FACTOR_ENFORCED = True
    with pytest.raises(ValidationError, match="尚未启用"):
        services.remove_own_two_factor(user=world.handler)
    enrol(world.handler)
    services.remove_own_two_factor(user=world.handler)
    assert selectors.pending_step(world.handler) == selectors.NONE
    assert AuditEvent.objects.filter(object_id=str(world.handler.pk), after={"two_factor": False}).exists()


def test_a_required_second_factor_cannot_be_switched_off(world, settings):
    settings.TWO_FACTOR_ENFORCED = True
    enrol(world.supervisor)
    with pytest.raises(ValidationError, match="必须使用双因素登录"):
        services.remove_own_two_factor(user=world.supervisor)
    assert selectors.totp_device(world.supervisor) is not None


def test_reset_removes_everything_and_needs_something_to_remove(world):
    with pytest.raises(ValidationError, match="无需重置"):
        services.reset_two_factor(user=world.handler, actor=world.security_admin)
    enrol(world.handler)
    services.reset_two_factor(user=world.handler, actor=world.security_admin)
    assert selectors.totp_device(world.handler) is None and selectors.recovery_device(world.handler) is None


def test_pending_step(world, settings):
    settings.TWO_FACTOR_ENFORCED = True
    assert selectors.pending_step(world.supervisor) == selectors.ENROL
    assert selectors.pending_step(world.handler) == selectors.NONE
    enrol(world.handler)
    assert selectors.pending_step(world.handler) == selectors.VERIFY
    settings.TWO_FACTOR_ENFORCED = False
    assert selectors.pending_step(world.supervisor) == selectors.NONE
