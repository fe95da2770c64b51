"""The proposed item tree of a document as it is edited (``models.OutlineDraft.tree``), and what it would write.

A tree is a list of nodes, each a dict with the parser's fields (names as written), its ``children``
and an ``id`` given once, in document order, when the draft is made (``tree_of``). The edits below
change the list in place and refuse, with a Chinese ``ValidationError``, what they cannot do.

``plan`` reads a tree as ``ledgers.services.ItemRow``s the way the Excel import reads a sheet: units
and leaders resolved by ``resolve.UnitDirectory``/``LeaderDirectory`` with the same messages, groups
such as 各镇（街道） kept as text among the co-units and refused as the lead. Offices write the
responsibility once for a whole part, so a node without its own lead unit, leader or deadline takes
its nearest ancestor's; a part that names none takes its children's (``importing.parent_values``:
their common lead unit and leader, else the office and none, and their latest deadline).
"""

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from luoshi.exchange.importing import parent_values, start_date
from luoshi.exchange.outline import Outline, OutlineNode
from luoshi.exchange.resolve import LeaderDirectory, UnitDirectory, is_collective, match_key
from luoshi.ledgers.models import Item, Ledger, ReportCycle
from luoshi.ledgers.services import ItemRow

TITLE_MAX_LENGTH = Item._meta.get_field("title").max_length
MOVES = ("up", "down", "indent", "outdent")


# Building and finding ---------------------------------------------------------------------------


def tree_of(outline: Outline) -> list[dict]:
    """The parser's outline as draft nodes, numbered 1, 2, 3 … in document order."""
    counter = itertools.count(1)

    def node(parsed: OutlineNode) -> dict:
        data = parsed.as_dict()
        data["id"] = next(counter)
        data["children"] = [node(child) for child in parsed.children]
        return data

    return [node(child) for child in outline.children]


def walk(nodes: list[dict], depth: int = 0) -> Iterator[tuple[dict, int]]:
    """Every node with its depth, in document order (a parent before its children)."""
    for node in nodes:
        yield node, depth
        yield from walk(node["children"], depth + 1)


def _locate(nodes: list[dict], node_id: int, parent: dict | None = None):
    for index, node in enumerate(nodes):
        if node["id"] == node_id:
            return nodes, index, parent
        found = _locate(node["children"], node_id, node)
        if found:
            return found
    return None


def locate(tree: list[dict], node_id) -> tuple[list[dict], int, dict | None]:
    """(the list holding the node, its index there, its parent node or None)."""
    found = _locate(tree, node_id) if isinstance(node_id, int) else None
    if found is None:
        raise ValidationError(_("找不到这一条，它可能已被删除或合并。请刷新后再试。"))
    return found


# Edits ------------------------------------------------------------------------------------------


def clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": _("事项名称不能为空。")})
    if len(title) > TITLE_MAX_LENGTH:
        raise ValidationError({"title": _("事项名称不能超过 %(limit)s 个字。") % {"limit": TITLE_MAX_LENGTH}})
    return title


def rename(tree: list[dict], node_id: int, title: str) -> dict:
    siblings, index, _parent = locate(tree, node_id)
    node = siblings[index]
    node["title"] = clean_title(title)
    return node


def set_fields(
    tree: list[dict],
    node_id: int,
    *,
    title: str | None,
    description: str,
    lead_org: str,
    co_orgs: list[str],
    lead_leader: str,
    deadline: dt.date | None,
    standing: bool,
    cycle: str | None,
) -> dict:
    """Replace the node's fields with what the user set (``title`` None: kept); the parser's notes on
    them are then settled."""
    siblings, index, _parent = locate(tree, node_id)
    node = siblings[index]
    if cycle and cycle not in ReportCycle.values:
        raise ValidationError({"cycle": _("调度频次不正确。")})
    node.update(
        title=node["title"] if title is None else clean_title(title),
        description=(description or "").strip(),
        lead_org=(lead_org or "").strip(),
        co_orgs=[name for name in dict.fromkeys(name.strip() for name in co_orgs) if name],
        lead_leader=(lead_leader or "").strip(),
        deadline=None if standing or deadline is None else deadline.isoformat(),
        standing=bool(standing),
        cycle=cycle or None,
        errors=[],
    )
    return node


def move(tree: list[dict], node_id: int, direction: str) -> dict:
    """Up or down among its siblings; indent: the last child of its previous sibling; outdent: the
    sibling after its parent."""
    siblings, index, parent = locate(tree, node_id)
    node = siblings[index]
    if direction == "up":
        if index == 0:
            raise ValidationError(_("「%(title)s」已在最前。") % {"title": node["title"]})
        siblings[index - 1], siblings[index] = siblings[index], siblings[index - 1]
    elif direction == "down":
        if index == len(siblings) - 1:
            raise ValidationError(_("「%(title)s」已在最后。") % {"title": node["title"]})
        siblings[index + 1], siblings[index] = siblings[index], siblings[index + 1]
    elif direction == "indent":
        if index == 0:
            raise ValidationError(_("「%(title)s」前面没有同级条目，不能降级。") % {"title": node["title"]})
        siblings[index - 1]["children"].append(siblings.pop(index))
    elif direction == "outdent":
        if parent is None:
            raise ValidationError(_("「%(title)s」已是最上一级。") % {"title": node["title"]})
        parent_siblings, parent_index, _grandparent = locate(tree, parent["id"])
        parent_siblings.insert(parent_index + 1, siblings.pop(index))
    else:
        raise ValidationError(_("不支持的移动方式。"))
    return node


def _joined(first: str, second: str, separator: str) -> str:
    return separator.join(part for part in (first, second) if part)


def merge(tree: list[dict], node_id: int) -> dict:
    """Fold the node into its previous sibling: titles and descriptions joined, its children appended,
    its names added to the sibling's where the sibling has none; the merged node goes."""
    siblings, index, _parent = locate(tree, node_id)
    node = siblings[index]
    if index == 0:
        raise ValidationError(_("「%(title)s」前面没有同级条目，不能合并。") % {"title": node["title"]})
    target = siblings[index - 1]
    title = _joined(target["title"], node["title"], "；")
    if len(title) > TITLE_MAX_LENGTH:
        raise ValidationError(
            _("合并后的事项名称超过 %(limit)s 个字，请先缩短其中一条。") % {"limit": TITLE_MAX_LENGTH}
        )
    target["title"] = title
    target["description"] = _joined(target["description"], node["description"], "\n")
    for name in ("lead_org", "lead_leader", "cycle"):
        target[name] = target[name] or node[name]
    if not target["deadline"] and not target["standing"]:
        target["deadline"], target["standing"] = node["deadline"], node["standing"]
    target["co_orgs"] = list(dict.fromkeys([*target["co_orgs"], *node["co_orgs"]]))
    target["errors"] = [*target["errors"], *node["errors"]]
    target["children"].extend(node["children"])
    del siblings[index]
    return target


def drop(tree: list[dict], node_id: int) -> dict:
    """Remove the node and everything under it."""
    siblings, index, _parent = locate(tree, node_id)
    return siblings.pop(index)


# What the tree would write -----------------------------------------------------------------------


@dataclasses.dataclass
class _Responsibility:
    """Who answers for a node and by when: its own, or what it takes from its ancestors."""

    lead_org_id: int | None = None
    lead_named: bool = False  # a lead unit is written (resolved or not): nothing to report twice
    co_org_ids: list[int] = dataclasses.field(default_factory=list)
    other_units: list[str] = dataclasses.field(default_factory=list)
    lead_leader_id: int | None = None
    deadline: dt.date | None = None
    standing: bool = False
    cycle: str | None = None


@dataclasses.dataclass
class _PlannedRow:
    """What ``importing.parent_values`` reads of a parent's children."""

    lead_org_id: int | None
    lead_leader_id: int | None
    deadline: dt.date | None
    standing: bool


@dataclasses.dataclass
class OutlinePlan:
    rows: list[ItemRow]  # parents before their children
    errors: dict[int, list[str]]  # node id → its problems (the parser's, then resolution)
    titles: dict[int, str]

    @property
    def messages(self) -> list[str]:
        """Every problem, naming its item, for the refusal of a save."""
        return [
            _("「%(title)s」：%(error)s") % {"title": self.titles[node_id], "error": error}
            for node_id, errors in self.errors.items()
            for error in errors
        ]


class _Planner:
    def __init__(self, ledger: Ledger, units: UnitDirectory, leaders: LeaderDirectory, first_order: int):
        self.ledger = ledger
        self.units = units
        self.leaders = leaders
        self.start = start_date(ledger)
        self.order = first_order
        self.rows: list[ItemRow] = []
        self.errors: dict[int, list[str]] = {}

    def error(self, node: dict, message: str) -> None:
        self.errors.setdefault(node["id"], []).append(message)

    def _is_group(self, name: str) -> bool:
        """各镇（街道）, 区直有关部门: a group, unless a unit goes by that name."""
        return is_collective(name) and not self.units.matches(name)

    def _unit(self, node: dict, name: str) -> int | None:
        found = self.units.resolve(name)
        if found is None:
            self.error(node, self.units.error_message(name))
            return None
        return found.pk

    def own(self, node: dict, inherited: _Responsibility) -> _Responsibility:
        """The node's written names resolved (problems recorded), over what it inherits."""
        mine = dataclasses.replace(inherited, co_org_ids=[], other_units=[])
        lead = node["lead_org"]
        if lead:
            mine.lead_named, mine.lead_org_id = True, None
            if self._is_group(lead):
                self.error(
                    node,
                    _("牵头单位「%(name)s」不是一个具体单位，请写明由哪个单位牵头。") % {"name": lead},
                )
            else:
                mine.lead_org_id = self._unit(node, lead)
        co_names = node["co_orgs"] if (node["co_orgs"] or lead) else None
        if co_names is None:
            mine.co_org_ids, mine.other_units = list(inherited.co_org_ids), list(inherited.other_units)
        else:
            for name in co_names:
                if match_key(name) == match_key(lead):
                    continue
                if self._is_group(name):
                    mine.other_units.append(name)
                elif (pk := self._unit(node, name)) is not None and pk not in mine.co_org_ids:
                    mine.co_org_ids.append(pk)
        mine.co_org_ids = [pk for pk in mine.co_org_ids if pk != mine.lead_org_id]
        if node["lead_leader"]:
            found = self.leaders.resolve(node["lead_leader"])
            mine.lead_leader_id = found.pk if found else None
            if found is None:
                self.error(node, self.leaders.error_message(node["lead_leader"]))
        if node["deadline"] or node["standing"]:
            mine.deadline = dt.date.fromisoformat(node["deadline"]) if node["deadline"] else None
            mine.standing = bool(node["standing"]) and not node["deadline"]
        mine.cycle = node["cycle"] or inherited.cycle
        return mine

    def node(self, node: dict, inherited: _Responsibility, parent: ItemRow | None) -> _PlannedRow:
        for error in node["errors"]:
            self.error(node, error)
        title = node["title"].strip()
        if not title:
            self.error(node, _("事项名称为空。"))
        mine = self.own(node, inherited)
        self.order += 1
        row = ItemRow(
            values={"title": title, "description": node["description"], "sort_order": self.order},
            origin=_("「%(title)s」") % {"title": title},
            parent=parent,
        )
        self.rows.append(row)
        children = [self.node(child, mine, row) for child in node["children"]]
        values = {
            "lead_org_id": mine.lead_org_id,
            "lead_leader_id": mine.lead_leader_id,
            "deadline": mine.deadline,
            "is_standing": mine.standing,
        }
        if children:
            # What the document leaves open for a part, its tasks settle.
            from_children = parent_values(children, self.ledger, self.start)
            if not mine.lead_named:
                values["lead_org_id"] = from_children["lead_org_id"]
            values["lead_leader_id"] = mine.lead_leader_id or from_children["lead_leader_id"]
            if not mine.deadline and not mine.standing:
                values["deadline"], values["is_standing"] = (
                    from_children["deadline"],
                    from_children["is_standing"],
                )
        else:
            if not mine.lead_named:
                self.error(node, _("没有牵头单位。"))
            if not mine.deadline and not mine.standing:
                self.error(node, _("完成时限为空，请填写日期或「长期坚持」。"))
        deadline = values["deadline"]
        row.values.update(
            values,
            other_units="、".join(mine.other_units),
            start_date=min(self.start, deadline) if deadline else self.start,
            **({"report_cycle": mine.cycle} if mine.cycle else {}),
        )
        row.co_org_ids = mine.co_org_ids
        return _PlannedRow(values["lead_org_id"], values["lead_leader_id"], deadline, values["is_standing"])


def plan(
    tree: list[dict],
    *,
    ledger: Ledger,
    units: UnitDirectory | None = None,
    leaders: LeaderDirectory | None = None,
    first_order: int = 0,
) -> OutlinePlan:
    """The rows ``tree`` would write into ``ledger`` (parents before children, sort order after
    ``first_order``), and every node's problems; rows are only to be written when there are none."""
    planner = _Planner(
        ledger,
        units if units is not None else UnitDirectory.from_queryset(),
        leaders if leaders is not None else LeaderDirectory.from_queryset(),
        first_order,
    )
    for node in tree:
        planner.node(node, _Responsibility(), None)
    titles = {node["id"]: node["title"] for node, _depth in walk(tree)}
    return OutlinePlan(rows=planner.rows, errors=planner.errors, titles=titles)
