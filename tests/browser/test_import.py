"""A supervisor imports the sample ledger workbook: upload, map the one unknown unit, confirm, re-import."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from luoshi.ledgers.models import Item
from luoshi.orgs.tests.factories import OrganisationFactory, leader

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLE = (
    Path(__file__).resolve().parents[2] / "luoshi" / "exchange" / "tests" / "samples" / "ledger_sample.xlsx"
)
# Every unit the sample names, but 区水务局 is known here as 区水务管理局: the one name to map.
UNITS = [
    "区委办",
    "区纪委监委",
    "区委组织部",
    "区委宣传部",
    "区住建局",
    "区水务管理局",
    "区城管局",
    "公安分局",
    "区生态环境分局",
]


def _upload_sample(page, live_server, ledger):
    page.goto(f"{live_server.url}/ledgers/{ledger.pk}/")
    page.get_by_role("link", name="导入 Excel").click()
    page.locator('input[name="file"]').set_input_files(SAMPLE)
    with page.expect_navigation():
        page.get_by_role("button", name="上传并预览").click()


def test_the_sample_ledger_is_imported_through_the_browser_and_reimported_as_an_update(
    world, login, page, live_server
):
    for name in UNITS:
        OrganisationFactory(name=name, parent=world.government)
    for username, full_name in (("chen", "陈志远"), ("lin", "林海"), ("huang", "黄敏")):
        leader(world.government, charges=[], username=username, full_name=full_name)
    login("supervisor", world.password)

    _upload_sample(page, live_server, world.ledger)

    expect(page.get_by_test_id("import-summary")).to_contain_text("共 6 行，其中 1 行有错误")
    expect(page.get_by_test_id("import-rows")).to_contain_text("找不到单位「区水务局」")
    expect(page.get_by_test_id("import-confirm")).to_be_disabled()
    names = page.get_by_test_id("import-names")
    expect(names).to_contain_text("区水务管理局")  # the closest unit, offered
    with page.expect_navigation():
        names.get_by_role("button", name="保存对应").click()
    expect(page.get_by_test_id("import-summary")).to_contain_text("其中 0 行有错误")
    with page.expect_navigation():
        page.get_by_test_id("import-confirm").click()

    expect(page.locator(".alert-success")).to_contain_text("导入完成：新增 9 项")
    water = Item.objects.get(ledger=world.ledger, code="4")
    assert water.lead_org.name == "区水务管理局" and water.parent.title == "民生领域问题"

    _upload_sample(page, live_server, world.ledger)
    expect(page.get_by_test_id("import-summary")).to_contain_text("其中 1 行有错误")  # a new file: map again
    with page.expect_navigation():
        page.get_by_test_id("import-names").get_by_role("button", name="保存对应").click()
    with page.expect_navigation():
        page.get_by_test_id("import-confirm").click()
    expect(page.locator(".alert-success")).to_contain_text("新增 0 项，更新 0 项，未变 9 项")
