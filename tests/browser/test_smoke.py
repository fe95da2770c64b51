from playwright.sync_api import expect


def test_login_page_has_a_password_field(page, live_server):
    page.goto(live_server.url + "/accounts/login/")
    expect(page.locator('input[type="password"]')).to_have_count(1)
