import pytest
from django.urls import reverse

from luoshi.security import sessions
from luoshi.security.models import UserSession
from luoshi.testing.twofactor import login_verified
from luoshi.twofactor import selectors
from luoshi.twofactor.models import AuthenticatorDevice
from luoshi.twofactor.tests.test_services import current_code, enrol
from luoshi.twofactor.views import pending_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def enforced(settings):
    settings.TWO_FACTOR_ENFORCED = True


def test_login_verified_passes_the_second_factor(client, world):
    device = login_verified(client, world.supervisor)
    assert device.confirmed
    assert client.get(reverse("ledgers:my_work")).status_code == 200


def test_account_security_page_without_an_app(client, world):
    client.force_login(world.handler)
    page = client.get(reverse("twofactor:security")).content.decode()
    assert "未启用" in page and reverse("twofactor:enrol") in page


def test_account_security_page_with_an_app(client, world):
    enrol(world.handler)
    login_verified(client, world.handler)
    page = client.get(reverse("twofactor:security")).content.decode()
    assert "已启用" in page and "剩余恢复码 10 个" in page and reverse("twofactor:remove") in page


def test_a_required_user_is_not_offered_to_switch_off(client, world):
    login_verified(client, world.supervisor)
    page = client.get(reverse("twofactor:security")).content.decode()
    assert "已启用" in page and reverse("twofactor:remove") not in page
    response = client.post(reverse("twofactor:remove"), follow=True)
    assert "必须使用双因素登录" in response.content.decode()
    assert selectors.totp_device(world.supervisor) is not None


def test_switching_off_a_voluntary_app(client, world):
    login_verified(client, world.handler)
    response = client.post(reverse("twofactor:remove"))
    assert response["Location"] == reverse("twofactor:security")
    assert selectors.totp_device(world.handler) is None
    assert client.get(reverse("ledgers:my_work")).status_code == 200


def test_new_recovery_codes_are_shown_once(client, world):
    _device, old = enrol(world.handler)
    login_verified(client, world.handler)
    response = client.post(reverse("twofactor:recovery_codes"))
    codes = response.context["codes"]
    assert response.status_code == 200 and all(code in response.content.decode() for code in codes)
    assert not set(codes) & set(old)
    assert not any(code in client.get(reverse("twofactor:security")).content.decode() for code in codes)


def test_rebinding_from_the_account_security_page(client, world):
    enrol(world.handler)
    login_verified(client, world.handler)
    page = client.get(reverse("twofactor:enrol"))
    assert "更换身份验证器" in page.content.decode()
    key = pending_key(client.session)
    response = client.post(reverse("twofactor:enrol"), {"code": current_code(key)})
    assert response.status_code == 200 and len(response.context["codes"]) == 10
    assert list(AuthenticatorDevice.objects.filter(user=world.handler).values_list("key", flat=True)) == [key]


def test_security_admin_list_shows_who_has_an_app(client, world):
    enrol(world.handler)
    login_verified(client, world.security_admin)
    page = client.get(reverse("twofactor:user_list"), {"q": "钱承办"}).content.decode()
    assert "钱承办" in page and "已启用" in page
    assert reverse("twofactor:reset", args=[world.handler.pk]) in page


def test_reset_page_says_when_there_is_nothing_to_reset(client, world):
    login_verified(client, world.security_admin)
    page = client.get(reverse("twofactor:reset", args=[world.handler.pk])).content.decode()
    assert "无需重置" in page
    response = client.post(reverse("twofactor:reset", args=[world.handler.pk]), follow=True)
    assert "无需重置" in response.content.decode()
    enrol(world.handler)
    page = client.get(reverse("twofactor:reset", args=[world.handler.pk])).content.decode()
    assert "确认重置" in page


def test_static_files_are_not_held_back_before_the_code(client, world, settings):
    AuthenticatorDevice.objects.create(user=world.supervisor, confirmed=True)
    client.force_login(world.supervisor)
    assert client.get(reverse("ledgers:my_work")).status_code == 302
    # The test client serves no static files: reaching the URLconf (404) shows it was let through.
    assert client.get(f"/{settings.STATIC_URL.strip('/')}/luoshi/app.js").status_code == 404


def test_the_language_switch_works_before_the_code(client, world):
    AuthenticatorDevice.objects.create(user=world.supervisor, confirmed=True)
    client.force_login(world.supervisor)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("twofactor:verify")})
    assert response["Location"] == reverse("twofactor:verify")
    assert response.cookies["django_language"].value == "en"


def test_the_session_gets_a_new_key_after_the_code_and_the_registry_follows(client, world):
    device = AuthenticatorDevice.objects.create(user=world.handler, confirmed=True)
    client.post(reverse("login"), {"username": "handler", "password": world.password})
    before = client.session.session_key
    client.post(reverse("twofactor:verify"), {"code": current_code(device.key)})
    after = client.session.session_key
    assert after != before
    entry = UserSession.objects.get(pk=client.session[sessions.SESSION_DATA]["id"])
    assert entry.session_key == after
