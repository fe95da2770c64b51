"""The formula language of scoring rules: arithmetic over named measures, as an office writes it.

    IF(按时完成率 >= 0.9, 10, 按时完成率 * 10)
    MIN(100, 80 + 2 * 按时办结数 - 5 * 超期数)
    （满意 + 基本满意）÷ 参评人数 × 20

What it accepts: numbers, the names of the scheme's measures, ``+ - * /`` (also ``× ÷``), parentheses,
comparisons (``< <= > >= == !=``, also ``≥ ≤ ≠``), ``and or not``, and the functions IF(condition, then,
else), MIN, MAX, ABS and ROUND(x, digits). Full-width characters are read as their half-width forms.
Nothing else: no attributes, subscripts, strings, lambdas or other calls. A measure's name is written as
it is defined (Chinese, letters, digits and underscores, not starting with a digit).

A formula is parsed and checked when it is saved (``parse``), so a rule that does not parse or names an
unknown measure is refused with a message saying where and what, and is never stored. Python's ``ast``
module only parses the text; the tree is checked node by node against the list above and turned into
nested Python functions (one per node, built from the fixed operators above), which ``Formula.evaluate``
calls in Decimal arithmetic. Nothing is ever passed to ``eval`` or ``compile``.
"""

import ast
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_LENGTH = 500
MAX_DEPTH = 30
# Beyond NFKC: the signs people type from Chinese input methods.
SIGNS = str.maketrans({"×": "*", "÷": "/", "≥": ">=", "≤": "<=", "≠": "!=", "－": "-", "—": "-"})


class FormulaError(ValidationError):
    """A formula that cannot be saved or evaluated, with a Chinese message that says what to fix."""


def _round(value, digits=0):
    exponent = Decimal(1).scaleb(-int(digits))
    return Decimal(value).quantize(exponent, rounding=ROUND_HALF_UP)


# name: (fewest arguments, most arguments). IF is evaluated apart: only the branch taken.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "IF": (3, 3),
    "MIN": (1, 50),
    "MAX": (1, 50),
    "ABS": (1, 1),
    "ROUND": (1, 2),
}
CALLS: dict[str, Callable] = {"MIN": min, "MAX": max, "ABS": abs, "ROUND": _round}

BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
COMPARE = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}


def normalise(text: str) -> str:
    """Full-width forms and the signs of Chinese input methods, as the parser reads them."""
    return unicodedata.normalize("NFKC", text or "").translate(SIGNS).strip()


def _decimal(value) -> Decimal:
    return value if type(value) is Decimal else Decimal(str(value))


@dataclass(frozen=True)
class Formula:
    """A checked formula: its text as written, the measures it reads, and the function computing it."""

    text: str
    measures: frozenset[str]
    _run: Callable[[Mapping[str, Decimal]], Decimal | bool] = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, Decimal | int | float]) -> Decimal:
        """The formula's value for one unit's measures (Decimal); every measure it names must be given."""
        if not self.measures <= values.keys():
            missing = sorted(self.measures - values.keys())
            raise FormulaError(_("缺少计算公式所需的指标数据：%(names)s。") % {"names": "、".join(missing)})
        try:
            result = self._run({name: _decimal(values[name]) for name in self.measures})
        except (DivisionByZero, ZeroDivisionError, InvalidOperation):
            raise FormulaError(
                _("公式「%(text)s」计算时除数为零，请用 IF 为零的情况给出分值。") % {"text": self.text}
            ) from None
        return Decimal(result)


def parse(text: str, measures) -> Formula:
    """Check ``text`` against the language and the known ``measures`` (names); raise ``FormulaError``."""
    source = normalise(text)
    if not source:
        raise FormulaError(_("请填写计算公式。"))
    if len(source) > MAX_LENGTH:
        raise FormulaError(_("计算公式不能超过 %(n)d 个字符。") % {"n": MAX_LENGTH})
    opened, closed = source.count("("), source.count(")")
    if opened != closed:
        raise FormulaError(
            _("计算公式的括号不成对：左括号 %(opened)d 个，右括号 %(closed)d 个。")
            % {"opened": opened, "closed": closed}
        )
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        if not error.offset or error.offset > len(source):
            raise FormulaError(
                _("计算公式写到结尾还不完整（%(end)s），请补全运算符后的内容或右括号。")
                % {"end": source[-10:]}
            ) from None
        column = error.offset
        raise FormulaError(
            _("计算公式第 %(column)d 个字符附近写法有误（%(near)s），请检查括号、逗号和运算符。")
            % {"column": column, "near": source[max(0, column - 6) : column + 4]}
        ) from None
    known = set(measures)
    used = set()
    _check(tree.body, known, used, depth=0)
    return Formula(text=text.strip(), measures=frozenset(used), _run=_compile(tree.body))


def _check(node: ast.AST, known: set[str], used: set[str], *, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise FormulaError(_("计算公式嵌套过深，请拆分为多个指标。"))
    match node:
        case ast.Constant(value=bool()) | ast.Constant(value=int() | float()):
            return
        case ast.Name(id=name):
            if name.upper() in FUNCTIONS:
                raise FormulaError(_("函数 %(name)s 后面要有括号和参数。") % {"name": name.upper()})
            if name not in known:
                raise FormulaError(
                    _("计算公式中的「%(name)s」不是本方案的指标数据。可用的有：%(known)s。")
                    % {"name": name, "known": "、".join(sorted(known)) or _("（无）")}
                )
            used.add(name)
            return
        case ast.BinOp(op=op, left=left, right=right) if type(op) in BINARY:
            operands = (left, right)
        case ast.UnaryOp(op=ast.USub() | ast.UAdd() | ast.Not(), operand=operand):
            operands = (operand,)
        case ast.BoolOp(values=values):
            operands = tuple(values)
        case ast.Compare(left=left, ops=ops, comparators=comparators) if all(
            type(op) in COMPARE for op in ops
        ):
            operands = (left, *comparators)
        case ast.Call(func=ast.Name(id=name), args=args, keywords=[]) if name.upper() in FUNCTIONS:
            fewest, most = FUNCTIONS[name.upper()]
            if not fewest <= len(args) <= most:
                count = str(fewest) if fewest == most else f"{fewest}–{most}"
                raise FormulaError(
                    _("函数 %(name)s 需要 %(count)s 个参数，写了 %(given)d 个。")
                    % {"name": name.upper(), "count": count, "given": len(args)}
                )
            operands = tuple(args)
        case _:
            raise FormulaError(
                _(
                    "计算公式只能使用数字、指标数据、+ - * /、括号、比较、and/or/not 和 IF、MIN、MAX、ABS、ROUND 函数"
                    "（「%(part)s」不在其中）。"
                )
                % {"part": ast.unparse(node)[:40]}
            )
    for operand in operands:
        _check(operand, known, used, depth=depth + 1)


def _compile(node: ast.AST) -> Callable[[Mapping[str, Decimal]], Decimal | bool]:
    """A function computing a node ``_check`` accepted (Decimal for numbers, bool for conditions): the
    tree is walked once, at parse time, so that scoring thousands of units walks no tree."""
    match node:
        case ast.Constant(value=bool() as flag):
            return lambda values: flag
        case ast.Constant(value=number):
            constant = Decimal(str(number))
            return lambda values: constant
        case ast.Name(id=name):
            return lambda values: values[name]
        case ast.BinOp(op=op, left=left, right=right):
            apply, first, second = BINARY[type(op)], _compile(left), _compile(right)
            return lambda values: apply(first(values), second(values))
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            inner = _compile(operand)
            return lambda values: not inner(values)
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            inner = _compile(operand)
            return lambda values: -inner(values)
        case ast.UnaryOp(operand=operand):
            return _compile(operand)
        case ast.BoolOp(op=ast.And(), values=operands):
            parts = [_compile(operand) for operand in operands]
            return lambda values: all(part(values) for part in parts)
        case ast.BoolOp(values=operands):
            parts = [_compile(operand) for operand in operands]
            return lambda values: any(part(values) for part in parts)
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            parts = [_compile(left), *(_compile(c) for c in comparators)]
            tests = [COMPARE[type(op)] for op in ops]

            def compare(values):
                operands = [part(values) for part in parts]
                return all(test(a, b) for test, a, b in zip(tests, operands, operands[1:], strict=False))

            return compare
        case ast.Call(func=ast.Name(id=name), args=args) if name.upper() == "IF":
            # Only the branch taken is evaluated: IF(n == 0, 0, x / n) must not divide by zero.
            condition, then, otherwise = (_compile(arg) for arg in args)
            return lambda values: then(values) if condition(values) else otherwise(values)
        case ast.Call(func=ast.Name(id=name), args=args):
            call, parts = CALLS[name.upper()], [_compile(arg) for arg in args]
            return lambda values: call(*(part(values) for part in parts))
    raise AssertionError(f"unchecked node {ast.dump(node)}")  # _check admits nothing else
