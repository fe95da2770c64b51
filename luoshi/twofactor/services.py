"""Writes for two-factor sign-in: enrolling an authenticator app, checking codes, recovery codes,
and removing devices (by their owner, or by the security admin)."""

import math
import re
from binascii import unhexlify

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.oath import TOTP

from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.twofactor import selectors
from luoshi.twofactor.models import AuthenticatorDevice, RecoveryDevice, default_key, new_recovery_code

RECOVERY_CODE_COUNT = 10
TOTP_DIGITS = 6
TOTP_TOLERANCE = 1  # steps either side of now: phones whose clock is up to 30 s off still work
_TOTP_CODE = re.compile(rf"^\d{{{TOTP_DIGITS}}}$")


def new_secret() -> str:
    """A fresh TOTP key (20 random bytes, hex) for an enrolment the user has not confirmed yet."""
    return default_key()


def _normalise(code: str) -> str:
    # People copy codes with spaces or dashes ("123 456", "abcd-efgh") and in either case.
    return re.sub(r"[\s-]", "", code or "").lower()


@transaction.atomic
def confirm_enrolment(*, user, key: str, code: str) -> tuple[AuthenticatorDevice, list[str]]:
    """Bind the authenticator app holding ``key`` once it proves itself with a current ``code``.

    Replaces any earlier app and recovery codes; returns the device and the new recovery codes,
    which are shown once and never again.
    """
    code = _normalise(code)
    totp = TOTP(unhexlify(key), digits=TOTP_DIGITS)
    if not _TOTP_CODE.match(code) or not totp.verify(int(code), tolerance=TOTP_TOLERANCE):
        raise ValidationError(
            {
                "code": _(
                    "验证码不正确。请输入身份验证器 App 当前显示的 6 位数字；"
                    "若一直不对，请检查手机时间是否准确。"
                )
            }
        )
    had_device = AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()
    AuthenticatorDevice.objects.filter(user=user).delete()
    # last_t: the code that confirmed the app cannot be used again to sign in.
    device = AuthenticatorDevice.objects.create(
        user=user,
        name=_("身份验证器 App"),
        key=key,
        digits=TOTP_DIGITS,
        tolerance=TOTP_TOLERANCE,
        drift=totp.drift,
        last_t=totp.t(),
        confirmed=True,
    )
    codes = _replace_recovery_codes(user)
    record(
        action=AuditAction.UPDATE,
        obj=user,
        user=user,
        before={"two_factor": had_device},
        after={"two_factor": True, "recovery_codes": len(codes)},
    )
    return device, codes


def _replace_recovery_codes(user) -> list[str]:
    RecoveryDevice.objects.filter(user=user).delete()
    device = RecoveryDevice.objects.create(user=user, name=_("恢复码"), confirmed=True)
    codes = [new_recovery_code() for _index in range(RECOVERY_CODE_COUNT)]
    device.set_codes(codes)  # only their digests are stored
    return codes


@transaction.atomic
def regenerate_recovery_codes(*, user) -> list[str]:
    """New recovery codes for a user with an authenticator app; the old ones stop working."""
    if selectors.totp_device(user) is None:
        raise ValidationError(_("请先启用双因素登录，再生成恢复码。"))
    codes = _replace_recovery_codes(user)
    record(action=AuditAction.UPDATE, obj=user, user=user, after={"recovery_codes": len(codes)})
    return codes


def verify_second_factor(*, user, code: str) -> Device:
    """The device that accepts ``code`` (a 6-digit app code, or a recovery code, used up).

    Not one transaction: each device is checked in its own, so that a failed attempt stays counted
    (django-otp's throttling doubles the wait after each failure) even though this call fails.
    A code already accepted is refused: the app's last accepted step is stored, recovery codes
    are deleted when used.
    """
    code = _normalise(code)
    model = AuthenticatorDevice if _TOTP_CODE.match(code) else RecoveryDevice
    locked_until = None
    for device_id in model.objects.filter(user=user, confirmed=True).values_list("pk", flat=True):
        with transaction.atomic():
            device = model.objects.select_for_update().get(pk=device_id)
            allowed, details = device.verify_is_allowed()
            if not allowed:
                locked_until = (details or {}).get("locked_until")
                continue
            if code and device.verify_token(code):
                return device
    if locked_until is not None:
        seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
        raise ValidationError(
            {"code": _("验证码错误次数过多，请 %(seconds)d 秒后再试。") % {"seconds": seconds}}
        )
    record(
        action=AuditAction.LOGIN_FAILED, obj=user, user=user, after={"second_factor": False}, success=False
    )
    raise ValidationError(
        {"code": _("验证码不正确或已使用过，请输入身份验证器 App 当前显示的验证码或一个未用过的恢复码。")}
    )


def _delete_devices(user) -> bool:
    deleted, _rows = AuthenticatorDevice.objects.filter(user=user).delete()
    RecoveryDevice.objects.filter(user=user).delete()
    return bool(deleted)


@transaction.atomic
def remove_own_two_factor(*, user) -> None:
    """A user switches off the second factor they enrolled voluntarily."""
    if selectors.two_factor_required(user):
        raise ValidationError(_("您的账号必须使用双因素登录，不能停用；更换手机请重新绑定。"))
    if not _delete_devices(user):
        raise ValidationError(_("您尚未启用双因素登录。"))
    record(
        action=AuditAction.UPDATE,
        obj=user,
        user=user,
        before={"two_factor": True},
        after={"two_factor": False},
    )


@transaction.atomic
def reset_two_factor(*, user, actor) -> None:
    """The security admin removes a user's app and recovery codes (a lost phone).

    The password stays; the next sign-in asks the user to enrol again if their role requires it.
    """
    if not _delete_devices(user):
        raise ValidationError(_("「%(name)s」尚未启用双因素登录，无需重置。") % {"name": user})
    record(
        action=AuditAction.UPDATE,
        obj=user,
        user=actor,
        before={"two_factor": True},
        after={"two_factor": False},
    )
