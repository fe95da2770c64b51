"""Reads of the security policy, people's password state, live sessions and locked accounts."""

import datetime as dt

from axes.models import AccessAttempt
from django.db.models import Max, Min, Sum
from django.utils import timezone

from luoshi.security.models import AccountState, PasswordRecord, SecurityPolicy, UserSession

# Why a signed-in person must change their password before anything else (kept in their session).
MUST_CHANGE = "must_change"
EXPIRED = "expired"


def current_policy() -> SecurityPolicy:
    """The policy in force: the stored row, or the defaults until the security admin saves one."""
    return SecurityPolicy.objects.filter(pk=1).first() or SecurityPolicy(pk=1)


def password_change_reason(user, policy: SecurityPolicy | None = None) -> str | None:
    """``MUST_CHANGE`` (an admin set it), ``EXPIRED`` (older than the policy allows) or ``None``.

    A person with no recorded change (accounts made before this rule, or by the demo) is aged
    from the day the account was created.
    """
    if not user.has_usable_password():
        return None
    state = AccountState.objects.filter(user=user).first()
    if state is not None and state.must_change_password:
        return MUST_CHANGE
    policy = policy or current_policy()
    if not policy.max_age_days:
        return None
    changed_at = state.password_changed_at if state and state.password_changed_at else user.date_joined
    if timezone.now() - changed_at > dt.timedelta(days=policy.max_age_days):
        return EXPIRED
    return None


def recent_password_hashes(user, count: int) -> list[str]:
    """The hashes of ``user``'s last ``count`` passwords, the current one first."""
    if count <= 0:
        return []
    hashes = list(PasswordRecord.objects.filter(user=user).values_list("password_hash", flat=True)[:count])
    if user.password and user.password not in hashes:
        hashes = [user.password, *hashes[: count - 1]]
    return hashes


def live_sessions(policy: SecurityPolicy | None = None):
    """Sessions still within the idle timeout and the absolute lifetime, newest activity first."""
    policy = policy or current_policy()
    now = timezone.now()
    return UserSession.objects.filter(
        last_seen__gte=now - dt.timedelta(minutes=policy.idle_timeout_minutes),
        created_at__gte=now - dt.timedelta(hours=policy.session_lifetime_hours),
    ).select_related("user")


def lockout_duration(policy: SecurityPolicy | None = None) -> dt.timedelta:
    return dt.timedelta(minutes=(policy or current_policy()).lockout_minutes)


def locked_until(username: str, policy: SecurityPolicy | None = None) -> dt.datetime | None:
    """When ``username`` may sign in again, or ``None`` if it is not locked."""
    policy = policy or current_policy()
    cool_off = lockout_duration(policy)
    row = AccessAttempt.objects.filter(
        username=username, attempt_time__gte=timezone.now() - cool_off
    ).aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    if not row["failures"] or row["failures"] < policy.lockout_attempts:
        return None
    return row["last"] + cool_off


def locked_accounts(policy: SecurityPolicy | None = None) -> list[dict]:
    """Usernames locked now: ``username``, ``failures``, ``until`` and ``attempt_id`` (to unlock by)."""
    policy = policy or current_policy()
    cool_off = lockout_duration(policy)
    rows = (
        AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - cool_off)
        .values("username")
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"), attempt_id=Min("id"))
        .filter(failures__gte=policy.lockout_attempts)
        .order_by("-last")
    )
    return [
        {
            "username": row["username"],
            "failures": row["failures"],
            "until": row["last"] + cool_off,
            "attempt_id": row["attempt_id"],
        }
        for row in rows
    ]
