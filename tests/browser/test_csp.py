"""The front end works under the strict Content-Security-Policy (luoshi/settings.py).

The autouse ``no_csp_violations`` fixture (conftest) fails each of these on any violation, so
walking the screens with htmx, Tom Select, flatpickr and ECharts at work is the test.
"""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_policy_blocks_injected_script_and_reports_it(world, login, live_server, no_csp_violations):
    page = login("supervisor", world.password)
    page.evaluate(
        """() => {
          document.body.insertAdjacentHTML("beforeend", '<img src="/static/x.png" onerror="window.pwned = 1">');
          const script = document.createElement("script");
          script.textContent = "window.pwned = 2";
          document.body.append(script);
        }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.pwned") is None
    assert any("script-src" in violation for violation in no_csp_violations)
    # Seen and expected: the policy did its job, so they must not fail the test.
    no_csp_violations.clear()


def test_item_list_filters_datepicker_and_multiselect(world, login, live_server):
    world.make_item(title="第二个事项")
    page = login("supervisor", world.password)
    page.goto(f"{live_server.url}/items/")
    form = page.locator("#filter-form")
    expect(form.locator(".ts-wrapper").first).to_be_visible()
    form.locator("input[data-datepicker]").first.click()
    expect(page.locator(".flatpickr-calendar.open")).to_be_visible()
    page.keyboard.press("Escape")
    form.locator('input[name="q"]').fill("第二个")
    form.locator('button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"[?&]q="))
    expect(page.locator("#results")).to_contain_text("第二个事项")
    expect(page.locator("#results")).not_to_contain_text(world.item.title)


def test_item_form_autocomplete(world, login, live_server):
    page = login("supervisor", world.password)
    page.goto(f"{live_server.url}/items/{world.item.pk}/edit/")
    wrapper = page.locator(".ts-wrapper", has=page.locator("#id_co_orgs-ts-control"))
    wrapper.click()
    page.locator("#id_co_orgs-ts-control").fill("教育")
    expect(page.locator(".ts-dropdown .option", has_text="区教育局").first).to_be_visible()


def test_battle_map_charts_and_tooltips(world, login, live_server):
    world.advance(world.item, "in_progress")
    page = login("supervisor", world.password)
    page.goto(f"{live_server.url}/dashboards/")
    charts = page.locator("[data-chart]")
    expect(charts.first.locator("canvas")).to_be_visible()
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        # Sweep across the chart so that some bar or slice shows its tooltip.
        for step in range(1, 10):
            page.mouse.move(box["x"] + box["width"] * step / 10, box["y"] + box["height"] / 2)
            page.wait_for_timeout(30)


@pytest.mark.parametrize(
    ("user", "path"),
    [
        ("sysadmin", "/orgs/units/"),
        ("sysadmin", "/orgs/users/"),
        ("auditadmin", "/audit/"),
        ("supervisor", "/my-work/"),
    ],
)
def test_other_screens(world, login, live_server, user, path):
    page = login(user, world.password)
    page.goto(live_server.url + path)
    expect(page.locator("h2.page-title").first).to_be_visible()
