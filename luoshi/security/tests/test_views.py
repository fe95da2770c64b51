import pytest
from django.conf import settings
from django.urls import reverse

from luoshi.security import sessions
from luoshi.security.models import SecurityPolicy, UserSession
from luoshi.security.selectors import current_policy
from luoshi.security.services import POLICY_FIELDS
from luoshi.security.tests.factories import set_policy, signed_in

POLICY = reverse("security:policy")


def policy_data(**changes) -> dict:
    policy = current_policy()
    data = {name: getattr(policy, name) for name in POLICY_FIELDS}
    data["require_two_factor_for_all"] = "on" if policy.require_two_factor_for_all else ""
    return {**data, "version": policy.version, **changes}


def test_security_admin_edits_the_policy(client, world):
    client.force_login(world.security_admin)
    response = client.get(POLICY)
    assert response.status_code == 200 and "密码最短长度" in response.content.decode()

    response = client.post(POLICY, policy_data(min_length=14, lockout_minutes=45), follow=True)
    assert "安全策略已保存" in response.content.decode()
    policy = SecurityPolicy.objects.get(pk=1)
    assert (policy.min_length, policy.lockout_minutes) == (14, 45)


def test_policy_out_of_range_is_shown_on_the_form(client, world):
    client.force_login(world.security_admin)
    response = client.post(POLICY, policy_data(min_length=4))
    assert response.status_code == 200 and response.context["form"].errors["min_length"]
    assert not SecurityPolicy.objects.exists()


def test_policy_saved_by_someone_else_meanwhile_is_a_conflict(client, world):
    client.force_login(world.security_admin)
    loaded = policy_data(min_length=14)
    set_policy(min_length=16)
    response = client.post(POLICY, loaded)
    assert response.status_code == 409
    assert response.context["stale"].min_length == 16
    assert SecurityPolicy.objects.get(pk=1).min_length == 16
    resubmitted = {**loaded, "version": response.context["form"].data["version"]}
    assert client.post(POLICY, resubmitted).status_code == 302
    assert SecurityPolicy.objects.get(pk=1).min_length == 14


def test_session_list_filters_and_does_not_query_per_row(client, world, django_assert_max_num_queries):
    for user in (world.handler, world.lead_liaison, world.co_liaison):
        signed_in(user, ip_address="10.1.2.3")
    client.force_login(world.security_admin)
    url = reverse("security:session_list")
    response = client.get(url, {"q": world.handler.full_name})
    page = response.content.decode()
    assert world.handler.full_name in page and world.co_liaison.full_name not in page
    assert "10.1.2.3" in page
    with django_assert_max_num_queries(12):
        client.get(url)


def test_security_admin_cannot_end_their_own_session_from_the_list(client, world):
    client.force_login(world.security_admin)
    own = UserSession.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    response = client.post(reverse("security:session_end", args=[own.pk]), follow=True)
    assert "退出" in response.content.decode()
    assert UserSession.objects.filter(pk=own.pk).exists()


def test_ending_sessions_of_a_user_without_any(client, world):
    client.force_login(world.security_admin)
    response = client.post(reverse("security:user_sessions_end", args=[world.handler.pk]), follow=True)
    assert "没有可结束的会话" in response.content.decode()


def test_lockout_list_when_nobody_is_locked(client, world):
    client.force_login(world.security_admin)
    assert "当前没有被锁定的账号" in client.get(reverse("security:lockout_list")).content.decode()


def test_navigation_links(client, world):
    client.force_login(world.security_admin)
    page = client.get(reverse("security:lockout_list")).content.decode()
    assert POLICY in page and reverse("security:password_change") in page
    client.force_login(world.handler)
    page = client.get(reverse("ledgers:my_work")).content.decode()
    assert POLICY not in page and reverse("security:password_change") in page


def test_password_change_form_checks_the_confirmation(client, world):
    client.force_login(world.handler)
    url = reverse("security:password_change")
    response = client.post(
        url, {"old_password": world.password, "new_password1": "Xin-mima-2026-a", "new_password2": "other"}
    )
    assert response.context["form"].errors["new_password2"] == ["两次输入的新密码不一致。"]
    response = client.post(
        url, {"old_password": "wrong", "new_password1": "Xin-mima-2026-a", "new_password2": "Xin-mima-2026-a"}
    )
    assert response.context["form"].errors["old_password"] == ["当前密码不正确。"]


@pytest.mark.parametrize("name", ["twofactor:verify", "twofactor:enrol", "logout"])
def test_a_pending_password_change_leaves_the_sign_in_steps_reachable(client, world, name):
    client.force_login(world.handler)
    session = client.session
    session[sessions.PASSWORD_CHANGE] = "must_change"
    session.save()
    assert client.get(reverse("ledgers:my_work")).url == reverse("security:password_change")
    response = client.get(reverse(name))
    assert response.status_code != 302 or response.url != reverse("security:password_change")


def test_a_pending_password_change_answers_htmx_with_a_page_move(client, world):
    client.force_login(world.handler)
    session = client.session
    session[sessions.PASSWORD_CHANGE] = "expired"
    session.save()
    response = client.get(reverse("ledgers:item_list"), headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == reverse("security:password_change")
