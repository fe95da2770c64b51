"""A leader writes an instruction (批示) on a phone, the lead unit reads it and answers it with its report."""

import pytest
from playwright.sync_api import expect

from luoshi.ledgers.models import Item, ItemStatus
from luoshi.supervision.models import Instruction

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
TEXT = "请月底前完成土地报批，每周报告进展。"


@pytest.fixture
def sign_in(browser, live_server):
    """``sign_in(username, password, viewport=None)`` → a page in its own context, signed in."""
    contexts = []

    def sign_in(username, password, viewport=None):
        options = {"viewport": viewport, "is_mobile": True, "has_touch": True} if viewport else {}
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
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


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_leader_instructs_on_a_phone_and_the_unit_answers(world, sign_in, live_server):
    item = world.advance(world.item, ItemStatus.ACCEPTED)
    detail = f"{live_server.url}/items/{item.pk}/"

    leader = sign_in("leader", world.password, viewport=PHONE)
    leader.goto(detail)
    leader.get_by_test_id("write-instruction").first.click()
    expect(leader.get_by_test_id("instruction-form")).to_be_visible()
    assert fits_the_screen(leader)
    leader.fill('textarea[name="text"]', TEXT)
    leader.get_by_label(f"{world.co_unit}（配合单位）").uncheck()  # only the lead unit this time
    leader.get_by_role("button", name="发送批示").click()
    expect(leader.get_by_test_id("timeline")).to_contain_text(TEXT)
    instruction = Instruction.objects.get()
    assert list(instruction.recipients.values_list("organisation", flat=True)) == [world.lead_unit.pk]
    assert Item.objects.get(pk=item.pk).open_instructions == 1

    liaison = sign_in("lead_liaison", world.password, viewport=PHONE)
    liaison.goto(f"{live_server.url}/supervision/instructions/inbox/")
    expect(liaison.get_by_text(TEXT[:20])).to_be_visible()
    liaison.get_by_test_id(f"acknowledge-{instruction.pk}").click()
    expect(liaison.get_by_text("已阅知此批示")).to_be_visible()
    assert fits_the_screen(liaison)

    liaison.goto(detail)
    liaison.get_by_role("link", name="报送进展").click()
    expect(liaison.get_by_test_id("instructions-to-answer")).to_contain_text(TEXT)
    liaison.fill('textarea[name="text"]', "已按领导批示完成土地报批材料上报")
    liaison.fill('input[name="percent_complete"]', "40")
    liaison.get_by_role("button", name="提交报送").click()
    expect(liaison.get_by_test_id("report-status").first).to_have_text("待审核")

    instruction.refresh_from_db()
    assert not instruction.is_open
    assert Item.objects.get(pk=item.pk).open_instructions == 0
    leader.goto(f"{live_server.url}/supervision/instructions/{instruction.pk}/")
    expect(leader.get_by_test_id("instruction-state")).to_have_text("已办结")
    expect(leader.get_by_test_id("answered")).to_be_visible()
    assert fits_the_screen(leader)
