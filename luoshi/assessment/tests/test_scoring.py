"""The indicator tree applied to a unit's measures: rules, caps, floors, vetoes, books, adjustments."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from luoshi.assessment.measures import MEASURES
from luoshi.assessment.models import Category, Indicator, RuleKind
from luoshi.assessment.scoring import Adjusted, ManualEntry, Plan

D = Decimal


def indicator(pk, name, category, max_points, *, parent=None, **rule):
    return Indicator(pk=pk, parent_id=parent, name=name, category=category, max_points=D(max_points), **rule)


def values(**given_values):
    """Every measure at 0, except those given."""
    return {name: D(str(given_values.get(name, 0))) for name in MEASURES}


# The rule offices actually use: base 80, cap 100, per-event points for lead and co-units.
OFFICE_RULE = "80 + 2*按时办结_牵头 + 1*按时办结_配合 - 5*超期_牵头 - 2.5*超期_配合 - 0.1*迟报 - 0.5*漏报"


def office_plan(**options):
    return Plan(
        [
            indicator(
                1, "重点工作落实", Category.COMMON, 100, rule_kind=RuleKind.FORMULA, formula=OFFICE_RULE
            ),
            indicator(2, "创新工作", Category.BONUS, 5, rule_kind=RuleKind.MANUAL),
            indicator(
                3,
                "督办扣分",
                Category.DEDUCTION,
                10,
                rule_kind=RuleKind.MEASURE,
                measure="督办单",
                points_per_unit=D(2),
            ),
            indicator(
                4, "问责", Category.VETO, 0, rule_kind=RuleKind.MEASURE, measure="问责", points_per_unit=D(1)
            ),
        ],
        full_marks=D(100),
        **options,
    )


def test_per_event_points_differ_for_lead_and_co_units_within_base_and_cap():
    plan = office_plan()
    assert plan.problems == []
    result = plan.score(values(按时办结_牵头=3, 按时办结_配合=2, 超期_牵头=1, 超期_配合=1, 迟报=2, 漏报=1))
    # 80 + 6 + 2 - 5 - 2.5 - 0.2 - 0.5
    assert result.basic == D("79.80")
    assert result.total == D("79.80")
    line = next(line for line in result.lines if line.indicator_id == 1)
    assert line.raw == D("79.80")
    assert line.inputs["超期_配合"] == "1"
    capped = plan.score(values(按时办结_牵头=20))
    assert capped.basic == D(100)
    assert next(line for line in capped.lines if line.indicator_id == 1).raw == D(120)


def test_deductions_are_shown_negative_and_stop_at_their_floor():
    result = office_plan().score(values(督办单=7))
    assert result.deduction == D(10)
    assert result.total == D(70)
    assert next(line.points for line in result.lines if line.indicator_id == 3) == D(-10)


def test_a_veto_marks_the_unit_but_takes_no_points():
    result = office_plan().score(values(按时办结_牵头=10, 问责=1))
    assert result.vetoed
    assert result.total == D(100)
    assert next(line.note for line in result.lines if line.indicator_id == 4) == "触发一票否决"
    assert not office_plan().score(values()).vetoed


def test_manual_scores_count_only_when_given_and_say_so_otherwise():
    plan = office_plan()
    missing = plan.score(values())
    assert (
        next(line for line in missing.lines if line.indicator_id == 2).note == "未评分或评分待复核，按 0 分计"
    )
    given_ = plan.score(values(), manual={2: ManualEntry(D(7), "省级表彰")})
    bonus = next(line for line in given_.lines if line.indicator_id == 2)
    assert (bonus.points, bonus.raw, bonus.note) == (D(5), D(7), "省级表彰")
    assert given_.bonus == D(5)


def test_scheme_caps_on_bonus_and_deduction_totals():
    plan = Plan(
        [
            indicator(1, "基础", Category.COMMON, 100, rule_kind=RuleKind.MANUAL),
            indicator(2, "加分一", Category.BONUS, 5, rule_kind=RuleKind.MANUAL),
            indicator(3, "加分二", Category.BONUS, 5, rule_kind=RuleKind.MANUAL),
            indicator(
                4,
                "扣分一",
                Category.DEDUCTION,
                5,
                rule_kind=RuleKind.MEASURE,
                measure="催办",
                points_per_unit=D(1),
            ),
            indicator(
                5,
                "扣分二",
                Category.DEDUCTION,
                5,
                rule_kind=RuleKind.MEASURE,
                measure="约谈",
                points_per_unit=D(1),
            ),
        ],
        full_marks=D(100),
        bonus_cap=D(6),
        deduction_cap=D(8),
    )
    manual = {1: ManualEntry(D(90), "a"), 2: ManualEntry(D(5), "b"), 3: ManualEntry(D(5), "c")}
    result = plan.score(values(催办=5, 约谈=5), manual=manual)
    assert (result.basic, result.bonus, result.deduction, result.total) == (D(90), D(6), D(8), D(88))


def test_a_parent_scores_its_childrens_sum_within_its_points():
    plan = Plan(
        [
            indicator(1, "一级", Category.COMMON, 100),
            indicator(
                2,
                "按时办结率",
                Category.COMMON,
                60,
                parent=1,
                rule_kind=RuleKind.MEASURE,
                measure="按时办结率_牵头",
                points_per_unit=D(60),
            ),
            indicator(
                3,
                "报送",
                Category.COMMON,
                40,
                parent=1,
                rule_kind=RuleKind.FORMULA,
                formula="MAX(0, 40 - 2*迟报 - 5*漏报)",
            ),
        ],
        full_marks=D(100),
    )
    assert plan.problems == []
    result = plan.score(values(按时办结率_牵头="0.9", 迟报=1, 漏报=1))
    points = {line.indicator_id: line.points for line in result.lines}
    assert points == {2: D(54), 3: D(33), 1: D(87)}
    assert result.total == D(87)


def test_specific_indicators_count_only_where_the_book_signs_them():
    plan = Plan(
        [
            indicator(1, "共性", Category.COMMON, 30, rule_kind=RuleKind.MANUAL),
            indicator(2, "招商引资", Category.SPECIFIC, 70, rule_kind=RuleKind.MANUAL),
            indicator(3, "乡村振兴", Category.SPECIFIC, 70, rule_kind=RuleKind.MANUAL),
        ],
        full_marks=D(100),
        books={"区发改局": {2}, "某镇": {3}},
    )
    assert plan.problems == []
    manual = {1: ManualEntry(D(30), ""), 2: ManualEntry(D(60), ""), 3: ManualEntry(D(50), "")}
    assert plan.score(values(), signed={2}, manual=manual).total == D(90)
    assert plan.score(values(), signed={3}, manual=manual).total == D(80)
    assert {line.indicator_id for line in plan.score(values(), signed={3}, manual=manual).lines} == {1, 3}


def test_adjustments_apply_after_the_rule_within_the_range_and_are_explained():
    plan = office_plan()
    adjusted = {
        1: [Adjusted(D(3), "超期事项系上级调整时限所致", "张督办")],
        3: [Adjusted(D(2), "督办单系误发", "张督办")],
    }
    result = plan.score(values(超期_牵头=2, 督办单=3), adjustments=adjusted)
    lines = {line.indicator_id: line for line in result.lines}
    assert lines[1].points == D(73)
    assert "张督办调整 +3：超期事项系上级调整时限所致" in lines[1].note
    assert lines[3].points == D(-4)
    assert result.total == D(69)


@pytest.mark.parametrize(
    ("indicators", "books", "message"),
    [
        (
            [indicator(1, "甲", Category.COMMON, 90, rule_kind=RuleKind.MANUAL)],
            None,
            "共性指标分值合计为 90，须等于满分 100。",
        ),
        (
            [
                indicator(1, "甲", Category.COMMON, 100),
                indicator(2, "乙", Category.COMMON, 50, parent=1, rule_kind=RuleKind.MANUAL),
            ],
            None,
            "指标「甲」分值为 100，下级指标分值合计为 50，两者须相等。",
        ),
        (
            [
                indicator(1, "甲", Category.COMMON, 30, rule_kind=RuleKind.MANUAL),
                indicator(2, "乙", Category.SPECIFIC, 60, rule_kind=RuleKind.MANUAL),
            ],
            {"某镇": {2}},
            "某镇：共性指标与责任书所签个性指标分值合计为 90，须等于满分 100。",
        ),
        ([indicator(1, "甲", Category.COMMON, 100)], None, "末级指标「甲」请选择计分方式。"),
        (
            [indicator(1, "甲", Category.COMMON, 100, rule_kind=RuleKind.FORMULA, formula="2*不存在的指标")],
            None,
            "指标「甲」：计算公式中的「不存在的指标」不是本方案的指标数据",
        ),
        (
            [
                indicator(1, "甲", Category.COMMON, 100, rule_kind=RuleKind.MANUAL),
                indicator(
                    2,
                    "乙",
                    Category.BONUS,
                    5,
                    rule_kind=RuleKind.MEASURE,
                    measure="无此项",
                    points_per_unit=D(1),
                ),
            ],
            None,
            "指标「乙」请选择记录指标。",
        ),
    ],
)
def test_what_stops_a_scheme_from_being_scored(indicators, books, message):
    plan = Plan(indicators, full_marks=D(100), books=books)
    assert any(problem.startswith(message) for problem in plan.problems), plan.problems


def test_sums_are_not_checked_where_the_scheme_does_not_require_them():
    plan = Plan(
        [indicator(1, "甲", Category.COMMON, 90, rule_kind=RuleKind.MANUAL)],
        full_marks=D(100),
        require_full_marks=False,
    )
    assert plan.problems == []


def test_a_formula_failing_for_a_unit_names_the_indicator():
    plan = Plan(
        [indicator(1, "满意度", Category.COMMON, 100, rule_kind=RuleKind.FORMULA, formula="100 / 催办")],
        full_marks=D(100),
    )
    with pytest.raises(Exception, match="指标「满意度」：公式「100 / 催办」计算时除数为零"):
        plan.score(values())


counts = st.integers(min_value=0, max_value=200)


@given(
    st.dictionaries(st.sampled_from(sorted(MEASURES)), counts),
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=20),
    st.lists(st.integers(min_value=-30, max_value=30), max_size=3),
)
def test_caps_and_floors_hold_whatever_the_record(measured, bonus_given, manual_points, adjustment_points):
    plan = Plan(
        [
            indicator(1, "重点工作", Category.COMMON, 100, rule_kind=RuleKind.FORMULA, formula=OFFICE_RULE),
            indicator(2, "创新", Category.BONUS, 5, rule_kind=RuleKind.MANUAL),
            indicator(
                3,
                "表彰",
                Category.BONUS,
                3,
                rule_kind=RuleKind.MEASURE,
                measure="办结_牵头",
                points_per_unit=D("0.5"),
            ),
            indicator(
                4,
                "督办",
                Category.DEDUCTION,
                10,
                rule_kind=RuleKind.MEASURE,
                measure="督办单",
                points_per_unit=D(2),
            ),
            indicator(5, "约谈", Category.DEDUCTION, 6, rule_kind=RuleKind.FORMULA, formula="3*约谈"),
            indicator(
                6, "问责", Category.VETO, 0, rule_kind=RuleKind.MEASURE, measure="问责", points_per_unit=D(1)
            ),
        ],
        full_marks=D(100),
        bonus_cap=D(6),
        deduction_cap=D(12),
    )
    adjustments = {1: [Adjusted(D(p), "更正", "张督办") for p in adjustment_points]}
    result = plan.score(
        values(**measured), manual={2: ManualEntry(D(manual_points), "")}, adjustments=adjustments
    )
    ranges = {1: (0, 100), 2: (0, 5), 3: (0, 3), 4: (-10, 0), 5: (-6, 0), 6: (0, 0)}
    for line in result.lines:
        low, high = ranges[line.indicator_id]
        assert D(low) <= line.points <= D(high)
    assert D(0) <= result.basic <= D(100)
    assert D(0) <= result.bonus <= D(6)
    assert D(0) <= result.deduction <= D(12)
    assert result.total == result.basic + result.bonus - result.deduction
    assert result.vetoed == (measured.get("问责", 0) > 0)
