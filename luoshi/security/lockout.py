"""django-axes reads the lockout rules from the security policy through these (settings.AXES_*)."""

import datetime as dt

from luoshi.security.models import SecurityPolicy
from luoshi.security.selectors import current_policy, lockout_duration


def _policy(request) -> SecurityPolicy:
    # Axes asks several times while handling one failed sign-in; read the row once per request.
    if request is None:
        return current_policy()
    policy = getattr(request, "_security_policy", None)
    if policy is None:
        policy = request._security_policy = current_policy()
    return policy


def failure_limit(request, credentials) -> int:
    return _policy(request).lockout_attempts


def cool_off(request) -> dt.timedelta:
    return lockout_duration(_policy(request))
