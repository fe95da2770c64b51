"""A supervisor binds an authenticator app at first sign-in, then signs in again with a code computed
here as the phone would (django_otp.oath.TOTP)."""

import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from luoshi.twofactor.models import AuthenticatorDevice

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def enforced(settings):
    # The live server runs in this process: the override reaches it.
    settings.TWO_FACTOR_ENFORCED = True


def code_from(secret: str, steps_ahead: int = 0) -> str:
    totp = TOTP(b32decode(secret))
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def submit_password(page, live_server, username, password):
    page.goto(live_server.url + "/accounts/login/")
    form = page.locator("form", has=page.locator('input[name="password"]'))
    form.locator('input[name="username"]').fill(username)
    form.locator('input[name="password"]').fill(password)
    with page.expect_navigation():
        form.locator('[type="submit"]').click()


def submit_code(page, code):
    form = page.locator("form", has=page.locator('input[name="code"]'))
    form.locator('input[name="code"]').fill(code)
    with page.expect_navigation():
        form.locator('[type="submit"]').click()


def test_supervisor_enrols_and_signs_in_with_a_code(page, live_server, world):
    submit_password(page, live_server, "supervisor", world.password)
    assert "/account/two-factor/enrol/" in page.url
    expect(page.get_by_test_id("qr-code").locator("svg")).to_be_visible()
    secret = "".join(page.get_by_test_id("secret").inner_text().split())

    submit_code(page, code_from(secret))
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    assert AuthenticatorDevice.objects.get(user=world.supervisor).confirmed
    with page.expect_navigation():
        page.get_by_role("link", name="我已保存，继续").click()
    assert "/my-work/" in page.url
    expect(page.get_by_test_id("current-user")).to_have_text("张督办")

    with page.expect_navigation():
        page.locator('form[action="/accounts/logout/"] button').click()
    submit_password(page, live_server, "supervisor", world.password)
    assert "/account/two-factor/verify/" in page.url
    # Nothing else opens before the code.
    page.goto(live_server.url + "/items/")
    assert "/account/two-factor/verify/" in page.url

    # The code that confirmed the app is spent; the phone's next one is accepted.
    submit_code(page, code_from(secret, steps_ahead=1))
    assert "/items/" in page.url
    expect(page.get_by_test_id("current-user")).to_have_text("张督办")
