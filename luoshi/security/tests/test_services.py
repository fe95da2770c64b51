import datetime as dt
from types import SimpleNamespace

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.utils import timezone

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core.exceptions import StaleObjectError
from luoshi.orgs import services as org_services
from luoshi.security import lockout, selectors, services
from luoshi.security.models import AccountState, PasswordRecord, SecurityPolicy, UserSession
from luoshi.security.tests.factories import locked_out, set_policy, signed_in

# Policy ------------------------------------------------------------------------------------------


def test_update_policy_is_versioned_validated_and_audited(db):
    policy = set_policy(min_length=12)
    assert SecurityPolicy.objects.get(pk=1).min_length == 12 and policy.version == 2
    event = AuditEvent.objects.filter(
        object_type="security.SecurityPolicy", action=AuditAction.UPDATE
    ).first()
    assert event.before == {"min_length": 10} and event.after == {"min_length": 12}

    with pytest.raises(StaleObjectError):
        services.update_policy(version=1, min_length=14)
    with pytest.raises(ValidationError) as error:
        services.update_policy(version=2, min_length=4)
    assert "min_length" in error.value.message_dict
    assert selectors.current_policy().min_length == 12


def test_tightening_the_idle_timeout_ends_sessions_idle_longer(world):
    idle = signed_in(world.handler)
    busy = signed_in(world.lead_liaison)
    UserSession.objects.filter(pk=idle.pk).update(last_seen=timezone.now() - dt.timedelta(minutes=20))
    set_policy(idle_timeout_minutes=15)
    assert list(UserSession.objects.values_list("pk", flat=True)) == [busy.pk]
    assert not Session.objects.filter(session_key=idle.session_key).exists()


# Passwords ---------------------------------------------------------------------------------------


def test_an_admin_set_password_must_be_changed_and_ends_sessions(world):
    session = signed_in(world.handler)
    org_services.set_password(user=world.handler, password="Chongzhi-2026-mima")
    state = AccountState.objects.get(user=world.handler)
    assert state.must_change_password and state.password_changed_at is not None
    assert PasswordRecord.objects.get(user=world.handler).by_admin
    assert selectors.password_change_reason(world.handler) == selectors.MUST_CHANGE
    assert not UserSession.objects.filter(pk=session.pk).exists()


def test_a_new_account_from_the_admin_screen_must_change_its_password(world):
    user = org_services.create_account(username="newcomer", full_name="新同事", password="Chushi-mima-2026")
    assert selectors.password_change_reason(user) == selectors.MUST_CHANGE


def test_accounts_made_by_code_are_not_forced(world):
    assert not AccountState.objects.filter(user=world.handler).exists()
    assert selectors.password_change_reason(world.handler) is None


def test_require_password_change(world):
    services.require_password_change(world.handler)
    assert selectors.password_change_reason(world.handler) == selectors.MUST_CHANGE


def test_history_is_bounded(world):
    for _change in range(services.PASSWORD_HISTORY_KEPT + 3):
        services.record_password_change(world.handler, by_admin=False)
    assert PasswordRecord.objects.filter(user=world.handler).count() == services.PASSWORD_HISTORY_KEPT


def test_change_own_password(world):
    user = world.handler
    services.require_password_change(user)
    here = signed_in(user)
    elsewhere = signed_in(user)

    with pytest.raises(ValidationError) as error:
        services.change_own_password(user=user, old_password="wrong", new_password="Xin-mima-2026-a")
    assert error.value.message_dict == {"old_password": ["当前密码不正确。"]}
    with pytest.raises(ValidationError) as error:
        services.change_own_password(user=user, old_password=world.password, new_password=world.password)
    assert list(error.value.message_dict) == ["new_password1"]

    services.change_own_password(
        user=user,
        old_password=world.password,
        new_password="Xin-mima-2026-a",
        current_session_key=here.session_key,
    )
    assert user.check_password("Xin-mima-2026-a")
    assert selectors.password_change_reason(user) is None
    assert list(UserSession.objects.filter(user=user).values_list("pk", flat=True)) == [here.pk]
    assert not Session.objects.filter(session_key=elsewhere.session_key).exists()
    assert AuditEvent.objects.filter(object_id=str(user.pk), after={"password": "******"}).exists()


def test_password_age(world):
    user = world.handler
    set_policy(max_age_days=30)
    assert selectors.password_change_reason(user) is None
    user.date_joined = timezone.now() - dt.timedelta(days=31)
    assert selectors.password_change_reason(user) == selectors.EXPIRED
    services.record_password_change(user, by_admin=False)
    assert selectors.password_change_reason(user) is None
    AccountState.objects.filter(user=user).update(password_changed_at=timezone.now() - dt.timedelta(days=31))
    assert selectors.password_change_reason(user) == selectors.EXPIRED
    set_policy(max_age_days=0)
    assert selectors.password_change_reason(user) is None


def test_no_password_no_change(world):
    set_policy(max_age_days=30)
    world.handler.set_unusable_password()
    world.handler.date_joined = timezone.now() - dt.timedelta(days=31)
    assert selectors.password_change_reason(world.handler) is None


# Sessions ----------------------------------------------------------------------------------------


def test_end_session_and_all_sessions_are_audited(world):
    one, two, _three = (signed_in(world.handler) for _browser in range(3))
    services.end_session(session=one)
    assert not Session.objects.filter(session_key=one.session_key).exists()
    event = AuditEvent.objects.filter(action=AuditAction.SESSION).first()
    assert event.after == {"reason": "admin", "sessions": 1, "ip_address": "10.0.0.8"}

    assert (
        services.end_all_sessions(user=world.handler, reason="admin", keep_session_key=two.session_key) == 1
    )
    assert list(UserSession.objects.values_list("pk", flat=True)) == [two.pk]
    assert services.end_all_sessions(user=world.lead_liaison, reason="admin") == 0


def test_deactivating_ends_sessions(world):
    signed_in(world.handler)
    org_services.deactivate_user(user=world.handler)
    assert not UserSession.objects.filter(user=world.handler).exists()
    assert AuditEvent.objects.filter(action=AuditAction.SESSION, after__reason="deactivated").exists()


def test_registering_clears_out_run_out_sessions(world):
    old = signed_in(world.handler)
    UserSession.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(hours=13))
    signed_in(world.lead_liaison)
    assert not UserSession.objects.filter(pk=old.pk).exists()


def test_live_sessions(world):
    live = signed_in(world.handler)
    stale = signed_in(world.lead_liaison)
    UserSession.objects.filter(pk=stale.pk).update(last_seen=timezone.now() - dt.timedelta(minutes=31))
    assert list(selectors.live_sessions()) == [live]


def test_touch_session(world):
    entry = signed_in(world.handler)
    assert services.touch_session(session_id=entry.pk, session_key="k" * 32)
    assert UserSession.objects.get(pk=entry.pk).session_key == "k" * 32
    entry.delete()
    assert not services.touch_session(session_id=entry.pk, session_key="k" * 32)


# Lockouts ----------------------------------------------------------------------------------------


def test_locked_until_and_the_list(world):
    set_policy(lockout_attempts=3, lockout_minutes=10)
    assert selectors.locked_until("handler") is None
    attempt = locked_out("handler")
    assert selectors.locked_until("handler") == attempt.attempt_time + dt.timedelta(minutes=10)
    [row] = selectors.locked_accounts()
    assert row["username"] == "handler" and row["failures"] == 3 and row["attempt_id"] == attempt.pk
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=11))
    assert selectors.locked_until("handler") is None and selectors.locked_accounts() == []


def test_unlock_account(world):
    with pytest.raises(ValidationError, match="未被锁定"):
        services.unlock_account(username="handler")
    locked_out("handler")
    assert services.unlock_account(username="handler") == 1
    assert not AccessAttempt.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(world.handler.pk))
    assert event.after == {"locked_until": None} and event.before["locked_until"]


def test_axes_reads_the_policy_once_per_request(db, django_assert_num_queries):
    set_policy(lockout_attempts=7, lockout_minutes=15)
    request = SimpleNamespace()
    with django_assert_num_queries(1):
        assert lockout.failure_limit(request, {}) == 7
        assert lockout.cool_off(request) == dt.timedelta(minutes=15)
    assert lockout.cool_off(None) == dt.timedelta(minutes=15)


def test_sign_out_ends_the_others_and_audits_only_them(world):
    here, there = signed_in(world.handler), signed_in(world.handler)
    assert services.end_sessions_at_sign_out(user=world.handler, session_key=here.session_key) == 1
    assert not UserSession.objects.exists()
    assert not Session.objects.filter(session_key__in=[here.session_key, there.session_key]).exists()
    assert AuditEvent.objects.get(action=AuditAction.SESSION).after == {"reason": "logout", "sessions": 1}
    services.end_sessions_at_sign_out(user=world.handler, session_key="")
    assert AuditEvent.objects.filter(action=AuditAction.SESSION).count() == 1
