"""A supervisor pastes a work plan, edits the proposed tree in the browser and saves it into the ledger."""

import pytest
from playwright.sync_api import expect

from luoshi.exchange.models import OutlineDraft
from luoshi.exchange.tests.test_outline_drafts import PLAN
from luoshi.ledgers.models import Item

pytestmark = pytest.mark.django_db(transaction=True)


def node(page, node_id: int):
    """The node's own row (its title, fields, buttons and edit form), without its children."""
    return page.locator(f'li[data-node="{node_id}"]')


def press(page, node_id: int, operation: str):
    node(page, node_id).locator(f':scope > div button[data-operation="{operation}"]').click()


def test_paste_edit_and_save_an_outline(world, login, live_server):
    page = login("supervisor", world.password)
    page.goto(f"{live_server.url}/items/?ledger={world.ledger.pk}")
    page.get_by_role("link", name="从文件/文本生成事项").click()

    page.fill('textarea[name="text"]', PLAN)
    page.get_by_role("button", name="生成事项大纲").click()
    tree = page.get_by_test_id("outline-tree")
    expect(tree.get_by_test_id("node-title")).to_have_text(
        ["推进项目建设", "加快项目审批", "强化资金保障", "办好民生实事", "改善办学条件"]
    )

    # Rename: the node's edit form, opened inline.
    node(page, 2).locator(":scope > details > summary").click()
    node(page, 2).locator('input[name="title"]').fill("加快重大项目审批")
    node(page, 2).get_by_role("button", name="改名").click()
    expect(node(page, 2).get_by_test_id("node-title").first).to_have_text("加快重大项目审批")

    # Drop a part with its task (the browser asks first).
    page.once("dialog", lambda dialog: dialog.accept())
    press(page, 4, "drop")
    expect(node(page, 4)).to_have_count(0)
    expect(node(page, 5)).to_have_count(0)

    # Indent: 强化资金保障 becomes a task under 加快重大项目审批.
    press(page, 3, "indent")
    expect(node(page, 2).locator('li[data-node="3"]')).to_have_count(1)

    page.get_by_test_id("outline-save").click()
    expect(page.get_by_text("已从「粘贴的文本」生成 3 项事项。")).to_be_visible()
    assert f"ledger={world.ledger.pk}" in page.url
    for title in ("推进项目建设", "加快重大项目审批", "强化资金保障"):
        expect(page.locator("#results").get_by_text(title, exact=True)).to_be_visible()

    section = Item.objects.get(ledger=world.ledger, title="推进项目建设")
    approval = Item.objects.get(ledger=world.ledger, title="加快重大项目审批")
    assert approval.parent == section
    assert Item.objects.get(ledger=world.ledger, title="强化资金保障").parent == approval
    assert not Item.objects.filter(title__in=["办好民生实事", "改善办学条件"]).exists()
    assert OutlineDraft.objects.get().saved_at is not None
