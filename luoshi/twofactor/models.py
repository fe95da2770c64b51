"""The second factor's devices, with their secrets protected at rest (GB/T 39786 §8.4 e).

django-otp's own ``otp_totp``/``otp_static`` keep the TOTP secret and the recovery codes in clear: a
database dump would be enough to produce valid codes. Here the authenticator's secret is SM4
ciphertext (``EncryptedField``: the key file stays outside the database, ``luoshi rotate_keys``
re-encrypts it with the other encrypted columns), and recovery codes are kept only as keyed SM3
digests. Verification, replay protection and throttling are django-otp's (``Device``,
``ThrottlingMixin``, ``django_otp.oath.TOTP``), exactly as in its ``TOTPDevice``/``StaticDevice``.
"""

import secrets
import time
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import hex_validator, random_hex

from luoshi.core import crypto
from luoshi.core.fields import EncryptedField, PersonalData


def default_key() -> str:
    """A fresh TOTP secret: 20 random bytes, hex."""
    return random_hex(20)


def key_validator(value):
    return hex_validator()(value)


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """The user's authenticator app (TOTP, RFC 6238); the fields are those of django-otp's TOTPDevice."""

    key = EncryptedField(
        _("密钥"), kind=PersonalData.TEXT, max_length=80, validators=[key_validator], default=default_key
    )
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    # The time step of the last accepted code: only a later one is accepted, so a code works once.
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = _("身份验证器 App")
        verbose_name_plural = _("身份验证器 App")

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    def get_throttle_factor(self):
        return settings.OTP_TOTP_THROTTLE_FACTOR

    def verify_token(self, token) -> bool:
        # As django-otp's TOTPDevice.verify_token (OTP_TOTP_SYNC on: the drift follows the phone).
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            token = int(token)
        except (TypeError, ValueError):
            verified = False
        else:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = totp.verify(token, self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    @property
    def config_url(self) -> str:
        """The otpauth:// URI the authenticator app scans (Key Uri Format, issuer OTP_TOTP_ISSUER)."""
        issuer = settings.OTP_TOTP_ISSUER.replace(":", "")
        label = f"{issuer}:{self.user.get_username()}"
        params = urlencode(
            {
                "secret": b32encode(self.bin_key),
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
            }
        )
        return f"otpauth://totp/{quote(label)}?{params}&issuer={quote(issuer)}"


def new_recovery_code() -> str:
    """Eight characters of base32 (40 random bits), lower case, as django-otp's StaticToken makes them."""
    return b32encode(secrets.token_bytes(5)).decode().lower()


def recovery_code_digest(user_id: int, code: str, *, key_id: str | None = None) -> tuple[str, str]:
    """(MAC key id, HMAC-SM3 of the code): bound to the account, so a stored digest fits no other."""
    return crypto.hmac_sm3(f"twofactor.recovery:{user_id}:{code}".encode(), key_id=key_id)


class RecoveryDevice(TimestampMixin, ThrottlingMixin, Device):
    """The user's recovery codes (for a lost phone), each usable once, kept only as digests."""

    class Meta(Device.Meta):
        verbose_name = _("恢复码")
        verbose_name_plural = _("恢复码")

    def get_throttle_factor(self):
        return settings.OTP_STATIC_THROTTLE_FACTOR

    def set_codes(self, codes: list[str]) -> None:
        rows = []
        for code in codes:
            key_id, digest = recovery_code_digest(self.user_id, code)
            rows.append(RecoveryCode(device=self, mac_key=key_id, digest=digest))
        RecoveryCode.objects.bulk_create(rows)

    def verify_token(self, token) -> bool:
        # As django-otp's StaticDevice.verify_token, matching the digest under every MAC key in the
        # key file (codes made before a MAC key change still work).
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        candidates = Q(pk__in=[])
        for key_id in crypto.keyring().mac_keys:
            _key_id, digest = recovery_code_digest(self.user_id, str(token), key_id=key_id)
            candidates |= Q(mac_key=key_id, digest=digest)
        match = self.codes.filter(candidates).first()
        if match is None:
            self.throttle_increment()
            return False
        match.delete()
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True


class RecoveryCode(models.Model):
    """One unused recovery code: its HMAC-SM3 under the named MAC key; deleted when used."""

    device = models.ForeignKey(RecoveryDevice, related_name="codes", on_delete=models.CASCADE)
    mac_key = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, db_index=True)

    def __str__(self):
        return f"{self.device} #{self.pk}"
