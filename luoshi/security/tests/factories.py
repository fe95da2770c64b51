"""Sessions and lockouts made the way the application makes them, for tests and the access matrix."""

from importlib import import_module

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils import timezone

from luoshi.security import services
from luoshi.security.models import UserSession
from luoshi.security.selectors import current_policy


def signed_in(
    user, *, ip_address: str = "10.0.0.8", user_agent: str = "Mozilla/5.0 测试浏览器"
) -> UserSession:
    """A stored, registered session signing ``user`` in, as from another browser."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return services.register_session(
        user=user, session_key=store.session_key, ip_address=ip_address, user_agent=user_agent
    )


def locked_out(username: str) -> AccessAttempt:
    """``username`` locked by as many failed sign-ins as the policy allows, just now."""
    return AccessAttempt.objects.create(
        username=username,
        ip_address="10.0.0.9",
        user_agent="Mozilla/5.0",
        get_data="",
        post_data="",
        http_accept="text/html",
        path_info="/accounts/login/",
        failures_since_start=current_policy().lockout_attempts,
        attempt_time=timezone.now(),
    )


def set_policy(**fields):
    """Save the policy with ``fields`` changed, as the security admin's form does."""
    policy = current_policy()
    values = {name: getattr(policy, name) for name in services.POLICY_FIELDS}
    return services.update_policy(version=policy.version, **{**values, **fields})
