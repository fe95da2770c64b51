"""Session rules applied to each request (等保 §8.1.4.1 b, §8.1.4.2): idle timeout, absolute lifetime.

What a request needs is kept in the session itself: when the session started, when activity was
last noted, and the two deadlines worked out from the policy then. A request only compares the
clock with them; at most once a minute (``REFRESH_SECONDS``) the policy is read again and the
registry's "last seen" is written, so a busy user costs no extra query per request.
"""

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from luoshi.audit.middleware import client_ip
from luoshi.security import services
from luoshi.security.models import SecurityPolicy, UserSession
from luoshi.security.selectors import current_policy, password_change_reason
from luoshi.security.services import SessionEndReason

SESSION_DATA = "luoshi_security"
PASSWORD_CHANGE = "luoshi_security_password"  # nosec B105 # a session key's name, not a password
REFRESH_SECONDS = 60

ENDED = "ended"  # the registry no longer has the session: the security admin or a sign-out elsewhere


def _deadlines(request, started: float, now: float, policy: SecurityPolicy) -> dict:
    return {
        "key": request.session.session_key,
        "seen": now,
        "idle_until": now + policy.idle_timeout_minutes * 60,
        "ends_at": started + policy.session_lifetime_hours * 3600,
    }


def start(request, user) -> None:
    """A new sign-in: register the session, set its deadlines, and note a password that must change."""
    policy = current_policy()
    if request.session.session_key is None:
        # Signing in over another person's session flushes it; the new one gets its key on saving.
        request.session.save()
    entry = services.register_session(
        user=user,
        session_key=request.session.session_key,
        ip_address=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )
    now = timezone.now().timestamp()
    request.session[SESSION_DATA] = {"id": entry.pk, "started": now, **_deadlines(request, now, now, policy)}
    reason = password_change_reason(user, policy)
    if reason:
        request.session[PASSWORD_CHANGE] = reason
    else:
        request.session.pop(PASSWORD_CHANGE, None)


def check(request) -> str | None:
    """Why the signed-in session of ``request`` must end now (a ``SessionEndReason`` or ``ENDED``)."""
    data = request.session.get(SESSION_DATA)
    if data is None:
        # Signed in before these rules existed: the session starts being governed now.
        start(request, request.user)
        return None
    now = timezone.now().timestamp()
    if now >= data["idle_until"]:
        return SessionEndReason.IDLE
    if now >= data["ends_at"]:
        return SessionEndReason.LIFETIME
    # A new key (the second factor and a password change renew it) is noted at once, so that ending
    # the session from the registry reaches it.
    if now - data["seen"] >= REFRESH_SECONDS or data.get("key") != request.session.session_key:
        if not services.touch_session(session_id=data["id"], session_key=request.session.session_key):
            return ENDED
        request.session[SESSION_DATA] = {
            **data,
            **_deadlines(request, data["started"], now, current_policy()),
        }
    return None


def rekey(request) -> None:
    """Note at once a key just renewed (``cycle_key``), so ending the session from the registry
    reaches it; ``check`` would otherwise notice on the next request."""
    data = request.session.get(SESSION_DATA)
    if data is not None and data.get("key") != request.session.session_key:
        services.touch_session(session_id=data["id"], session_key=request.session.session_key)
        request.session[SESSION_DATA] = {**data, "key": request.session.session_key}


END_MESSAGES = {
    SessionEndReason.IDLE: _("由于长时间未操作，您已自动退出登录，请重新登录。"),
    SessionEndReason.LIFETIME: _("本次登录已超过允许的最长时间，请重新登录。"),
    ENDED: _("您的会话已被结束，请重新登录。"),
}


def end(request, reason: str) -> None:
    """End the request's session for ``reason``: audited, flushed, and the user told why on sign-in."""
    data = request.session.get(SESSION_DATA) or {}
    if reason != ENDED:
        entry = UserSession.objects.filter(pk=data.get("id")).select_related("user").first()
        if entry is not None:
            # The session's own user is on record: this runs before the audit context is set.
            services.end_session(session=entry, reason=reason, actor=entry.user)
    request.session.flush()
    request.user = AnonymousUser()
    messages.warning(request, END_MESSAGES[reason])
