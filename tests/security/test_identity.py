"""Identification, authentication and sessions (等保 2.0 §8.1.4.1, §8.1.4.2), through the real screens.

Sign-in lockout, the password rules and forced changes, idle and absolute session timeouts, and
ending sessions (sign-out, deactivation, the security admin). Signing in goes through the login form,
so axes, the session registry and the middleware all take part.
"""

import datetime as dt
import itertools
import re
from unittest import mock

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.orgs.models import User
from luoshi.security.models import AccountState, UserSession
from luoshi.security.tests.factories import set_policy

MY_WORK = reverse("ledgers:my_work")
LOGIN = reverse("login")
CHANGE = reverse("security:password_change")


def sign_in(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def signed_in_client(username, password) -> Client:
    client = Client()
    response = sign_in(client, username, password)
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def at(moment):
    """The clock of the session rules moved to ``moment``."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def text(response) -> str:
    return response.content.decode()


# Lockout -----------------------------------------------------------------------------------------


LOCK_MESSAGE = re.compile(r"账号已锁定，请于 (?:\d{4}-\d{2}-\d{2} )?(\d{2}:\d{2}) 后再试")


def _expected_unlock_minute(username: str, minutes: int) -> str:
    last = AccessAttempt.objects.filter(username=username).latest("attempt_time").attempt_time
    until = timezone.localtime(last + dt.timedelta(minutes=minutes))
    rounded = (until + dt.timedelta(seconds=59, microseconds=999_999)).replace(second=0, microsecond=0)
    return f"{rounded:%H:%M}"


def _lock(client, username, attempts):
    for _attempt in range(attempts - 1):
        response = sign_in(client, username, "Wrong-password-1")
        assert response.status_code == 200 and "用户名或密码不正确" in text(response)
    return sign_in(client, username, "Wrong-password-1")


def test_lockout_after_the_policy_failures_refuses_even_the_right_password(client, world):
    set_policy(lockout_attempts=3, lockout_minutes=10)

    response = _lock(client, "handler", 3)
    assert response.status_code == 429
    match = LOCK_MESSAGE.search(text(response))
    assert match, text(response)
    assert match.group(1) == _expected_unlock_minute("handler", 10)

    response = sign_in(client, "handler", world.password)
    assert response.status_code == 429 and LOCK_MESSAGE.search(text(response))
    assert SESSION_KEY not in client.session
    # Another account is not affected.
    assert sign_in(Client(), "lead_liaison", world.password).status_code == 302


def test_trying_while_locked_does_not_move_the_unlock_time(client, world):
    set_policy(lockout_attempts=3, lockout_minutes=10)
    named = LOCK_MESSAGE.search(text(_lock(client, "handler", 3))).group(1)
    locked_at = AccessAttempt.objects.get(username="handler").attempt_time

    again = LOCK_MESSAGE.search(text(sign_in(client, "handler", world.password))).group(1)

    assert again == named
    assert AccessAttempt.objects.get(username="handler").attempt_time == locked_at


def test_the_account_opens_again_after_the_cool_off(client, world):
    set_policy(lockout_attempts=3, lockout_minutes=10)
    _lock(client, "handler", 3)
    # Eleven minutes pass: the last failure is now older than the cool-off.
    AccessAttempt.objects.filter(username="handler").update(
        attempt_time=timezone.now() - dt.timedelta(minutes=11)
    )
    response = sign_in(client, "handler", world.password)
    assert response.status_code == 302 and response.url == MY_WORK
    assert not AccessAttempt.objects.filter(username="handler").exists()  # reset on success


def test_success_resets_the_failure_count(client, world):
    set_policy(lockout_attempts=3, lockout_minutes=10)
    for _attempt in range(2):
        sign_in(client, "handler", "Wrong-password-1")
    assert sign_in(client, "handler", world.password).status_code == 302
    client.post(reverse("logout"))
    for _attempt in range(2):
        assert sign_in(client, "handler", "Wrong-password-1").status_code == 200
    assert sign_in(client, "handler", world.password).status_code == 302


def test_security_admin_sees_and_unlocks_a_locked_account(client, world):
    set_policy(lockout_attempts=3, lockout_minutes=30)
    _lock(Client(), "handler", 3)

    client.force_login(world.security_admin)
    response = client.get(reverse("security:lockout_list"))
    assert response.status_code == 200
    page = text(response)
    assert "handler" in page and world.handler.full_name in page
    attempt = AccessAttempt.objects.filter(username="handler").first()

    response = client.post(reverse("security:unlock", args=[attempt.pk]), follow=True)
    assert "账号「handler」已解锁" in text(response)
    assert "handler" not in text(client.get(reverse("security:lockout_list")))
    event = AuditEvent.objects.filter(object_type="orgs.User", object_id=str(world.handler.pk)).first()
    assert event.action == AuditAction.UPDATE and event.username == world.security_admin.username
    assert event.after == {"locked_until": None}

    assert sign_in(Client(), "handler", world.password).status_code == 302


# Sessions ----------------------------------------------------------------------------------------


def test_sign_in_gives_a_new_session_id(client, world):
    session = client.session
    session["visited"] = True
    session.save()
    before = session.session_key

    assert sign_in(client, "handler", world.password).status_code == 302

    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert UserSession.objects.get(user=world.handler).session_key == after


def test_idle_session_ends_with_a_message(world):
    set_policy(idle_timeout_minutes=30, session_lifetime_hours=12)
    client = signed_in_client("handler", world.password)
    start = timezone.now()
    with at(start + dt.timedelta(minutes=20)):
        assert client.get(MY_WORK).status_code == 200
    # 45 minutes after sign-in but only 25 after the last request: still signed in.
    with at(start + dt.timedelta(minutes=45)):
        assert client.get(MY_WORK).status_code == 200
    with at(start + dt.timedelta(minutes=76)):
        response = client.get(MY_WORK)
    assert response.status_code == 302 and response.url == f"{LOGIN}?next=%2F{MY_WORK.strip('/')}%2F"
    assert "由于长时间未操作，您已自动退出登录" in text(client.get(response.url))
    assert client.get(MY_WORK).status_code == 302
    assert not UserSession.objects.filter(user=world.handler).exists()
    event = AuditEvent.objects.filter(action=AuditAction.SESSION).first()
    assert event.after["reason"] == "idle" and event.object_id == str(world.handler.pk)
    assert event.username == "handler"


def test_session_ends_at_its_absolute_lifetime_however_busy(world):
    set_policy(idle_timeout_minutes=30, session_lifetime_hours=1)
    client = signed_in_client("handler", world.password)
    start = timezone.now()
    for minutes in (25, 50):
        with at(start + dt.timedelta(minutes=minutes)):
            assert client.get(MY_WORK).status_code == 200
    with at(start + dt.timedelta(minutes=61)):
        response = client.get(MY_WORK)
    assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert "本次登录已超过允许的最长时间" in text(client.get(response.url))


def test_an_htmx_request_after_timeout_moves_the_whole_page(world):
    set_policy(idle_timeout_minutes=30)
    client = signed_in_client("handler", world.password)
    with at(timezone.now() + dt.timedelta(minutes=31)):
        response = client.get(MY_WORK, headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == LOGIN


def test_sign_out_ends_every_session_of_that_user(world):
    office = signed_in_client("handler", world.password)
    home = signed_in_client("handler", world.password)
    other = signed_in_client("lead_liaison", world.password)
    assert UserSession.objects.filter(user=world.handler).count() == 2

    office.post(reverse("logout"))

    assert home.get(MY_WORK).status_code == 302
    assert not UserSession.objects.filter(user=world.handler).exists()
    assert other.get(MY_WORK).status_code == 200


def test_deactivating_a_user_ends_all_their_sessions(client, world):
    sessions = [signed_in_client("handler", world.password) for _browser in range(2)]
    client.force_login(world.system_admin)
    data = {"full_name": world.handler.full_name, "username": "handler", "is_active": ""}
    assert client.post(reverse("orgs:user_edit", args=[world.handler.pk]), data).status_code == 302

    for browser in sessions:
        assert browser.get(MY_WORK).status_code == 302
    assert not UserSession.objects.filter(user=world.handler).exists()
    event = AuditEvent.objects.filter(action=AuditAction.SESSION).first()
    assert event.after == {"reason": "deactivated", "sessions": 2}


def test_security_admin_ends_one_session_then_all_of_a_users(client, world):
    office = signed_in_client("handler", world.password)
    home = signed_in_client("handler", world.password)
    office_session = UserSession.objects.get(session_key=office.cookies[settings.SESSION_COOKIE_NAME].value)

    client.force_login(world.security_admin)
    page = text(client.get(reverse("security:session_list")))
    assert page.count(world.handler.full_name) >= 2

    response = client.post(reverse("security:session_end", args=[office_session.pk]), follow=True)
    assert "已结束" in text(response)
    assert office.get(MY_WORK).status_code == 302
    assert home.get(MY_WORK).status_code == 200

    client.post(reverse("security:user_sessions_end", args=[world.handler.pk]))
    assert home.get(MY_WORK).status_code == 302
    events = AuditEvent.objects.filter(action=AuditAction.SESSION, username=world.security_admin.username)
    assert events.count() == 2


# Password rules ----------------------------------------------------------------------------------


def _change(client, old, new):
    return client.post(CHANGE, {"old_password": old, "new_password1": new, "new_password2": new})


def _errors(response) -> list[str]:
    return response.context["form"].errors.get("new_password1", [])


def test_the_admins_password_hint_states_the_policy_in_force(client, world):
    set_policy(min_length=14, required_classes=4)
    client.force_login(world.system_admin)
    hint = client.get(reverse("orgs:user_create")).context["form"].fields["password"].help_text
    assert "至少 14 个字符" in hint and "至少 4 类" in hint


def test_password_rules_on_the_change_page(client, world):
    set_policy(min_length=12, required_classes=3, history_count=3)
    client.force_login(world.handler)
    page = text(client.get(CHANGE))
    assert "至少 12 个字符" in page and "至少 3 类" in page

    assert any("至少须有 12 个字符" in e for e in _errors(_change(client, world.password, "Ab1-short")))
    assert any("至少 3 类" in e for e in _errors(_change(client, world.password, "onlylowercaseletters")))
    set_policy(min_length=10, required_classes=2)
    assert "这个密码太常见了。" in _errors(_change(client, world.password, "1qaz2wsx3edc"))
    assert fresh_password_is(world.handler, world.password)


def fresh_password_is(user, password) -> bool:
    return User.objects.get(pk=user.pk).check_password(password)


def test_a_recent_password_cannot_be_reused(client, world):
    set_policy(history_count=3)
    client.force_login(world.handler)
    passwords = [world.password, "Xin-mima-2026-a", "Xin-mima-2026-b", "Xin-mima-2026-c"]
    for old, new in itertools.pairwise(passwords):
        response = _change(client, old, new)
        assert response.status_code == 302, _errors(response)
    # The last three (a, b and the current c) may not come back; the one before them may.
    for reused in passwords[1:]:
        assert any("最近 3 次" in e for e in _errors(_change(client, passwords[-1], reused))), reused
    assert _change(client, passwords[-1], world.password).status_code == 302


def test_an_expired_password_must_be_changed_before_anything_else(client, world):
    set_policy(max_age_days=90)
    AccountState.objects.update_or_create(
        user=world.handler, defaults={"password_changed_at": timezone.now() - dt.timedelta(days=91)}
    )
    assert sign_in(client, "handler", world.password).status_code == 302
    response = client.get(MY_WORK)
    assert response.status_code == 302 and response.url == CHANGE
    assert client.get(reverse("ledgers:item_list")).url == CHANGE
    assert "您的密码已超过有效期" in text(client.get(CHANGE))

    response = _change(client, world.password, "Xin-mima-2026-ok")
    assert response.status_code == 302
    assert client.get(MY_WORK).status_code == 200


def test_sign_out_stays_possible_while_a_change_is_due(client, world):
    set_policy(max_age_days=30)
    User.objects.filter(pk=world.handler.pk).update(date_joined=timezone.now() - dt.timedelta(days=31))
    sign_in(client, "handler", world.password)
    assert client.get(MY_WORK).url == CHANGE
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == LOGIN


def test_a_password_set_by_an_admin_must_be_changed_at_next_sign_in(client, world):
    client.force_login(world.system_admin)
    new = "Chongzhi-2026-mima"
    data = {
        "full_name": world.handler.full_name,
        "username": "handler",
        "is_active": "on",
        "password": new,
        "password_confirm": new,
    }
    assert client.post(reverse("orgs:user_edit", args=[world.handler.pk]), data).status_code == 302

    person = Client()
    assert sign_in(person, "handler", new).status_code == 302
    assert person.get(MY_WORK).url == CHANGE
    assert "您的密码由管理员设置" in text(person.get(CHANGE))
    assert _change(person, new, "Ziji-de-mima-2026").status_code == 302
    assert person.get(MY_WORK).status_code == 200
    # And the next sign-in is not sent to the change page again.
    person.post(reverse("logout"))
    sign_in(person, "handler", "Ziji-de-mima-2026")
    assert person.get(MY_WORK).status_code == 200


def test_accounts_made_by_fixtures_are_not_forced(client, world):
    assert sign_in(client, "handler", world.password).status_code == 302
    assert client.get(MY_WORK).status_code == 200


def test_the_world_password_meets_the_default_policy(world):
    validate_password(world.password, User(username="new", full_name="新用户"))


def test_the_registry_follows_a_renewed_session_key(world):
    client = signed_in_client("handler", world.password)
    assert _change(client, world.password, "Xin-mima-2026-a").status_code == 302
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(MY_WORK).status_code == 200
    entry = UserSession.objects.get(user=world.handler)
    assert entry.session_key == key

    admin = Client()
    admin.force_login(world.security_admin)
    admin.post(reverse("security:session_end", args=[entry.pk]))
    assert client.get(MY_WORK).status_code == 302
