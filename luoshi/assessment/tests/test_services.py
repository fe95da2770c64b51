"""The assessment services: a quarter scored, reviewed, publicised, objected to, corrected and published."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from luoshi.assessment import services
from luoshi.assessment.models import (
    Adjustment,
    Category,
    Grade,
    GradingMethod,
    Indicator,
    IndicatorScore,
    ManualScore,
    Objection,
    ObjectionStatus,
    PeriodKind,
    PeriodStatus,
    ReviewStatus,
    RuleKind,
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
from luoshi.core.calendar import add_working_days
from luoshi.ledgers.models import Item
from luoshi.supervision.models import Accountability

D = Decimal


def scores(run) -> dict:
    return {score.organisation_id: score for score in UnitScore.objects.filter(run=run)}


def lines(run, unit) -> dict:
    return {line.indicator_id: line for line in IndicatorScore.objects.filter(run=run, organisation=unit)}


@pytest.fixture
def quarter(world):
    scheme = office_scheme(world)
    return scheme, q3(world, scheme)


def test_a_run_scores_every_unit_from_the_record_and_ranks_each_group(world, quarter):
    scheme, period = quarter
    on_time = shaped_item(world, deadline=dt.date(2026, 8, 31), completed_on=dt.date(2026, 8, 1))
    shaped_item(world, lead=world.co_unit, co=[world.lead_unit], deadline=dt.date(2026, 9, 1))
    run = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    assert (run.number, run.unit_count) == (1, 4)
    by_unit = scores(run)
    lead, co, unrelated, sub = (
        by_unit[u.pk] for u in (world.lead_unit, world.co_unit, world.unrelated_unit, world.sub_unit)
    )
    # Key work: (80 + 2 on time as lead − 2.5 overdue as co-unit) × 0.6. Reporting: 20 less 0.5 for each
    # month owed and not reported: July for the lead unit's item (completed in August), July to September
    # for the co-unit's (open). The specific indicator is manual and not yet scored.
    assert lead.basic == D("47.70") + D("19.50")
    assert lead.total == lead.basic
    assert co.basic == D("45.00") + D("18.50")
    assert unrelated.total == D("48.00") + D("20.00")
    # Each group is ranked on its own: 垂管单位 has one unit, first of one.
    assert (unrelated.rank, lead.rank, co.rank, sub.rank) == (1, 2, 3, 1)
    assert lead.grade == Grade.FAIR and unrelated.grade == Grade.FAIR
    assert lead.counted_items["按时办结_牵头"] == [on_time.pk]
    key_work = lines(run, world.lead_unit)[scheme.key_work.pk]
    assert key_work.inputs["按时办结_牵头"] == "1"
    assert key_work.points == D("47.70")
    assert lines(run, world.lead_unit)[scheme.specific.pk].note == "未评分或评分待复核，按 0 分计"


def test_a_veto_sinks_the_unit_to_the_bottom_grade(world, quarter):
    _scheme, period = quarter
    shaped_item(world, deadline=dt.date(2026, 8, 31), completed_on=dt.date(2026, 8, 1))
    Accountability.objects.create(
        office=world.office,
        form="criticism",
        organisation=world.lead_unit,
        decided_on=dt.date(2026, 8, 2),
        reason="失职",
        created_by=world.supervisor,
    )
    run = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    lead = scores(run)[world.lead_unit.pk]
    assert lead.vetoed
    assert (lead.rank, lead.grade) == (3, Grade.POOR)


def test_grades_by_share_of_the_ranking(world):
    scheme = office_scheme(
        world, grading=GradingMethod.SHARES, excellent_line=D(34), good_line=D(67), fair_line=D(100)
    )
    period = q3(world, scheme)
    shaped_item(world, deadline=dt.date(2026, 8, 31), completed_on=dt.date(2026, 8, 1))
    shaped_item(world, lead=world.co_unit, deadline=dt.date(2026, 8, 31))
    run = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    grades = {unit: score.grade for unit, score in scores(run).items()}
    # Three units: the first 34 % is one unit, the first 67 % two.
    assert grades[world.lead_unit.pk] == Grade.EXCELLENT
    assert grades[world.unrelated_unit.pk] == Grade.GOOD
    assert grades[world.co_unit.pk] == Grade.FAIR


def test_a_manual_score_needs_evidence_a_ceiling_and_a_second_reviewer(world, quarter):
    scheme, period = quarter
    reviewer = second_supervisor(world)
    enter = {
        "user": world.supervisor,
        "period": period,
        "organisation": world.lead_unit,
        "indicator": scheme.specific,
    }
    with pytest.raises(ValidationError, match="人工评分须上传佐证材料"):
        services.enter_manual_score(**enter, points=18, reason="完成专项任务")
    with pytest.raises(ValidationError, match="得分须在 0 到 20 分之间"):
        services.enter_manual_score(**enter, points="20.5", reason="完成专项任务", evidence=[evidence()])
    with pytest.raises(ValidationError, match="不是人工评分的末级指标"):
        services.enter_manual_score(
            **{**enter, "indicator": scheme.key_work}, points=1, reason="x", evidence=[evidence()]
        )
    assert not ManualScore.objects.exists()
    score = services.enter_manual_score(**enter, points=18, reason="完成专项任务", evidence=[evidence()])
    assert score.status == ReviewStatus.PENDING and score.evidence.count() == 1
    with pytest.raises(ValidationError, match="复核须由录入人以外的督办员进行"):
        services.review_manual_score(user=world.supervisor, score=score, approve=True)
    with pytest.raises(ValidationError, match="退回时请写明理由"):
        services.review_manual_score(user=reviewer, score=score, approve=False)
    run = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    assert lines(run, world.lead_unit)[scheme.specific.pk].points == 0  # pending: not counted
    services.review_manual_score(user=reviewer, score=score, approve=True, comment="属实")
    run = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    specific = lines(run, world.lead_unit)[scheme.specific.pk]
    assert (specific.points, specific.note) == (D(18), "完成专项任务")
    # Entered again: replaced, and back to review.
    score.refresh_from_db()
    score = services.enter_manual_score(**enter, points=19, reason="补充材料", version=score.version)
    assert score.status == ReviewStatus.PENDING and score.reviewed_by is None


def test_the_quarter_from_publicity_through_objection_to_publication(world, quarter):
    scheme, period = quarter
    reviewer = second_supervisor(world)
    shaped_item(world, deadline=dt.date(2026, 8, 31), completed_on=dt.date(2026, 8, 1))
    score = services.enter_manual_score(
        user=world.supervisor,
        period=period,
        organisation=world.lead_unit,
        indicator=scheme.specific,
        points=15,
        reason="专项任务完成八成",
        evidence=[evidence()],
    )
    services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    with pytest.raises(ValidationError, match="还有 1 条人工评分待复核"):
        services.publicise(user=world.supervisor, period=period)
    services.review_manual_score(user=reviewer, score=score, approve=True)
    with pytest.raises(ValidationError, match="第1版计分之后又有评分复核或分数调整，请重新计分"):
        services.publicise(user=world.supervisor, period=period)
    first = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    with pytest.raises(ValidationError, match="请先公示考核结果"):
        services.publish(user=world.supervisor, period=period)
    monday = dt.date(2026, 10, 19)
    period = services.publicise(user=world.supervisor, period=period, today=monday)
    assert period.status == PeriodStatus.PUBLICISED and period.publicised_run == first
    assert period.objection_deadline == add_working_days(monday, 5) == dt.date(2026, 10, 26)

    with pytest.raises(ValidationError, match="只有本单位的联络员可以提出异议"):
        services.file_objection(
            user=world.co_liaison, period=period, organisation=world.lead_unit, text="不服"
        )
    objection = services.file_objection(
        user=world.lead_liaison,
        period=period,
        organisation=world.lead_unit,
        indicator=scheme.specific,
        text="专项任务已全部完成，附验收意见",
        today=dt.date(2026, 10, 26),
    )
    with pytest.raises(ValidationError, match="异议期已于 2026-10-26 截止"):
        services.file_objection(
            user=world.lead_liaison,
            period=period,
            organisation=world.lead_unit,
            text="再议",
            today=dt.date(2026, 10, 27),
        )
    assert Objection.objects.count() == 1
    with pytest.raises(ValidationError, match="还有 1 条异议未答复"):
        services.publish(user=world.supervisor, period=period, today=dt.date(2026, 10, 27))

    services.answer_objection(
        user=world.supervisor, objection=objection, accept=True, answer="经核实属实，加 3 分", points=3
    )
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.ACCEPTED
    assert Adjustment.objects.get().objection == objection
    with pytest.raises(ValidationError, match="请重新计分"):
        services.publish(user=world.supervisor, period=period, today=dt.date(2026, 10, 27))
    final = services.run_scoring(
        user=world.supervisor, period=period, as_of=Q3_AS_OF, note="采纳异议后重新计分"
    )
    specific = lines(final, world.lead_unit)[scheme.specific.pk]
    assert specific.points == 18
    assert specific.note == "专项任务完成八成；张督办调整 +3：经核实属实，加 3 分"
    with pytest.raises(ValidationError, match="异议期到 2026-10-26 截止"):
        services.publish(user=world.supervisor, period=period, today=dt.date(2026, 10, 26))
    period = services.publish(user=world.supervisor, period=period, today=dt.date(2026, 10, 27))
    assert period.status == PeriodStatus.PUBLISHED and period.published_run == final
    with pytest.raises(ValidationError, match="发布后不再更改"):
        services.publish(user=world.supervisor, period=period, today=dt.date(2026, 10, 28))
    with pytest.raises(ValidationError, match="考核结果已发布，不能再调整分数"):
        services.adjust_score(
            user=world.supervisor,
            period=period,
            organisation=world.lead_unit,
            indicator=scheme.specific,
            points=1,
            reason="再加",
        )


def test_a_published_run_never_changes_when_the_record_does(world, quarter):
    scheme, period = quarter
    item = shaped_item(world, deadline=dt.date(2026, 8, 31), completed_on=dt.date(2026, 8, 1))
    scheme.objection_days = 0
    scheme.save()
    run = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    services.publish(user=world.supervisor, period=period)
    published = {(s.organisation_id, s.total, s.rank) for s in UnitScore.objects.filter(run=run)}
    item.__class__.objects.filter(pk=item.pk).update(completed_on=dt.date(2026, 9, 15))  # now late
    again = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    assert {(s.organisation_id, s.total, s.rank) for s in UnitScore.objects.filter(run=run)} == published
    assert scores(again)[world.lead_unit.pk].total < scores(run)[world.lead_unit.pk].total
    period.refresh_from_db()
    assert period.published_run == run


def test_movement_against_the_previous_published_period(world, quarter):
    scheme, period = quarter
    scheme.objection_days = 0
    scheme.save()
    q2 = services.create_period(
        user=world.supervisor,
        scheme=scheme,
        kind=PeriodKind.QUARTER,
        name="第二季度",
        start=dt.date(2026, 4, 1),
        end=dt.date(2026, 6, 30),
    )
    shaped_item(world, lead=world.co_unit, deadline=dt.date(2026, 6, 1), completed_on=dt.date(2026, 5, 1))
    services.run_scoring(user=world.supervisor, period=q2, as_of=dt.date(2026, 7, 15))
    services.publish(user=world.supervisor, period=q2)
    shaped_item(world, deadline=dt.date(2026, 8, 31), completed_on=dt.date(2026, 8, 1))
    shaped_item(world, deadline=dt.date(2026, 8, 31), completed_on=dt.date(2026, 8, 2))
    run = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    lead = scores(run)[world.lead_unit.pk]
    assert (lead.previous_rank, lead.rank, lead.movement) == (2, 1, 1)


def test_a_scheme_whose_points_do_not_add_up_is_not_scored(world, quarter):
    scheme, period = quarter
    services.save_indicator(
        user=world.supervisor,
        scheme=scheme,
        name="新增指标",
        category=Category.COMMON,
        max_points=10,
        rule_kind=RuleKind.MANUAL,
    )
    with pytest.raises(ValidationError) as refused:
        services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    assert any("合计为 110，须等于满分 100" in message for message in refused.value.messages)
    assert not ScoreRun.objects.exists()


def test_a_formula_that_does_not_parse_or_names_an_unknown_measure_is_not_saved(world, quarter):
    scheme, _period = quarter
    before = Indicator.objects.count()
    for formula, message in (
        ("80 + 2*(按时办结_牵头", "括号不成对"),
        ("2*按期完成", "「按期完成」不是本方案的指标数据"),
    ):
        with pytest.raises(ValidationError, match=message):
            services.save_indicator(
                user=world.supervisor,
                scheme=scheme,
                name="落实",
                category=Category.COMMON,
                max_points=10,
                rule_kind=RuleKind.FORMULA,
                formula=formula,
            )
    assert Indicator.objects.count() == before


def test_only_the_office_scores(world, quarter):
    _scheme, period = quarter
    for user in (world.other_supervisor, world.leader, world.lead_liaison):
        with pytest.raises(ValidationError, match="只有考核单位的督办员可以办理考核事务"):
            services.run_scoring(user=user, period=period, as_of=Q3_AS_OF)


def test_a_unit_is_in_one_group_of_a_scheme(world, quarter):
    scheme, _period = quarter
    with pytest.raises(ValidationError, match="区发改局已在「区直部门」分组中"):
        services.save_group(user=world.supervisor, scheme=scheme, name="镇街", units=[world.lead_unit])


def test_a_book_signs_first_level_specific_indicators_of_a_member(world, quarter):
    scheme, _period = quarter
    with pytest.raises(ValidationError, match="不在本方案的考核分组中"):
        services.sign_book(
            user=world.supervisor,
            scheme=scheme,
            organisation=world.government,
            targets=[(scheme.specific, "目标")],
        )
    with pytest.raises(ValidationError, match="不是本方案的一级个性指标"):
        services.sign_book(
            user=world.supervisor,
            scheme=scheme,
            organisation=world.lead_unit,
            targets=[(scheme.key_work, "目标")],
            book=None,
        )


edits = st.lists(
    st.tuples(
        st.sampled_from(["complete_late", "complete_on_time", "reopen", "add_overdue", "accountability"]),
        st.integers(min_value=0, max_value=5),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits)
def test_a_published_period_never_changes_whatever_is_edited_afterwards(world, published_quarter, changes):
    scheme, period, run, frozen = published_quarter
    items = list(Item.objects.filter(lead_org=world.lead_unit).exclude(status="draft").order_by("pk"))
    for change, index in changes:
        item = items[index % len(items)]
        if change == "complete_late":
            Item.objects.filter(pk=item.pk).update(status="completed", completed_on=dt.date(2026, 9, 29))
        elif change == "complete_on_time":
            Item.objects.filter(pk=item.pk).update(status="completed", completed_on=dt.date(2026, 7, 2))
        elif change == "reopen":
            Item.objects.filter(pk=item.pk).update(status="in_progress", completed_on=None)
        elif change == "add_overdue":
            shaped_item(world, lead=world.co_unit, deadline=dt.date(2026, 8, 1 + index))
        else:
            Accountability.objects.create(
                office=world.office,
                form="criticism",
                organisation=world.unrelated_unit,
                decided_on=dt.date(2026, 8, 2),
                reason="失职",
                created_by=world.supervisor,
            )
    services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    for refused in (
        lambda: services.publish(user=world.supervisor, period=period),
        lambda: services.adjust_score(
            user=world.supervisor,
            period=period,
            organisation=world.lead_unit,
            indicator=scheme.specific,
            points=1,
            reason="更正",
        ),
        lambda: services.enter_manual_score(
            user=world.supervisor,
            period=period,
            organisation=world.lead_unit,
            indicator=scheme.specific,
            points=1,
            reason="补录",
            evidence=[evidence()],
        ),
    ):
        with pytest.raises(ValidationError):
            refused()
    period.refresh_from_db()
    assert period.published_run == run
    assert _snapshot(run) == frozen


def _snapshot(run):
    return (
        sorted(
            UnitScore.objects.filter(run=run).values_list(
                "organisation_id", "total", "rank", "grade", "vetoed"
            )
        ),
        sorted(
            IndicatorScore.objects.filter(run=run).values_list(
                "organisation_id", "indicator_id", "points", "note"
            )
        ),
    )


@pytest.fixture
def published_quarter(world, quarter):
    scheme, period = quarter
    scheme.objection_days = 0
    scheme.save()
    for day in (1, 2, 3):
        shaped_item(world, deadline=dt.date(2026, 8, day), completed_on=dt.date(2026, 7, day))
    run = services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    period = services.publish(user=world.supervisor, period=period)
    return scheme, period, run, _snapshot(run)


def test_an_indicator_is_deleted_only_while_nothing_rests_on_it(world, quarter):
    scheme, period = quarter
    spare = services.save_indicator(
        user=world.supervisor,
        scheme=scheme,
        name="临时指标",
        category=Category.BONUS,
        max_points=1,
        rule_kind=RuleKind.MANUAL,
    )
    services.delete_indicator(user=world.supervisor, indicator=spare)
    assert not Indicator.objects.filter(pk=spare.pk).exists()
    parent = services.save_indicator(
        user=world.supervisor, scheme=scheme, name="一级", category=Category.BONUS, max_points=2
    )
    services.save_indicator(
        user=world.supervisor,
        scheme=scheme,
        name="二级",
        category=Category.BONUS,
        max_points=2,
        parent=parent,
        rule_kind=RuleKind.MANUAL,
    )
    with pytest.raises(ValidationError, match="有下级指标，请先删除下级指标"):
        services.delete_indicator(user=world.supervisor, indicator=parent)
    services.run_scoring(user=world.supervisor, period=period, as_of=Q3_AS_OF)
    with pytest.raises(ValidationError, match="已用于计分、人工评分或异议，不能删除"):
        services.delete_indicator(user=world.supervisor, indicator=scheme.bonus)
    with pytest.raises(ValidationError, match="只有考核单位的督办员"):
        services.delete_indicator(user=world.other_supervisor, indicator=scheme.bonus)
