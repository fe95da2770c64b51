"""Writes for identity and sessions: the policy, password changes, the session registry, lockouts."""

import datetime as dt
from importlib import import_module

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.security.models import AccountState, PasswordRecord, SecurityPolicy, UserSession
from luoshi.security.selectors import current_policy, locked_until

# The policy allows at most 24 remembered passwords; older hashes are of no use and are dropped.
PASSWORD_HISTORY_KEPT = 24

POLICY_FIELDS = (
    "min_length",
    "required_classes",
    "history_count",
    "max_age_days",
    "lockout_attempts",
    "lockout_minutes",
    "idle_timeout_minutes",
    "session_lifetime_hours",
    "require_two_factor_for_all",
)


class SessionEndReason(models.TextChoices):
    LOGOUT = "logout", gettext_lazy("退出登录")
    IDLE = "idle", gettext_lazy("无操作超时")
    LIFETIME = "lifetime", gettext_lazy("超过会话最长时间")
    ADMIN = "admin", gettext_lazy("安全管理员结束")
    DEACTIVATED = "deactivated", gettext_lazy("账号已停用")
    PASSWORD_RESET = "password_reset", gettext_lazy("管理员重置了密码")
    PASSWORD_CHANGED = "password_changed", gettext_lazy("本人修改了密码")
    POLICY = "policy", gettext_lazy("安全策略收紧")


# Policy ------------------------------------------------------------------------------------------


@transaction.atomic
def update_policy(*, version: int, **fields) -> SecurityPolicy:
    """Save the policy edited at ``version``; sessions already past the new limits end at once."""
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"not policy fields: {sorted(unknown)}")
    policy, _created = SecurityPolicy.objects.get_or_create(pk=1)
    policy.version = version
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.full_clean()
    policy.save()
    end_expired_sessions(policy=policy)
    return policy


# Passwords ---------------------------------------------------------------------------------------


@transaction.atomic
def record_password_change(user, *, by_admin: bool) -> PasswordRecord:
    """Remember ``user``'s new password (already set and saved) for the history and age rules.

    A password an administrator set must be changed by its owner at the next sign-in, and the
    owner's sessions end (Django would refuse them anyway, since the password hash changed).
    """
    now = timezone.now()
    entry = PasswordRecord.objects.create(
        user=user, password_hash=user.password, set_at=now, by_admin=by_admin
    )
    AccountState.objects.update_or_create(
        user=user, defaults={"password_changed_at": now, "must_change_password": by_admin}
    )
    dropped = list(
        PasswordRecord.objects.filter(user=user).values_list("pk", flat=True)[PASSWORD_HISTORY_KEPT:]
    )
    if dropped:
        PasswordRecord.objects.filter(pk__in=dropped).delete()
    if by_admin:
        end_all_sessions(user=user, reason=SessionEndReason.PASSWORD_RESET)
    return entry


@transaction.atomic
def require_password_change(user) -> AccountState:
    """Make ``user`` change their password at the next sign-in (e.g. an account made by bootstrap)."""
    flag = {"must_change_password": True}  # nosec B105 # a flag, not a password
    state, _created = AccountState.objects.update_or_create(user=user, defaults=flag)
    return state


@transaction.atomic
def change_own_password(*, user, old_password: str, new_password: str, current_session_key: str = ""):
    """A person changes their own password; their other sessions end, the current one stays."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": _("当前密码不正确。")})
    try:
        validate_password(new_password, user)
    except ValidationError as error:
        raise ValidationError({"new_password1": error.messages}) from None
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record(action=AuditAction.UPDATE, obj=user, user=user, after={"password": "******"})  # nosec B105 # a mask, not a password
    record_password_change(user, by_admin=False)
    end_all_sessions(
        user=user, reason=SessionEndReason.PASSWORD_CHANGED, keep_session_key=current_session_key
    )
    return user


# Sessions ----------------------------------------------------------------------------------------


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore()


def _end(rows) -> int:
    """End the sessions behind registry ``rows``: their stored data goes, so their cookies sign no one in."""
    rows = list(rows)
    store = _session_store()
    for row in rows:
        store.delete(row.session_key)
    UserSession.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return len(rows)


@transaction.atomic
def register_session(*, user, session_key: str, ip_address: str | None, user_agent: str) -> UserSession:
    """Enter a new signed-in session in the registry (and clear out sessions that have run out)."""
    end_expired_sessions()
    now = timezone.now()
    return UserSession.objects.create(
        user=user,
        session_key=session_key,
        created_at=now,
        last_seen=now,
        ip_address=ip_address,
        user_agent=user_agent[:300],
    )


def touch_session(*, session_id: int, session_key: str) -> bool:
    """Note activity (and the current key, which changes when a password is changed); False if ended."""
    return bool(
        UserSession.objects.filter(pk=session_id).update(last_seen=timezone.now(), session_key=session_key)
    )


@transaction.atomic
def end_session(*, session: UserSession, reason: str = SessionEndReason.ADMIN, actor=None) -> None:
    """End one session, audited as done by ``actor`` (by default whoever is making the request)."""
    _end([session])
    record(
        action=AuditAction.SESSION,
        obj=session.user,
        user=actor,
        after={"reason": str(reason), "sessions": 1, "ip_address": session.ip_address},
    )


@transaction.atomic
def end_all_sessions(*, user, reason: str, keep_session_key: str = "") -> int:
    """End every registered session of ``user`` (but ``keep_session_key``); how many were ended."""
    ended = _end(UserSession.objects.filter(user=user).exclude(session_key=keep_session_key))
    if ended:
        record(action=AuditAction.SESSION, obj=user, after={"reason": str(reason), "sessions": ended})
    return ended


@transaction.atomic
def end_sessions_at_sign_out(*, user, session_key: str) -> int:
    """Signing out ends every session of that person; the one signed out of is on the trail as the
    sign-out itself, the others (if any) as ended sessions."""
    _end(UserSession.objects.filter(session_key=session_key))
    return end_all_sessions(user=user, reason=SessionEndReason.LOGOUT)


@transaction.atomic
def end_expired_sessions(policy: SecurityPolicy | None = None) -> int:
    """End sessions idle for longer, or open for longer, than the policy allows."""
    policy = policy or current_policy()
    now = timezone.now()
    expired = UserSession.objects.filter(
        models.Q(last_seen__lt=now - dt.timedelta(minutes=policy.idle_timeout_minutes))
        | models.Q(created_at__lt=now - dt.timedelta(hours=policy.session_lifetime_hours))
    )
    return _end(expired)


# Lockouts ----------------------------------------------------------------------------------------


@transaction.atomic
def unlock_account(*, username: str) -> int:
    """Lift the lockout of ``username`` before its cool-off ends (the security admin's action)."""
    until = locked_until(username)
    if until is None:
        raise ValidationError(_("账号「%(name)s」未被锁定。") % {"name": username})
    cleared = axes_reset(username=username)
    user = get_user_model().objects.filter(username=username).first()
    record(
        action=AuditAction.UPDATE,
        obj=user,
        object_repr=username,
        before={"locked_until": until.isoformat()},
        after={"locked_until": None},
    )
    return cleared
