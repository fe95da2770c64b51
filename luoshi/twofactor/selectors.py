"""Reads for two-factor sign-in: who must use it, what a session still has to do, and device state."""

from django.conf import settings
from django.db.models import Exists, OuterRef

from luoshi.orgs import selectors as org_selectors
from luoshi.orgs.models import Role
from luoshi.security.selectors import current_policy
from luoshi.twofactor.models import AuthenticatorDevice, RecoveryCode, RecoveryDevice

# What a signed-in session must still do before it may use the platform (kept in the session).
STEP_SESSION_KEY = "twofactor_step"
VERIFY = "verify"
ENROL = "enrol"
NONE = ""


def two_factor_required(user) -> bool:
    """Admins and supervisors always (等保 §8.1.4.1 d); everyone else when the policy says so."""
    if not settings.TWO_FACTOR_ENFORCED:
        return False
    profile = org_selectors.access_profile(user)
    if profile.is_admin or profile.has(Role.SUPERVISOR):
        return True
    return current_policy().require_two_factor_for_all


def totp_device(user) -> AuthenticatorDevice | None:
    """The user's confirmed authenticator app; there is at most one."""
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()


def recovery_device(user) -> RecoveryDevice | None:
    return RecoveryDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(device__user=user, device__confirmed=True).count()


def pending_step(user) -> str:
    """What a fresh sign-in of ``user`` must do next: enter a code, enrol an app, or nothing.

    Anyone with a device enters a code, even where enrolment is not required: a second factor a
    user chose to add is never skipped.
    """
    if totp_device(user) is not None:
        return VERIFY
    if two_factor_required(user):
        return ENROL
    return NONE


def users_with_state(queryset):
    """``queryset`` annotated with ``has_two_factor`` for the security admin's list."""
    return queryset.annotate(
        has_two_factor=Exists(AuthenticatorDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    )
