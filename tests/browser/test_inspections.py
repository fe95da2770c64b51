"""An inspection as the real roles walk it: plan → finding with a photo → problem with two measures →
the unit rectifies with evidence → the office verifies (验收) and closes (销号); the closure rate goes
from 0% to 100% on the inspection and on the rectification overview."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from luoshi.core.tests.files import PDF, PNG
from luoshi.ledgers.models import ItemStatus
from luoshi.supervision.models import Finding, Inspection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sign_in(browser, live_server):
    """``sign_in(username, password)`` → a page in its own browser context, signed in through the form."""
    contexts = []

    def sign_in(username, password):
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(live_server.url + "/accounts/login/")
        form = page.locator("form", has=page.locator('input[name="password"]'))
        form.locator('input[name="username"]').fill(username)
        form.locator('input[name="password"]').fill(password)
        with page.expect_navigation():
            form.locator('[type="submit"]').click()
        assert "/accounts/login/" not in page.url, f"login as {username} failed"
        return page

    yield sign_in
    for context in contexts:
        context.close()


def choose(page, name, typed, option):
    """Pick ``option`` in the Tom Select autocomplete of field ``name`` after typing ``typed``."""
    page.locator(".ts-wrapper", has=page.locator(f"#id_{name}-ts-control")).click()
    page.locator(f"#id_{name}-ts-control").fill(typed)
    page.locator(".ts-dropdown .option", has_text=option).first.click()
    page.keyboard.press("Escape")


def act(page, action, comment=None):
    form = page.locator("form", has=page.locator(f'button[data-action="{action}"]'))
    if comment is not None:
        form.locator('input[name="comment"]').fill(comment)
    form.locator(f'button[data-action="{action}"]').click()


def test_finding_rectified_verified_and_closed(world, sign_in, live_server):
    today = timezone.localdate()
    supervisor = sign_in("supervisor", world.password)

    supervisor.goto(f"{live_server.url}/supervision/inspections/new/")
    supervisor.fill('input[name="title"]', "优化营商环境专项督查")
    supervisor.fill('input[name="planned_on"]', today.isoformat())
    supervisor.keyboard.press("Escape")
    choose(supervisor, "team", "张督办", "张督办")
    choose(supervisor, "targets", "发展和改革", "区发展和改革局")
    supervisor.get_by_role("button", name="保存").click()
    expect(supervisor.get_by_test_id("closure-rate")).to_have_text("—")
    inspection = Inspection.objects.get()

    supervisor.get_by_role("link", name="登记发现问题").click()
    supervisor.fill('textarea[name="description"]', "政务服务窗口办事指南未及时更新")
    supervisor.select_option('select[name="organisation"]', str(world.lead_unit.pk))
    supervisor.locator('input[name="photos"]').set_input_files(
        {"name": "现场.png", "mimeType": "image/png", "buffer": PNG}
    )
    supervisor.get_by_role("button", name="登记").click()
    finding = supervisor.get_by_test_id("finding")
    expect(finding).to_contain_text("政务服务窗口办事指南未及时更新")
    expect(finding.locator("img")).to_have_count(1)

    finding.get_by_role("link", name="交办整改").click()
    supervisor.fill('input[name="deadline"]', (today + dt.timedelta(days=30)).isoformat())
    supervisor.fill('input[name="measure_1"]', "更新全部办事指南")
    supervisor.fill('input[name="measure_deadline_1"]', (today + dt.timedelta(days=10)).isoformat())
    supervisor.fill('input[name="measure_2"]', "建立指南定期更新机制")
    supervisor.fill('input[name="measure_deadline_2"]', (today + dt.timedelta(days=20)).isoformat())
    supervisor.keyboard.press("Escape")
    supervisor.get_by_role("button", name="交办").click()
    expect(supervisor.get_by_test_id("problem-status")).to_have_text("已交办")
    expect(supervisor.get_by_test_id("closure-rate")).to_have_text("0%")
    supervisor.goto(f"{live_server.url}/supervision/rectification/")
    expect(supervisor.get_by_test_id("closure-unit").get_by_test_id("rate")).to_have_text("0%")
    expect(supervisor.locator("[data-rectification-chart] canvas").first).to_be_visible()

    problem = Finding.objects.get().problem
    liaison = sign_in("lead_liaison", world.password)
    liaison.goto(f"{live_server.url}/items/{problem.pk}/")
    act(liaison, "accept")
    expect(liaison.get_by_test_id("item-status")).to_have_text("已签收")
    liaison.get_by_role("link", name="报送进展").click()
    liaison.fill('textarea[name="text"]', "已更新全部办事指南并上网公示")
    liaison.fill('input[name="percent_complete"]', "100")
    liaison.locator('input[name="evidence"]').set_input_files(
        {"name": "整改佐证.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    liaison.get_by_role("button", name="提交报送").click()
    expect(liaison.get_by_test_id("report-status").first).to_have_text("待审核")
    act(liaison, "request_completion", comment="整改已完成，佐证已上传")
    expect(liaison.get_by_test_id("item-status")).to_have_text("申请办结")
    for measure in problem.children.all():
        liaison.goto(f"{live_server.url}/items/{measure.pk}/")
        act(liaison, "accept")
        expect(liaison.get_by_test_id("item-status")).to_have_text("已签收")
        act(liaison, "request_completion", comment="措施已落实")
        expect(liaison.get_by_test_id("item-status")).to_have_text("申请办结")

    supervisor.goto(f"{live_server.url}{inspection.get_absolute_url()}")
    supervisor.get_by_role("link", name="验收").click()
    supervisor.select_option('select[name="passed"]', "1")
    supervisor.fill('textarea[name="comment"]', "经现场核查，整改到位")
    supervisor.get_by_role("button", name="提交验收结论").click()
    expect(supervisor.get_by_test_id("problem-status")).to_have_text("已办结")
    supervisor.get_by_role("button", name="销号").click()
    expect(supervisor.get_by_test_id("problem-status")).to_have_text("已销号")
    expect(supervisor.get_by_test_id("closure-rate")).to_have_text("100%")
    assert problem.children.filter(status=ItemStatus.CLOSED).count() == 2

    supervisor.goto(f"{live_server.url}/supervision/rectification/")
    expect(supervisor.get_by_test_id("closure-unit").get_by_test_id("rate")).to_have_text("100%")
    expect(supervisor.get_by_test_id("closure-ledger").get_by_test_id("rate")).to_have_text("100%")
