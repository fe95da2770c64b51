"""The spine as the real roles walk it: assign → accept → report → return → report → accept →
request completion → complete → close, and an extension request approved by the supervisor."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from luoshi.ledgers.models import ExtensionStatus, Item, ItemStatus, ReportStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sign_in(browser, live_server):
    """``sign_in(user)`` → a page in its own browser context, signed in through the login form."""
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


def act(page, action, comment=None):
    form = page.locator("form", has=page.locator(f'button[data-action="{action}"]'))
    if comment is not None:
        form.locator('input[name="comment"]').fill(comment)
    form.locator(f'button[data-action="{action}"]').click()


def status_of(item):
    return Item.objects.get(pk=item.pk).status


def test_item_from_assignment_to_closure(world, sign_in, live_server):
    item = world.item
    detail = f"{live_server.url}/items/{item.pk}/"
    supervisor = sign_in("supervisor", world.password)
    liaison = sign_in("lead_liaison", world.password)

    supervisor.goto(detail)
    act(supervisor, "assign")
    expect(supervisor.get_by_test_id("item-status")).to_have_text("已交办")

    liaison.goto(f"{live_server.url}/my-work/")
    liaison.locator('[data-section="to_accept"]').get_by_text(item.title).click()
    act(liaison, "accept")
    expect(liaison.get_by_test_id("item-status")).to_have_text("已签收")

    liaison.get_by_role("link", name="报送进展").click()
    liaison.fill('textarea[name="text"]', "完成项目可研编制")
    liaison.fill('input[name="percent_complete"]', "30")
    liaison.get_by_role("button", name="提交报送").click()
    expect(liaison.get_by_test_id("report-status").first).to_have_text("待审核")
    assert status_of(item) == ItemStatus.IN_PROGRESS

    supervisor.goto(detail)
    review = supervisor.locator("[data-report]").first
    review.locator('input[name="comment"]').fill("请补充佐证材料")
    review.get_by_role("button", name="退回修改").click()
    expect(supervisor.get_by_test_id("report-status").first).to_have_text("已退回")

    liaison.goto(detail)
    liaison.get_by_role("link", name="修改并重新报送").click()
    expect(liaison.get_by_text("请补充佐证材料")).to_be_visible()
    liaison.fill('textarea[name="text"]', "完成项目可研编制，已附批复")
    liaison.fill('input[name="percent_complete"]', "60")
    liaison.get_by_role("button", name="提交报送").click()
    expect(liaison.get_by_test_id("report-status").first).to_have_text("待审核")

    supervisor.goto(detail)
    supervisor.locator("[data-report]").first.get_by_role("button", name="审核通过").click()
    expect(supervisor.get_by_test_id("report-status").first).to_have_text("已通过")
    assert item.reports.get().status == ReportStatus.ACCEPTED

    liaison.goto(detail)
    act(liaison, "request_completion", comment="项目已竣工验收")
    expect(liaison.get_by_test_id("item-status")).to_have_text("申请办结")

    supervisor.goto(detail)
    act(supervisor, "complete")
    expect(supervisor.get_by_test_id("item-status")).to_have_text("已办结")
    act(supervisor, "close")
    expect(supervisor.get_by_test_id("item-status")).to_have_text("已销号")
    assert status_of(item) == ItemStatus.CLOSED
    expect(supervisor.get_by_test_id("timeline")).to_contain_text("项目已竣工验收")


def test_extension_requested_and_approved(world, sign_in, live_server):
    item = world.advance(world.item, ItemStatus.IN_PROGRESS)
    new_deadline = item.deadline + dt.timedelta(days=31)
    detail = f"{live_server.url}/items/{item.pk}/"

    liaison = sign_in("lead_liaison", world.password)
    liaison.goto(detail)
    liaison.fill('input[name="new_deadline"]', new_deadline.isoformat())
    liaison.fill('textarea[name="reason"]', "征地拆迁尚未完成")
    liaison.get_by_role("button", name="申请延期").click()
    expect(liaison.locator("[data-extension]")).to_contain_text("待审批")

    supervisor = sign_in("supervisor", world.password)
    supervisor.goto(detail)
    extension = supervisor.locator("[data-extension]")
    extension.locator('input[name="comment"]').fill("同意延期一个月")
    extension.get_by_role("button", name="批准延期").click()
    expect(supervisor.get_by_test_id("item-deadline")).to_contain_text(new_deadline.isoformat())
    assert item.extension_requests.get().status == ExtensionStatus.APPROVED
