"""Screenshots of the main pages for the README, taken from a running demo server.

    .venv/bin/luoshi demo && .venv/bin/luoshi serve      # in one shell
    .venv/bin/python scripts/screenshots.py [BASE_URL]   # in another

Uses Debian's chromium (Chinese text needs a CJK font: apt-get install fonts-noto-cjk).
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORD = "Luoshi@2026"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)

        def signed_in(username):
            page = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900}).new_page()
            page.goto(f"{BASE}/accounts/login/")
            form = page.locator("form", has=page.locator('input[name="password"]'))
            form.locator('input[name="username"]').fill(username)
            form.locator('input[name="password"]').fill(PASSWORD)
            with page.expect_navigation():
                form.locator('[type="submit"]').click()
            return page

        supervisor = signed_in("supervisor")
        supervisor.screenshot(path=OUT / "my-work-supervisor.png")
        supervisor.goto(f"{BASE}/items/?color=red")
        supervisor.screenshot(path=OUT / "item-list.png")
        supervisor.goto(BASE + supervisor.locator("table td a").first.get_attribute("href"))
        supervisor.screenshot(path=OUT / "item-detail.png")
        supervisor.goto(f"{BASE}/dashboards/")
        supervisor.wait_for_timeout(1500)  # let ECharts draw
        supervisor.screenshot(path=OUT / "battle-map.png", full_page=True)
        signed_in("liaison").screenshot(path=OUT / "my-work-liaison.png")
        browser.close()


if __name__ == "__main__":
    main()
