"""OIDC sign-in with the provider mocked: ID tokens signed HS256 with the client secret, the token and
userinfo endpoints answered by a stand-in for ``requests``."""

from unittest import mock
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.orgs import services as org_services
from luoshi.orgs.models import User
from luoshi.twofactor import oidc

SECRET = "client-secret-for-tests-0123456789"
PROVIDER = "https://idp.example.gov.cn"


@pytest.fixture
def provider(settings):
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = "luoshi"
    settings.OIDC_RP_CLIENT_SECRET = SECRET
    settings.OIDC_RP_SIGN_ALGO = "HS256"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{PROVIDER}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{PROVIDER}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{PROVIDER}/userinfo"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, oidc.BACKEND]


def _answer(payload):
    response = mock.Mock(status_code=200, headers={"content-type": "application/json"})
    response.json.return_value = payload
    return response


def sign_in_through_provider(client, claims: dict, *, secret: str = SECRET):
    """Start at our sign-in button, let the provider vouch for ``claims``, and return the callback's answer."""
    start = client.get(reverse("twofactor:oidc_sign_in"))
    assert start.status_code == 302 and start["Location"].startswith(f"{PROVIDER}/authorize?")
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    id_token = jwt.encode(
        {"iss": PROVIDER, "aud": "luoshi", "sub": "42", "nonce": query["nonce"][0]}, secret, algorithm="HS256"
    )
    with mock.patch("mozilla_django_oidc.auth.requests") as requests:
        requests.post.return_value = _answer({"id_token": id_token, "access_token": "access"})
        requests.get.return_value = _answer(claims)
        return client.get(reverse("twofactor:oidc_callback"), {"code": "code-1", "state": query["state"][0]})


def _signed_in(client):
    return client.session.get("_auth_user_id")


def _errors(response):
    return [str(message) for message in get_messages(response.wsgi_request) if message.level_tag == "error"]


def test_a_known_user_is_signed_in(client, world, provider):
    response = sign_in_through_provider(client, {"preferred_username": "lead_liaison"})
    assert response.status_code == 302 and response["Location"] == reverse("ledgers:my_work")
    assert _signed_in(client) == str(world.lead_liaison.pk)
    assert client.get(reverse("ledgers:my_work")).status_code == 200


def test_the_claim_that_names_the_account_is_configurable(client, world, provider, settings):
    settings.OIDC_USERNAME_CLAIM = "employee_no"
    sign_in_through_provider(client, {"preferred_username": "someone", "employee_no": "handler"})
    assert _signed_in(client) == str(world.handler.pk)


def test_an_unknown_user_is_refused_and_no_account_is_made(client, world, provider):
    users = User.objects.count()
    response = sign_in_through_provider(client, {"preferred_username": "stranger"})
    assert response["Location"] == reverse("login")
    assert _signed_in(client) is None
    assert any("没有对应的账号" in error for error in _errors(response))
    assert User.objects.count() == users
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, username="stranger").exists()


def test_a_deactivated_user_is_refused(client, world, provider):
    org_services.deactivate_user(user=world.handler)
    response = sign_in_through_provider(client, {"preferred_username": "handler"})
    assert _signed_in(client) is None
    assert any("已停用" in error for error in _errors(response))


def test_a_token_not_signed_with_the_client_secret_is_refused(client, world, provider):
    forged = "a-forged-secret-of-the-same-length-0123"
    response = sign_in_through_provider(client, {"preferred_username": "handler"}, secret=forged)
    assert response["Location"] == reverse("login")
    assert _signed_in(client) is None
    assert any("统一身份认证登录未完成" in error for error in _errors(response))


def test_an_answer_for_another_sign_in_is_refused(client, world, provider):
    client.get(reverse("twofactor:oidc_sign_in"))
    response = client.get(reverse("twofactor:oidc_callback"), {"code": "code-1", "state": "not-ours"})
    assert response["Location"] == reverse("login")
    assert _signed_in(client) is None


def test_the_second_factor_still_applies(client, world, provider, settings):
    settings.TWO_FACTOR_ENFORCED = True
    sign_in_through_provider(client, {"preferred_username": "supervisor"})
    assert _signed_in(client) == str(world.supervisor.pk)
    response = client.get(reverse("ledgers:my_work"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("twofactor:enrol"))


def test_the_button_shows_only_when_configured(client, db, settings):
    assert "统一身份认证登录" not in client.get(reverse("login")).content.decode()
    assert client.get(reverse("twofactor:oidc_sign_in")).status_code == 404
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = "luoshi"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{PROVIDER}/authorize"
    assert "统一身份认证登录" in client.get(reverse("login")).content.decode()


def test_local_accounts_keep_working(client, world, provider):
    response = client.post(reverse("login"), {"username": "handler", "password": world.password})
    assert response.status_code == 302
    assert _signed_in(client) == str(world.handler.pk)
