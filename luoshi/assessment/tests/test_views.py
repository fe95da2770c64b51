"""Assessment screens: the office sets up and scores, units see their own breakdown and object, the
notice and workbook carry the numbers on screen, and the main pages' queries do not grow with units."""

import datetime as dt
import io
from decimal import Decimal

import docx
import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from luoshi.assessment import services
from luoshi.assessment.models import (
    Category,
    GroupMember,
    Indicator,
    ManualScore,
    Objection,
    PeriodStatus,
    ReviewStatus,
    RuleKind,
    Scheme,
    ScoreRun,
    UnitScore,
)
from luoshi.assessment.tests.factories import (
    Q3_AS_OF,
    evidence,
    office_scheme,
    q3,
    second_supervisor,
    shaped_item,
)
from luoshi.orgs.tests.factories import OrganisationFactory


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def scored(world):
    """The office's scheme, Q3 scored once as of 10-15, with an on-time item of the lead unit."""
    scheme = office_scheme(world)
    period = q3(world, scheme)
    shaped_item(world, deadline=dt.date(2026, 8, 31), completed_on=dt.date(2026, 8, 1))
    run = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    return scheme, period, run


def test_the_office_creates_a_scheme_on_screen(client, world):
    login(client, world.supervisor)
    assert client.get(reverse("assessment:scheme_create")).status_code == 200
    response = client.post(
        reverse("assessment:scheme_create"),
        {
            "office": world.office.pk,
            "year": 2026,
            "name": "2026年度区直部门考核",
            "full_marks": "100",
            "require_full_marks": "on",
            "grading": "bands",
            "excellent_line": "90",
            "good_line": "80",
            "fair_line": "60",
            "list_size": 3,
            "objection_days": 5,
        },
    )
    scheme = Scheme.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "assessment:scheme_detail", args=[scheme.pk]
    )
    page = client.get(response.url).content.decode()
    assert "2026年度区直部门考核" in page and "方案还没有指标。" in page


def test_a_formula_that_does_not_parse_is_refused_on_the_form(client, world):
    scheme = office_scheme(world)
    before = Indicator.objects.count()
    login(client, world.supervisor)
    response = client.post(
        reverse("assessment:indicator_create", args=[scheme.pk]),
        {
            "name": "落实",
            "category": Category.BONUS,
            "max_points": "5",
            "rule_kind": RuleKind.FORMULA,
            "formula": "2*按期完成",
            "base_points": "0",
            "sort_order": 0,
        },
    )
    assert response.status_code == 200
    assert "「按期完成」不是本方案的指标数据" in response.content.decode()
    assert Indicator.objects.count() == before


def test_the_scheme_page_lists_groups_indicators_books_and_problems(client, world):
    scheme = office_scheme(world)
    services.save_indicator(
        user=world.supervisor,
        scheme=scheme,
        name="多余指标",
        category=Category.COMMON,
        max_points=5,
        rule_kind=RuleKind.MANUAL,
    )
    page = (
        login(client, world.supervisor)
        .get(reverse("assessment:scheme_detail", args=[scheme.pk]))
        .content.decode()
    )
    assert "区直部门" in page and "垂管单位" in page
    assert "重点工作落实" in page and "MIN(100, 80 + 2*按时办结_牵头" in page
    assert "完成年度专项任务" in page
    assert "合计为 105，须等于满分 100" in page
    # A unit sees the scheme, its own books (its unit's and those below it) and no problems list.
    page = (
        login(client, world.lead_liaison)
        .get(reverse("assessment:scheme_detail", args=[scheme.pk]))
        .content.decode()
    )
    books = page.split('data-testid="books"')[1]
    assert "合计为 105" not in page
    assert "区发改局" in books and "投资科" in books and "区财政局" not in books


def test_period_page_runs_ranks_and_refuses_in_chinese(client, world, scored):
    _scheme, period, run = scored
    login(client, world.supervisor)
    url = reverse("assessment:period_detail", args=[period.pk])
    page = client.get(url).content.decode()
    lead = UnitScore.objects.get(run=run, organisation=world.lead_unit)
    assert f"{lead.total:.2f}" in page and "ranking-data" in page
    response = client.post(
        reverse("assessment:period_run", args=[period.pk]), {"as_of": "2026-10-16", "note": "复算"}
    )
    assert response.status_code == 302
    assert ScoreRun.objects.filter(period=period).count() == 2
    response = client.post(reverse("assessment:period_publish", args=[period.pk]), follow=True)
    assert "请先公示考核结果，异议期满后再发布。" in response.content.decode()
    response = client.post(reverse("assessment:period_publicise", args=[period.pk]), follow=True)
    assert "已公示，异议期开始。" in response.content.decode()
    period.refresh_from_db()
    assert period.status == PeriodStatus.PUBLICISED


def test_units_see_the_period_only_once_publicised_and_only_their_own_breakdown(client, world, scored):
    _scheme, period, run = scored
    url = reverse("assessment:period_detail", args=[period.pk])
    assert login(client, world.lead_liaison).get(url).status_code == 404
    services.publicise(user=world.supervisor, period=period)
    page = client.get(url).content.decode()
    assert "区发改局" in page and "区财政局" in page
    own = reverse(
        "assessment:breakdown", args=[UnitScore.objects.get(run=run, organisation=world.lead_unit).pk]
    )
    other = reverse(
        "assessment:breakdown", args=[UnitScore.objects.get(run=run, organisation=world.co_unit).pk]
    )
    assert client.get(own).status_code == 200
    assert client.get(other).status_code == 404
    # The leader in charge of the lead unit sees its breakdown, not another unit's.
    assert login(client, world.leader).get(own).status_code == 200
    assert client.get(other).status_code == 404


def test_the_breakdown_explains_every_point(client, world, scored):
    _scheme, _period, run = scored
    page = (
        login(client, world.supervisor)
        .get(
            reverse(
                "assessment:breakdown", args=[UnitScore.objects.get(run=run, organisation=world.lead_unit).pk]
            )
        )
        .content.decode()
    )
    lead = UnitScore.objects.get(run=run, organisation=world.lead_unit)
    assert f"{lead.total:.2f}" in page
    assert "按时办结_牵头 = <strong>1</strong>" in page
    assert "未评分或评分待复核，按 0 分计" in page
    assert "计入的事项" in page and "按时办结_牵头（1）" in page


def test_manual_score_entry_and_review_on_screen(client, world, scored):
    scheme, period, _run = scored
    reviewer = second_supervisor(world)
    login(client, world.supervisor)
    url = reverse("assessment:manual_create", args=[period.pk])
    response = client.post(
        url,
        {
            "organisation": world.lead_unit.pk,
            "indicator": scheme.specific.pk,
            "points": "21",
            "reason": "专项任务",
            "evidence": [evidence()],
        },
    )
    assert "得分须在 0 到 20 分之间" in response.content.decode()
    assert not ManualScore.objects.exists()
    response = client.post(
        url,
        {
            "organisation": world.lead_unit.pk,
            "indicator": scheme.specific.pk,
            "points": "18",
            "reason": "专项任务",
            "evidence": [evidence()],
        },
    )
    assert response.status_code == 302
    score = ManualScore.objects.get()
    page = client.get(reverse("assessment:period_detail", args=[period.pk])).content.decode()
    assert 'data-testid="review-form"' not in page  # not for the one who entered it
    login(client, reviewer)
    assert (
        'data-testid="review-form"'
        in client.get(reverse("assessment:period_detail", args=[period.pk])).content.decode()
    )
    client.post(
        reverse("assessment:manual_review", args=[score.pk]),
        {"decision": "approve", "version": score.version},
    )
    score.refresh_from_db()
    assert score.status == ReviewStatus.APPROVED and score.reviewed_by == reviewer
    evidence_file = score.evidence.get()
    assert client.get(reverse("assessment:manual_evidence", args=[evidence_file.pk])).status_code == 200
    assert (
        login(client, world.lead_liaison)
        .get(reverse("assessment:manual_evidence", args=[evidence_file.pk]))
        .status_code
        == 404
    )


def test_an_objection_filed_and_answered_on_screen(client, world, scored):
    scheme, period, _run = scored
    services.publicise(user=world.supervisor, period=period)
    login(client, world.lead_liaison)
    url = reverse("assessment:objection_create", args=[period.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"organisation": world.lead_unit.pk, "indicator": scheme.specific.pk, "text": "专项任务已完成"}
    )
    assert response.status_code == 302
    objection = Objection.objects.get()
    assert login(client, world.co_liaison).get(url).status_code == 200  # its own unit only
    assert login(client, world.handler).get(url).status_code == 404
    login(client, world.supervisor)
    response = client.post(
        reverse("assessment:objection_answer", args=[objection.pk]),
        {"decision": "accept", "answer": "属实，加 2 分", "points": "2", "version": objection.version},
    )
    assert response.status_code == 302
    objection.refresh_from_db()
    assert objection.status == "accepted" and objection.adjustments.get().points == 2


def test_the_notice_and_workbook_carry_the_numbers_on_screen(client, world, scored):
    _scheme, period, run = scored
    login(client, world.supervisor)
    page = client.get(reverse("assessment:period_detail", args=[period.pk])).content.decode()
    response = client.get(
        reverse("assessment:notice", args=[run.pk]), {"number": "督考〔2026〕3号", "red_header": "on"}
    )
    assert response.status_code == 200
    document = docx.Document(io.BytesIO(b"".join(response.streaming_content)))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert "关于2026年第三季度2026年度绩效考核结果的通报（草稿）" in text and "督考〔2026〕3号" in text
    rows = [[cell.text for cell in row.cells] for table in document.tables for row in table.rows[1:]]
    scores = {
        str(s.organisation): s for s in UnitScore.objects.filter(run=run).select_related("organisation")
    }
    assert {row[1] for row in rows} == set(scores)
    for row in rows:
        score = scores[row[1]]
        assert row[0] == str(score.rank) and row[5] == f"{score.total:.2f}"
        assert f"{score.total:.2f}" in page
    response = client.get(reverse("assessment:ranking_workbook", args=[run.pk]))
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    first = list(sheet.iter_rows(min_row=2, values_only=True))
    assert {(r[1], Decimal(str(r[5])).quantize(Decimal("0.01"))) for r in first} == {
        (name, s.total) for name, s in scores.items() if s.group.name == "区直部门"
    }
    assert "指标得分" in workbook.sheetnames


def test_the_changes_between_runs(client, world, scored):
    _scheme, period, _run = scored
    shaped_item(world, lead=world.co_unit, deadline=dt.date(2026, 9, 1))
    newer = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    page = (
        login(client, world.supervisor)
        .get(reverse("assessment:run_changes", args=[newer.pk]))
        .content.decode()
    )
    table = page.split('data-testid="changes"')[1]
    # Only the co-unit's overdue item changed: its total and rank; the others, tied before, keep theirs.
    assert "第2版与第1版比较" in page
    assert "区财政局" in table and "68.00 → <strong>63.50</strong>" in table and "2 → 3" in table
    assert "重点工作落实：48.00 → 45.00" in table
    assert "区发改局" not in table and "区教育局" not in table


def _add_units(world, scheme, count):
    group = scheme.groups.get(name="区直部门")
    for _n in range(count):
        unit = OrganisationFactory(parent=world.government)
        GroupMember.objects.create(scheme=scheme, group=group, organisation=unit)
        services.sign_book(
            user=world.supervisor, scheme=scheme, organisation=unit, targets=[(scheme.specific, "专项任务")]
        )


@pytest.mark.parametrize("page", ["period_detail", "scheme_detail", "breakdown"])
def test_main_pages_do_not_grow_with_units(client, world, page):
    scheme = office_scheme(world)
    period = q3(world, scheme)
    login(client, world.supervisor)

    def count():
        run = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
        url = {
            "period_detail": reverse("assessment:period_detail", args=[period.pk]),
            "scheme_detail": reverse("assessment:scheme_detail", args=[scheme.pk]),
            "breakdown": reverse(
                "assessment:breakdown", args=[UnitScore.objects.get(run=run, organisation=world.lead_unit).pk]
            ),
        }[page]
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    _add_units(world, scheme, 2)
    few = count()
    _add_units(world, scheme, 10)
    assert count() == few


def test_an_indicator_edited_by_two_people_at_once(client, world):
    scheme = office_scheme(world)
    loaded = Indicator.objects.get(pk=scheme.bonus.pk)
    services.save_indicator(
        user=world.supervisor,
        scheme=scheme,
        indicator=Indicator.objects.get(pk=loaded.pk),
        version=loaded.version,
        name="创新争先（修订）",
        category=Category.BONUS,
        max_points=5,
        rule_kind=RuleKind.MANUAL,
    )
    response = login(client, world.supervisor).post(
        reverse("assessment:indicator_edit", args=[loaded.pk]),
        {
            "name": "改名",
            "category": Category.BONUS,
            "max_points": "5",
            "rule_kind": RuleKind.MANUAL,
            "base_points": "0",
            "sort_order": 0,
            "version": loaded.version,
        },
    )
    assert response.status_code == 409 and "已被其他人修改" in response.content.decode()
    assert Indicator.objects.get(pk=loaded.pk).name == "创新争先（修订）"


def test_a_group_is_edited_on_screen_and_a_unit_stays_in_one_group(client, world):
    scheme = office_scheme(world)
    group = scheme.groups.get(name="垂管单位")
    url = reverse("assessment:group_edit", args=[group.pk])
    login(client, world.supervisor)
    page = client.get(url).content.decode()
    assert 'value="垂管单位"' in page and "投资科" in page
    response = client.post(
        url,
        {
            "name": "垂管单位",
            "units": [world.sub_unit.pk, world.co_unit.pk],
            "sort_order": 1,
            "version": group.version,
        },
    )
    assert "区财政局已在「区直部门」分组中" in response.content.decode()
    response = client.post(
        url, {"name": "垂直管理单位", "units": [world.sub_unit.pk], "sort_order": 1, "version": group.version}
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.name == "垂直管理单位" and group.version == 2


def test_an_indicator_is_deleted_from_the_scheme_page_until_it_is_scored(client, world, scored):
    scheme, _period, _run = scored
    login(client, world.supervisor)
    response = client.post(reverse("assessment:indicator_delete", args=[scheme.bonus.pk]), follow=True)
    assert "已用于计分、人工评分或异议，不能删除" in response.content.decode()
    spare = services.save_indicator(
        user=world.supervisor,
        scheme=scheme,
        name="临时",
        category=Category.BONUS,
        max_points=1,
        rule_kind=RuleKind.MANUAL,
    )
    response = client.post(reverse("assessment:indicator_delete", args=[spare.pk]), follow=True)
    assert "已删除指标「临时」。" in response.content.decode()
    assert not Indicator.objects.filter(pk=spare.pk).exists()
