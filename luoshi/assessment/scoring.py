"""How a unit's score is reached from its measures: the scheme's indicator tree, checked, then applied.

``Plan`` is built from a scheme's indicators once per run and scores any number of units; it reads no
database, so the rules below are tested directly (and by property tests):

- A leaf's rule gives a raw value: ``base + measure × points per unit``, a formula over measures, or an
  approved manual score (nothing approved: 0, and the breakdown says so).
- Common, specific and bonus indicators score within [0, 分值]; a deduction indicator's rule gives the
  points to deduct, within [0, 分值], shown negative. Adjustments (corrections with who and why) are
  added after the rule and kept within the same range. A parent scores its children's sum, within its own.
- A veto indicator whose rule gives more than zero vetoes the unit: it ranks last and takes the lowest
  grade, whatever its points.
- Specific (个性) indicators count only for units whose responsibility book signs them.
- Total = basic (common + specific) + bonus (within the scheme's bonus cap) − deduction (within its cap).
  Each indicator's points are rounded to 0.01 first, so the numbers shown always add up.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from luoshi.assessment import formulas
from luoshi.assessment.measures import MEASURES
from luoshi.assessment.models import BASIC_CATEGORIES, Category, RuleKind

CENT = Decimal("0.01")
ZERO = Decimal(0)


def _points(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _within(value: Decimal, ceiling: Decimal) -> Decimal:
    return max(ZERO, min(ceiling, value))


@dataclass
class Node:
    id: int
    parent_id: int | None
    label: str
    category: str
    max_points: Decimal
    rule_kind: str = ""
    measure: str = ""
    points_per_unit: Decimal | None = None
    base_points: Decimal = ZERO
    formula: formulas.Formula | None = None
    children: list["Node"] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def formula_names(self) -> frozenset[str]:
        return self.formula.measures if self.formula else frozenset()

    @property
    def sign(self) -> int:
        return -1 if self.category == Category.DEDUCTION else 1


@dataclass(frozen=True)
class Adjusted:
    points: Decimal
    reason: str
    by: str


@dataclass(frozen=True)
class Line:
    """One indicator's result for one unit, as stored and shown."""

    indicator_id: int
    points: Decimal
    raw: Decimal | None
    inputs: dict
    note: str


@dataclass
class UnitResult:
    basic: Decimal
    bonus: Decimal
    deduction: Decimal
    total: Decimal
    vetoed: bool
    lines: list[Line]


@dataclass(frozen=True)
class ManualEntry:
    points: Decimal
    reason: str


class Plan:
    """A scheme's checked indicator tree. ``problems`` lists what stops it from being scored."""

    def __init__(
        self,
        indicators: Iterable,
        *,
        full_marks: Decimal,
        require_full_marks: bool = True,
        bonus_cap: Decimal | None = None,
        deduction_cap: Decimal | None = None,
        books: Mapping[object, set[int]] | None = None,
    ):
        self.full_marks = Decimal(full_marks)
        self.bonus_cap, self.deduction_cap = bonus_cap, deduction_cap
        self.problems: list[str] = []
        self.nodes = {indicator.pk: self._node(indicator) for indicator in indicators}
        self.roots: list[Node] = []
        for node in self.nodes.values():
            parent = self.nodes.get(node.parent_id)
            (parent.children if parent else self.roots).append(node)
        self.measures = frozenset(
            name
            for node in self.nodes.values()
            if node.is_leaf
            for name in ((node.measure,) if node.rule_kind == RuleKind.MEASURE else node.formula_names())
            if name
        )
        self._check(require_full_marks, books or {})

    def _node(self, indicator) -> Node:
        node = Node(
            id=indicator.pk,
            parent_id=indicator.parent_id,
            label=str(indicator),
            category=indicator.category,
            max_points=Decimal(indicator.max_points),
            rule_kind=indicator.rule_kind,
            measure=indicator.measure,
            points_per_unit=indicator.points_per_unit,
            base_points=Decimal(indicator.base_points or 0),
        )
        if indicator.rule_kind == RuleKind.FORMULA:
            try:
                node.formula = formulas.parse(indicator.formula, MEASURES)
            except formulas.FormulaError as error:
                self.problems.append(
                    _("指标「%(name)s」：%(error)s") % {"name": node.label, "error": error.messages[0]}
                )
        return node

    def _check(self, require_full_marks: bool, books: Mapping[object, set[int]]) -> None:
        for node in self.nodes.values():
            parent = self.nodes.get(node.parent_id)
            if parent is not None and parent.category != node.category:
                self.problems.append(
                    _("指标「%(name)s」的类别须与上级指标「%(parent)s」相同。")
                    % {"name": node.label, "parent": parent.label}
                )
            if node.is_leaf:
                self._check_rule(node)
            elif require_full_marks and node.category != Category.VETO:
                total = sum((child.max_points for child in node.children), ZERO)
                if total != node.max_points:
                    self.problems.append(
                        _("指标「%(name)s」分值为 %(points)s，下级指标分值合计为 %(total)s，两者须相等。")
                        % {"name": node.label, "points": _shown(node.max_points), "total": _shown(total)}
                    )
        if require_full_marks:
            self._check_full_marks(books)

    def _check_rule(self, node: Node) -> None:
        if node.rule_kind == RuleKind.MEASURE:
            if node.measure not in MEASURES:
                self.problems.append(_("指标「%(name)s」请选择记录指标。") % {"name": node.label})
            if node.points_per_unit is None:
                self.problems.append(_("指标「%(name)s」请填写每单位得分。") % {"name": node.label})
        elif node.rule_kind not in (RuleKind.FORMULA, RuleKind.MANUAL):
            self.problems.append(_("末级指标「%(name)s」请选择计分方式。") % {"name": node.label})

    def _check_full_marks(self, books: Mapping[object, set[int]]) -> None:
        common = sum((n.max_points for n in self.roots if n.category == Category.COMMON), ZERO)
        specific = [n for n in self.roots if n.category == Category.SPECIFIC]
        if not specific:
            if common != self.full_marks:
                self.problems.append(
                    _("共性指标分值合计为 %(total)s，须等于满分 %(full)s。")
                    % {"total": _shown(common), "full": _shown(self.full_marks)}
                )
            return
        for unit, signed in books.items():
            total = common + sum((n.max_points for n in specific if n.id in signed), ZERO)
            if total != self.full_marks:
                self.problems.append(
                    _("%(unit)s：共性指标与责任书所签个性指标分值合计为 %(total)s，须等于满分 %(full)s。")
                    % {"unit": unit, "total": _shown(total), "full": _shown(self.full_marks)}
                )

    def score(
        self,
        values: Mapping[str, Decimal],
        *,
        signed: set[int] = frozenset(),
        manual: Mapping[int, ManualEntry] | None = None,
        adjustments: Mapping[int, list[Adjusted]] | None = None,
    ) -> UnitResult:
        """One unit's result. ``signed``: the specific indicators its book signs (top level)."""
        manual, adjustments = manual or {}, adjustments or {}
        lines: list[Line] = []
        vetoed = False
        sums = dict.fromkeys(Category.values, ZERO)
        for root in self.roots:
            if root.category == Category.SPECIFIC and root.id not in signed:
                continue
            points, root_vetoed = self._score(root, values, manual, adjustments, lines)
            sums[root.category] += points
            vetoed = vetoed or root_vetoed
        basic = sum((sums[category] for category in BASIC_CATEGORIES), ZERO)
        bonus = sums[Category.BONUS]
        if self.bonus_cap is not None:
            bonus = min(bonus, Decimal(self.bonus_cap))
        deduction = -sums[Category.DEDUCTION]
        if self.deduction_cap is not None:
            deduction = min(deduction, Decimal(self.deduction_cap))
        return UnitResult(basic, bonus, deduction, basic + bonus - deduction, vetoed, lines)

    def _score(self, node: Node, values, manual, adjustments, lines: list[Line]) -> tuple[Decimal, bool]:
        if node.is_leaf:
            line, vetoed = self._leaf(node, values, manual, adjustments.get(node.id, ()))
            lines.append(line)
            return line.points, vetoed
        total, vetoed = ZERO, False
        for child in node.children:
            points, child_vetoed = self._score(child, values, manual, adjustments, lines)
            total += points
            vetoed = vetoed or child_vetoed
        points = node.sign * _within(node.sign * total, node.max_points)
        lines.append(Line(node.id, points, None, {}, ""))
        return points, vetoed

    def _leaf(self, node: Node, values, manual, adjusted) -> tuple[Line, bool]:
        notes = []
        if node.rule_kind == RuleKind.MANUAL:
            entry = manual.get(node.id)
            inputs = {}
            raw = entry.points if entry else ZERO
            notes.append(entry.reason if entry else _("未评分或评分待复核，按 0 分计"))
        elif node.rule_kind == RuleKind.MEASURE:
            inputs = {node.measure: values[node.measure]}
            raw = node.base_points + values[node.measure] * Decimal(node.points_per_unit)
        else:
            inputs = {name: values[name] for name in sorted(node.formula.measures)}
            try:
                raw = node.formula.evaluate(values)
            except formulas.FormulaError as error:
                raise formulas.FormulaError(
                    _("指标「%(name)s」：%(error)s") % {"name": node.label, "error": error.messages[0]}
                ) from None
        raw = _points(raw)
        if node.category == Category.VETO:
            vetoed = raw > 0
            notes.insert(0, _("触发一票否决") if vetoed else _("未触发"))
            return Line(node.id, ZERO, raw, _plain(inputs), "；".join(notes)), vetoed
        points = _within(raw, node.max_points)
        for adjustment in adjusted:
            points = _within(points + node.sign * adjustment.points, node.max_points)
            notes.append(
                _("%(by)s调整 %(points)s：%(reason)s")
                % {
                    "by": adjustment.by,
                    "points": f"{adjustment.points.normalize():+f}",
                    "reason": adjustment.reason,
                }
            )
        return Line(node.id, node.sign * points, raw, _plain(inputs), "；".join(notes)), False

    def leaves(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.is_leaf]


def _plain(inputs: Mapping[str, Decimal]) -> dict[str, str]:
    # JSON keeps them as text, exactly as computed.
    return {name: str(value) for name, value in inputs.items()}


def _shown(value: Decimal) -> str:
    return f"{value.normalize():f}"
