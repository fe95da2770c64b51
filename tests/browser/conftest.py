"""Fixtures for browser tests: Playwright's sync API driving the system Chromium.

We use the `playwright` package directly, not pytest-playwright, and never download a
browser: tests launch Debian's /usr/bin/chromium (`make browser` installs it). Set
CHROMIUM to use another binary. Every test in this directory gets the `browser` marker,
so `pytest -m "not browser"` skips them.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

# Playwright's sync API runs an asyncio event loop in the main thread, and Django refuses
# ORM calls from a thread with a running loop. Tests here are synchronous code that set up
# data with the ORM, so lift that guard. Must be set before any test touches the database.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 10_000
# Screenshots of failed tests land here (gitignored var/), to see what the browser saw.
FAILURES = HERE.parent.parent / "var" / "browser-failures"

CHROMIUM_ARGS = [
    # launch(headless=True) adds --headless itself.
    "--no-sandbox",  # we run as root in CI containers, where the sandbox cannot start
    "--disable-gpu",
    # No traffic to Google or anywhere else: tests only talk to the live server.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    # This hook sees every collected item, not just this directory's: filter by path.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item so `page` can tell whether its test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    # Session scope: one Chromium per pytest process (per xdist worker with -n).
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: run `make browser` (or set CHROMIUM)", pytrace=False)
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Every page reports its Content-Security-Policy violations to the console, where the fixture below
# collects them (Chromium's own "Refused to …" messages are matched too).
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline") +
    " at " + event.sourceFile + ":" + event.lineNumber);
});
"""


def _is_csp_violation(text: str) -> bool:
    return text.startswith("CSP violation:") or "Content Security Policy" in text


@pytest.fixture(autouse=True)
def no_csp_violations(browser, monkeypatch):
    """Fail any browser test during which a page broke the Content-Security-Policy."""
    violations = []
    new_context = browser.new_context

    def watched_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        context.add_init_script(script=CSP_REPORTER)
        context.on(
            "console",
            lambda message: (
                violations.append(f"{message.page.url if message.page else ''}: {message.text}")
                if _is_csp_violation(message.text)
                else None
            ),
        )
        return context

    monkeypatch.setattr(browser, "new_context", watched_context)
    yield violations
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations), pytrace=False)


@pytest.fixture
def page(browser, request, no_csp_violations):
    # A fresh context per test: no cookies, storage or session leak between tests.
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        name = request.node.nodeid.replace("/", "_").replace("::", "__")
        page.screenshot(path=FAILURES / f"{name}.png", full_page=True)
    context.close()


@pytest.fixture
def login(page, live_server):
    """Return `login(username, password)`: sign in through the real login form."""

    def login(username, password):
        page.goto(live_server.url + "/accounts/login/")
        # Scope to the form with the password field: the page may have other forms
        # (language switch, search) with their own submit buttons.
        form = page.locator("form", has=page.locator('input[name="password"]'))
        form.locator('input[name="username"]').fill(username)
        form.locator('input[name="password"]').fill(password)
        with page.expect_navigation():
            form.locator('[type="submit"]').click()
        # A failed login re-renders the form at the same URL: say so here rather than
        # letting the test fail later on a missing element.
        assert "/accounts/login/" not in page.url, f"login as {username!r} failed"
        return page

    return login
