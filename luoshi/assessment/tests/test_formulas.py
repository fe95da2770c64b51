"""The formula language: what offices write is read; anything else is refused in Chinese and never run."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from luoshi.assessment.formulas import FormulaError, parse

MEASURES = {"按时完成率", "按时办结数", "超期数", "满意", "基本满意", "参评人数"}


def value(text: str, **values) -> Decimal:
    return parse(text, MEASURES).evaluate(values)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("IF(按时完成率 >= 0.9, 10, 按时完成率 * 10)", {"按时完成率": "0.95"}, Decimal("10")),
        ("IF(按时完成率 >= 0.9, 10, 按时完成率 * 10)", {"按时完成率": "0.85"}, Decimal("8.50")),
        ("MIN(100, 80 + 2 * 按时办结数 - 5 * 超期数)", {"按时办结数": 15, "超期数": 1}, Decimal("100")),
        ("MIN(100, 80 + 2 * 按时办结数 - 5 * 超期数)", {"按时办结数": 3, "超期数": 2}, Decimal("76")),
        # As typed with a Chinese input method: full-width brackets, × ÷ ≥.
        ("（满意 + 基本满意）÷ 参评人数 × 20", {"满意": 30, "基本满意": 10, "参评人数": 50}, Decimal("16")),
        ("IF（参评人数 ≥ 1，满意 ÷ 参评人数，0）", {"满意": 1, "参评人数": 3}, Decimal(1) / Decimal(3)),
        ("ROUND(满意 / 参评人数 * 100, 2)", {"满意": 2, "参评人数": 3}, Decimal("66.67")),
        ("max(0, 10 - 0.5 * 超期数)", {"超期数": 30}, Decimal("0")),
        ("ABS(-超期数) + (超期数 > 2 and 满意 > 0)", {"超期数": 3, "满意": 1}, Decimal("4")),
        ("not 超期数", {"超期数": 0}, Decimal("1")),
    ],
)
def test_what_offices_write(text, values, expected):
    assert value(text, **values) == expected


def test_the_measures_a_formula_reads_are_known_after_parsing():
    assert parse("满意 / 参评人数 * 20 + 1", MEASURES).measures == {"满意", "参评人数"}


def test_if_evaluates_only_the_branch_taken():
    assert value("IF(参评人数 == 0, 0, 满意 / 参评人数)", 满意=5, 参评人数=0) == 0


def test_division_by_zero_says_how_to_avoid_it():
    with pytest.raises(FormulaError, match="除数为零，请用 IF"):
        value("满意 / 参评人数", 满意=5, 参评人数=0)


def test_a_missing_value_is_named():
    with pytest.raises(FormulaError, match="缺少计算公式所需的指标数据：参评人数"):
        parse("满意 / 参评人数", MEASURES).evaluate({"满意": 1})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "请填写计算公式"),
        ("满意 + * 2", "第 6 个字符附近写法有误（满意 + * 2）"),
        ("满意 +", "写到结尾还不完整（满意 +）"),
        ("(满意 + 1", "括号不成对：左括号 1 个，右括号 0 个"),
        ("满意率 * 10", "「满意率」不是本方案的指标数据。可用的有：参评人数、基本满意"),
        ("__import__('os').system('rm -rf /')", "「__import__('os').system('rm -rf /')」不在其中"),
        ("满意.real", "不在其中"),
        ("满意 ** 99999999", "不在其中"),
        ("'文字' * 10", "不在其中"),
        ("[满意][0]", "不在其中"),
        ("(lambda: 1)()", "不在其中"),
        ("满意 if 满意 else 0", "不在其中"),
        ("SUM(满意, 1)", "不在其中"),
        ("IF(满意 > 1, 2)", "函数 IF 需要 3 个参数，写了 2 个"),
        ("ROUND(满意, 1, 2)", "函数 ROUND 需要 1–2 个参数，写了 3 个"),
        ("MIN", "函数 MIN 后面要有括号和参数"),
        ("MAX(满意, key=1)", "不在其中"),
        ("1" + " + 1" * 300, "不能超过 500 个字符"),
        ("(" * 40 + "1" + ")" * 40 + "+" + "-" * 40 + "1", "嵌套过深"),
    ],
)
def test_bad_formulas_are_refused_with_what_to_fix(text, words):
    with pytest.raises(FormulaError) as refused:
        parse(text, MEASURES)
    assert words in refused.value.messages[0]


numbers = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def expressions(draw, depth=0):
    """A random formula over two measures, with the value Python's Decimal gives it."""
    if depth > 3 or draw(st.booleans()):
        choice = draw(st.sampled_from(["满意", "超期数", "number"]))
        if choice == "number":
            number = draw(numbers)
            return f"({number})", lambda a, b, n=number: n
        return choice, (lambda a, b: a) if choice == "满意" else (lambda a, b: b)
    left_text, left = draw(expressions(depth=depth + 1))
    right_text, right = draw(expressions(depth=depth + 1))
    operator = draw(st.sampled_from(["+", "-", "*", "MIN", "MAX"]))
    if operator in ("MIN", "MAX"):
        function = min if operator == "MIN" else max
        return f"{operator}({left_text}, {right_text})", lambda a, b: function(left(a, b), right(a, b))
    combine = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}[operator]
    return f"({left_text} {operator} {right_text})", lambda a, b: combine(left(a, b), right(a, b))


@given(expressions(), numbers, numbers)
def test_random_formulas_compute_as_decimal_arithmetic(expression, a, b):
    text, reference = expression
    assert parse(text, MEASURES).evaluate({"满意": a, "超期数": b}) == reference(a, b)
