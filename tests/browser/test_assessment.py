"""A quarter's assessment as the office and a unit walk it on screen: the scheme (common, specific, bonus,
deduction and veto indicators, two unit groups, books) → the quarter scored → a manual score entered and
reviewed by a second supervisor → publicity → a unit's objection, accepted with a correction → scored
again and published → the ranking notice downloaded, its numbers the ones on screen."""

import datetime as dt
import io
from pathlib import Path

import docx
import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from luoshi.assessment.models import Period, PeriodStatus, UnitScore
from luoshi.assessment.tests.factories import second_supervisor, shaped_item
from luoshi.core.tests.files import PDF
from luoshi.supervision.models import Accountability, SupervisionOrder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sign_in(browser, live_server):
    """``sign_in(username, password)`` → a page in its own browser context, signed in through the form."""
    contexts = []

    def sign_in(username, password):
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True)
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


def fill_date(page, name, day: dt.date):
    page.fill(f'input[name="{name}"]', day.isoformat())
    page.keyboard.press("Escape")


def save(page):
    page.get_by_test_id("save").click()
    expect(page.get_by_text("已保存。")).to_be_visible()


def add_indicator(page, scheme_url, name, category, points, rule_kind, **rule):
    page.goto(f"{scheme_url}indicators/new/")
    page.fill('input[name="name"]', name)
    page.select_option('select[name="category"]', category)
    page.fill('input[name="max_points"]', str(points))
    page.select_option('select[name="rule_kind"]', rule_kind)
    if "measure" in rule:
        page.select_option('select[name="measure"]', rule["measure"])
        page.fill('input[name="points_per_unit"]', str(rule["per_unit"]))
    if "formula" in rule:
        page.fill('input[name="formula"]', rule["formula"])
    save(page)


def record(world):
    """The quarter's record: the lead unit completed two items on time, the co-unit let one run over
    and received a supervision order, the unrelated unit was held accountable (a veto)."""
    shaped_item(world, deadline=dt.date(2026, 8, 31), completed_on=dt.date(2026, 8, 20))
    shaped_item(world, deadline=dt.date(2026, 9, 15), completed_on=dt.date(2026, 9, 10))
    shaped_item(world, lead=world.co_unit, deadline=dt.date(2026, 9, 1))
    SupervisionOrder.objects.create(
        office=world.office,
        organisation=world.co_unit,
        subject="督办",
        content="请抓紧",
        year=2026,
        serial=1,
        reply_deadline=dt.date(2026, 9, 20),
        issued_by=world.supervisor,
        issued_on=dt.date(2026, 9, 10),
    )
    Accountability.objects.create(
        office=world.office,
        form="criticism",
        organisation=world.unrelated_unit,
        decided_on=dt.date(2026, 8, 2),
        reason="弄虚作假",
        created_by=world.supervisor,
    )


def screen_totals(page) -> dict[str, str]:
    rows = page.locator("#ranking tbody tr")
    return {
        rows.nth(i).get_attribute("data-unit"): rows.nth(i).get_by_test_id("total").inner_text()
        for i in range(rows.count())
    }


def test_a_quarter_assessed_objected_to_published_and_notified(world, sign_in, live_server):
    record(world)
    second_supervisor(world)
    office = sign_in("supervisor", world.password)

    # The scheme --------------------------------------------------------------------------------------
    office.goto(f"{live_server.url}/assessment/")
    office.get_by_test_id("scheme-create").click()
    office.fill('input[name="year"]', "2026")
    office.fill('input[name="name"]', "2026年度绩效考核")
    office.fill('input[name="bonus_cap"]', "5")
    office.fill('input[name="objection_days"]', "1")
    save(office)
    scheme_url = office.url
    for name, units, sort in (
        ("区直部门", [("发展和改革", "区发展和改革局"), ("财政", "区财政局")], 0),
        ("垂管单位", [("教育", "区教育局")], 1),
    ):
        office.get_by_test_id("group-create").click()
        office.fill('input[name="name"]', name)
        for typed, option in units:
            choose(office, "units", typed, option)
        office.fill('input[name="sort_order"]', str(sort))
        save(office)
    add_indicator(
        office,
        scheme_url,
        "重点工作落实",
        "common",
        60,
        "formula",
        formula="MIN(100, 80 + 5*按时办结_牵头 - 10*超期_牵头) * 0.6",
    )
    # A formula naming a measure that does not exist is refused, with what to fix, and not saved.
    office.goto(f"{scheme_url}indicators/new/")
    office.fill('input[name="name"]', "报送质量")
    office.select_option('select[name="category"]', "common")
    office.fill('input[name="max_points"]', "10")
    office.select_option('select[name="rule_kind"]', "formula")
    office.fill('input[name="formula"]', "10 - 按期报送")
    office.get_by_test_id("save").click()
    expect(office.locator(".invalid-feedback")).to_contain_text("「按期报送」不是本方案的指标数据")
    add_indicator(office, scheme_url, "个性指标", "specific", 40, "manual")
    add_indicator(office, scheme_url, "办结加分", "bonus", 3, "measure", measure="办结_牵头", per_unit=1)
    add_indicator(office, scheme_url, "督办扣分", "deduction", 10, "measure", measure="督办单", per_unit=2)
    add_indicator(office, scheme_url, "问责否决", "veto", 0, "measure", measure="问责", per_unit=1)
    for unit in (world.lead_unit, world.co_unit, world.unrelated_unit):
        office.goto(scheme_url)
        office.get_by_test_id("book-create").click()
        office.select_option('select[name="organisation"]', str(unit.pk))
        office.locator('input[name^="target_"]').fill("完成年度专项任务")
        save(office)
    office.goto(scheme_url)
    expect(office.get_by_test_id("scheme-problems")).to_have_count(0)
    expect(office.get_by_test_id("indicators")).to_contain_text("问责否决")

    # The quarter, scored ------------------------------------------------------------------------------
    office.get_by_test_id("period-create").click()
    office.select_option('select[name="kind"]', "quarter")
    office.fill('input[name="name"]', "2026年第三季度")
    fill_date(office, "start", dt.date(2026, 7, 1))
    fill_date(office, "end", dt.date(2026, 9, 30))
    save(office)
    period_url = office.url

    def run_scoring(page):
        page.locator('[data-testid="run-form"] input[name="as_of"]').fill("2026-10-15")
        page.keyboard.press("Escape")
        page.get_by_test_id("run").click()
        expect(page.get_by_text("计分完成，已生成新版本。")).to_be_visible()

    run_scoring(office)
    totals = screen_totals(office)
    # (80 + 5 × 2) × 0.6 = 54, nothing yet for the manual specific indicator, 2 items completed = +2.
    assert totals["区发改局"] == "56.00"
    assert totals["区财政局"] == "40.00"  # (80 − 10) × 0.6 less 2 for its supervision order
    expect(office.locator('tr[data-unit="区教育局"]')).to_contain_text("一票否决")

    # A manual score, reviewed by a second supervisor ---------------------------------------------------
    office.get_by_test_id("manual-create").click()
    office.select_option('select[name="organisation"]', str(world.lead_unit.pk))
    office.select_option('select[name="indicator"]', label="个性指标")
    office.fill('input[name="points"]', "45")
    office.fill('textarea[name="reason"]', "专项任务全部完成")
    office.locator('input[name="evidence"]').set_input_files(
        {"name": "验收意见.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    office.get_by_test_id("save").click()
    expect(office.locator(".invalid-feedback")).to_contain_text("得分须在 0 到 40 分之间")
    office.fill('input[name="points"]', "35")
    office.locator('input[name="evidence"]').set_input_files(
        {"name": "验收意见.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    save(office)
    expect(office.get_by_test_id("review-form")).to_have_count(0)  # not for the one who entered it
    reviewer = sign_in("reviewer", world.password)
    reviewer.goto(period_url)
    reviewer.get_by_test_id("approve").click()
    expect(reviewer.get_by_text("复核完成。")).to_be_visible()

    office.goto(period_url)
    office.get_by_test_id("publicise").click()
    expect(office.get_by_text("第1版计分之后又有评分复核或分数调整，请重新计分。")).to_be_visible()
    run_scoring(office)
    assert screen_totals(office)["区发改局"] == "91.00"
    office.get_by_test_id("publicise").click()
    expect(office.get_by_test_id("period-status")).to_have_text("公示中")

    # The unit objects; the office accepts with a correction ----------------------------------------------
    unit = sign_in("lead_liaison", world.password)
    unit.goto(period_url)
    expect(unit.locator('tr[data-unit="区发改局"]')).to_contain_text("91.00")
    unit.get_by_test_id("objection-create").click()
    unit.select_option('select[name="organisation"]', str(world.lead_unit.pk))
    unit.select_option('select[name="indicator"]', label="个性指标")
    unit.fill('textarea[name="text"]', "专项任务另获省级表彰，附表彰文件")
    save(unit)
    expect(unit.get_by_test_id("objections")).to_contain_text("待答复")

    office.goto(period_url)
    office.get_by_test_id("publish").click()
    expect(office.get_by_text("还有 1 条异议未答复。")).to_be_visible()
    office.get_by_test_id("answer").click()
    office.select_option('select[name="decision"]', "accept")
    office.fill('textarea[name="answer"]', "经核实属实，个性指标加 3 分")
    office.fill('input[name="points"]', "3")
    save(office)
    run_scoring(office)
    assert screen_totals(office)["区发改局"] == "94.00"

    # The window closes; the office publishes ------------------------------------------------------------
    period = Period.objects.get()
    # A working day passes: the objection window, one working day from today, is over.
    Period.objects.filter(pk=period.pk).update(objection_deadline=timezone.localdate() - dt.timedelta(days=1))
    office.goto(period_url)
    office.get_by_test_id("publish").click()
    expect(office.get_by_text("考核结果已发布。")).to_be_visible()
    expect(office.get_by_test_id("period-status")).to_have_text("已发布")
    period.refresh_from_db()
    assert period.status == PeriodStatus.PUBLISHED

    # The unit sees how its score was reached ------------------------------------------------------------
    unit.goto(period_url)
    unit.locator('tr[data-unit="区发改局"] a').click()
    expect(unit.get_by_test_id("breakdown-total")).to_have_text("94.00")
    expect(unit.get_by_test_id("breakdown")).to_contain_text("张督办调整 +3：经核实属实，个性指标加 3 分")

    # The notice: the numbers on screen --------------------------------------------------------------------
    office.goto(period_url)
    on_screen = screen_totals(office)
    office.locator('[data-testid="notice-form"] input[name="number"]').fill("督考〔2026〕3号")
    office.locator('[data-testid="notice-form"] input[name="red_header"]').check()
    with office.expect_download() as download:
        office.get_by_test_id("notice-download").click()
    document = docx.Document(io.BytesIO(Path(download.value.path()).read_bytes()))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert "关于2026年第三季度2026年度绩效考核结果的通报" in text and "（草稿）" not in text
    assert "督考〔2026〕3号" in text
    in_notice = {row.cells[1].text: row.cells[5].text for table in document.tables for row in table.rows[1:]}
    assert {unit: total.replace("（否决）", "") for unit, total in in_notice.items()} == on_screen
    published = UnitScore.objects.filter(run=period.published_run).select_related("organisation")
    assert {str(score.organisation): f"{score.total:.2f}" for score in published} == on_screen

    # The charts: ranking bars on the period page and on the battle map ----------------------------------
    expect(office.locator("[data-ranking-chart] canvas").first).to_be_visible()
    office.goto(live_server.url + reverse("dashboards:battle_map"))
    expect(office.get_by_test_id("battle-map-ranking")).to_contain_text("2026年第三季度")
    expect(office.locator("[data-ranking-chart] canvas").first).to_be_visible()
