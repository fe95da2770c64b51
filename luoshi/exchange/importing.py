"""From a read table (``workbook.read_table``) to the items it describes, checked before anything is written.

``plan_import`` reads every row once: titles and parents, units and leaders resolved against the
organisation (``resolve``), deadlines and cycles (``dates``), a ledger's custom fields. Each row
keeps the names as written (after normalisation) for the preview, the objects they resolve to for
the write, and its problems as `CellError`s naming the row and column. Names that match nothing are
gathered per file (`ImportPlan.unresolved`), so that the user maps each one once; the mapping comes
back as ``unit_names``/``leader_names`` and the plan is made again.

The unit columns follow the offices' convention: where a sheet has 牵头单位, its 责任单位 and
配合单位 are co-units; where it has none, the first 责任单位 leads (or the one marked （牵头）) and
the rest, with 配合单位, are co-units. Groups such as 各镇（街道） are no one unit: as co-units they are
kept as written (``Item.other_units``); as the lead they are an error.

A parent column (问题类别, 重点工作 before 具体任务) makes one parent item per distinct value; a
blank parent cell under a filled one means "the same as above", as in a merged cell.

``item_rows`` turns a clean plan into ``ledgers.services.ItemRow``s for ``write_items``; re-importing
updates instead of duplicating: a row is matched by the 系统编号 our export writes, else by its 序号
(``Item.code``) in the ledger, and a parent by its title among the ledger's top-level items.
"""

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence

from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.exchange.dates import DeadlineError, parse_cycle, parse_deadline
from luoshi.exchange.resolve import LeaderDirectory, UnitDirectory, is_collective, match_key
from luoshi.exchange.text import normalise, person_name, split_names
from luoshi.exchange.workbook import Table
from luoshi.ledgers.models import FieldTarget, FieldType, Item, Ledger, ReportCycle
from luoshi.ledgers.services import ItemRow
from luoshi.orgs.models import User

_LEAD_MARK = re.compile(r"[（(]\s*牵头\s*[)）]$")
_ROLE_MARK = re.compile(r"[（(]\s*(?:牵头|配合|协办|责任)(?:单位)?\s*[)）]$")
_TITLE_YEAR = re.compile(r"(20\d{2})\s*年")
_SYSTEM_ID = re.compile(r"^(\d+):(\d+)$")


@dataclasses.dataclass(frozen=True, slots=True)
class CellError:
    """A problem with one row, in the column it comes from (``column`` empty: the row as a whole)."""

    message: str
    column: str = ""
    header: str = ""

    def __str__(self) -> str:
        if not self.column:
            return self.message
        return _("%(column)s列（%(header)s）：%(message)s") % {
            "column": self.column,
            "header": self.header,
            "message": self.message,
        }


@dataclasses.dataclass(slots=True)
class ImportRow:
    number: int
    title: str = ""
    description: str = ""
    parent: str = ""
    key: str = ""
    system_id: tuple[int, int] | None = None
    lead_leader: str = ""
    lead_org: str = ""
    co_orgs: list[str] = dataclasses.field(default_factory=list)
    deadline: dt.date | None = None
    standing: bool = False
    cycle: str | None = None
    extra: dict = dataclasses.field(default_factory=dict)
    errors: list[CellError] = dataclasses.field(default_factory=list)
    # What the names resolve to (ids), for the write.
    lead_leader_id: int | None = None
    lead_org_id: int | None = None
    co_org_ids: list[int] = dataclasses.field(default_factory=list)
    other_units: list[str] = dataclasses.field(default_factory=list)

    @property
    def cycle_label(self) -> str:
        return ReportCycle(self.cycle).label if self.cycle else ""

    def as_dict(self) -> dict:
        """The row as ``luoshi import --json`` prints it."""
        return {
            "row": self.number,
            "title": self.title,
            "parent": self.parent or None,
            "lead_leader": self.lead_leader or None,
            "lead_org": self.lead_org or None,
            "co_orgs": self.co_orgs,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "standing": self.standing,
            "cycle": self.cycle,
            "errors": [str(error) for error in self.errors],
        }


@dataclasses.dataclass
class Unresolved:
    """A name that matched nothing (or several), with where it occurs and the closest candidates."""

    kind: str  # "unit" or "leader"
    name: str
    message: str
    rows: list[int] = dataclasses.field(default_factory=list)
    suggestions: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ImportPlan:
    table: Table
    year: int
    rows: list[ImportRow]
    unresolved: list[Unresolved]

    @property
    def error_count(self) -> int:
        return sum(1 for row in self.rows if row.errors)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.error_count

    def as_dict(self) -> dict:
        return {"rows": [row.as_dict() for row in self.rows]}


def year_of(table: Table, ledger: Ledger | None = None, *, today: dt.date | None = None) -> int:
    """The year a deadline without one falls in: the ledger's, else the workbook title's, else this year."""
    if ledger is not None:
        return ledger.year
    for text in (table.title, table.sheet_name):
        if match := _TITLE_YEAR.search(normalise(text)):
            return int(match[1])
    return (today or timezone.localdate()).year


class _Reader:
    """Reads one table's rows into `ImportRow`s; the directories answer every name from memory."""

    def __init__(self, table, *, ledger, year, units, leaders, unit_names, leader_names):
        self.table = table
        self.ledger = ledger
        self.year = year
        self.units = units
        self.leaders = leaders
        self.unit_names = {match_key(name): pk for name, pk in (unit_names or {}).items()}
        self.leader_names = {match_key(person_name(name)[0]): pk for name, pk in (leader_names or {}).items()}
        self.columns = {column.field: column for column in table.columns if column.field}
        self.positions = {
            column.field: position for position, column in enumerate(table.columns) if column.field
        }
        self.custom_fields = (
            {field.key: field for field in ledger.fields.all() if field.target == FieldTarget.ITEM}
            if ledger is not None
            else {}
        )
        self.unresolved: dict[tuple[str, str], Unresolved] = {}
        self.people_by_name = self._people_for_custom_fields()

    # Cells -----------------------------------------------------------------------------------------

    def value(self, source, field):
        position = self.positions.get(field)
        return source.values[position] if position is not None else None

    def text(self, source, field) -> str:
        value = self.value(source, field)
        if value is None or value == "":
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return normalise(str(value)).strip()

    def error(self, row: ImportRow, field: str, message: str) -> None:
        column = self.columns.get(field)
        row.errors.append(
            CellError(message, column.letter if column else "", column.header if column else "")
        )

    # Names -----------------------------------------------------------------------------------------

    def _missing(self, row: ImportRow, field: str, kind: str, name: str, directory) -> None:
        message = directory.error_message(name)
        self.error(row, field, message)
        entry = self.unresolved.setdefault(
            (kind, match_key(name)),
            Unresolved(kind, name, message, suggestions=directory.suggestions(name)),
        )
        entry.rows.append(row.number)

    def unit(self, row: ImportRow, field: str, name: str):
        """The unit's id, or ``None`` (a group, or an error already recorded)."""
        mapped = self.unit_names.get(match_key(name))
        if mapped is not None:
            return mapped
        found = self.units.resolve(name)
        if found is not None:
            return found.pk
        self._missing(row, field, "unit", name, self.units)
        return None

    def leader(self, row: ImportRow, name: str):
        mapped = self.leader_names.get(match_key(name))
        if mapped is not None:
            return mapped
        found = self.leaders.resolve(name)
        if found is not None:
            return found.pk
        self._missing(row, "lead_leader", "leader", name, self.leaders)
        return None

    # Rows ------------------------------------------------------------------------------------------

    def read(self, source, parent: str) -> ImportRow:
        row = ImportRow(number=source.number)
        row.title = self.text(source, "title")
        row.description = self.text(source, "description")
        row.parent = parent
        row.key = self.text(source, "key")
        if not row.title:
            self.error(row, "title", _("事项名称为空。"))
        self._read_system_id(row, source)
        self._read_leader(row, source)
        self._read_units(row, source)
        self._read_deadline(row, source)
        self._read_cycle(row, source)
        self._read_extra(row, source)
        return row

    def _read_system_id(self, row, source) -> None:
        text = self.text(source, "system_id")
        if not text:
            return
        if match := _SYSTEM_ID.match(text):
            row.system_id = (int(match[1]), int(match[2]))
        else:
            self.error(
                row,
                "system_id",
                _("系统编号「%(text)s」已被改动，请从导出的文件中恢复或清空。") % {"text": text},
            )

    def _read_leader(self, row, source) -> None:
        text = self.text(source, "lead_leader")
        if not text:
            return
        names = [person_name(part)[0] for part in split_names(text)]
        row.lead_leader = names[0]
        row.lead_leader_id = self.leader(row, names[0])

    def _read_units(self, row, source) -> None:
        named = {
            field: [_ROLE_MARK.sub("", name) if field != "responsible_orgs" else name for name in names]
            for field in ("lead_org", "responsible_orgs", "co_orgs")
            if (names := split_names(self.text(source, field)))
        }
        if "lead_org" in self.columns:
            lead_field = "lead_org"
            leads = named.get("lead_org", [])
            co = [(name, "lead_org") for name in leads[1:]]  # a 牵头单位 cell naming several: the first leads
        else:
            lead_field = "responsible_orgs"
            responsible = named.get("responsible_orgs", [])
            marked = [name for name in responsible if _LEAD_MARK.search(name)]
            leads = (marked or responsible)[:1]
            co = [(name, "responsible_orgs") for name in responsible if name not in leads]
        co += [
            (name, "responsible_orgs")
            for name in named.get("responsible_orgs", [])
            if lead_field == "lead_org"
        ]
        co += [(name, "co_orgs") for name in named.get("co_orgs", [])]
        if not leads:
            self.error(row, lead_field, _("没有牵头单位。"))
        else:
            row.lead_org = _ROLE_MARK.sub("", leads[0])
            if self._is_group(row.lead_org):
                self.error(
                    row,
                    lead_field,
                    _("牵头单位「%(name)s」不是一个具体单位，请写明由哪个单位牵头。")
                    % {"name": row.lead_org},
                )
            else:
                row.lead_org_id = self.unit(row, lead_field, row.lead_org)
        for written, field in co:
            name = _ROLE_MARK.sub("", written)
            if match_key(name) == match_key(row.lead_org) or name in row.co_orgs:
                continue
            row.co_orgs.append(name)
            if self._is_group(name):
                row.other_units.append(name)
                continue
            pk = self.unit(row, field, name)
            if pk is not None and pk != row.lead_org_id and pk not in row.co_org_ids:
                row.co_org_ids.append(pk)

    def _is_group(self, name: str) -> bool:
        """各镇（街道）, 区直有关部门: a group, unless a unit (or the user's mapping) goes by that name."""
        return is_collective(name) and not self.units.matches(name) and match_key(name) not in self.unit_names

    def _read_deadline(self, row, source) -> None:
        if "deadline" not in self.columns:
            self.error(row, "deadline", _("表格没有完成时限列。"))
            return
        value = self.value(source, "deadline")
        try:
            deadline = parse_deadline(
                value if not isinstance(value, str) else value.strip() or None, year=self.year
            )
        except DeadlineError as error:
            self.error(row, "deadline", str(error))
            return
        row.deadline, row.standing, row.cycle = deadline.date, deadline.standing, deadline.cycle
        if deadline.date is None and not deadline.standing:
            self.error(row, "deadline", _("完成时限为空，请填写日期或「长期坚持」。"))

    def _read_cycle(self, row, source) -> None:
        text = self.text(source, "cycle")
        if not text:
            return
        try:
            row.cycle = parse_cycle(text)
        except DeadlineError as error:
            self.error(row, "cycle", str(error))

    def _read_extra(self, row, source) -> None:
        for field_name in self.columns:
            if not field_name.startswith("extra:"):
                continue
            key = field_name.removeprefix("extra:")
            field = self.custom_fields.get(key)
            value = self.value(source, field_name)
            if field is None or value in (None, ""):
                continue
            try:
                row.extra[key] = self._custom_value(row, field, field_name, value)
            except ValueError as error:
                self.error(row, field_name, str(error))

    def _custom_value(self, row, field, field_name, value):
        """A cell in the form the ledger's custom field stores (ids for units and people)."""
        if field.field_type == FieldType.DATE:
            try:
                day = parse_deadline(value, year=self.year).date
            except DeadlineError as error:
                raise ValueError(str(error)) from error
            if day is None:
                raise ValueError(_("「%(label)s」须为日期。") % {"label": field.label})
            return day.isoformat()
        text = normalise(str(value)).strip()
        if field.field_type == FieldType.UNIT:
            return self.unit(row, field_name, text)
        if field.field_type == FieldType.PERSON:
            people = self.people_by_name.get(match_key(person_name(text)[0]), [])
            if len(people) != 1:
                raise ValueError(
                    _("找不到人员「%(name)s」。") % {"name": text}
                    if not people
                    else _("人员「%(name)s」重名，请在系统中指定。") % {"name": text}
                )
            return people[0]
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return text if field.field_type != FieldType.NUMBER else str(value).strip()

    def _people_for_custom_fields(self) -> dict[str, list[int]]:
        """Active users by name, only when a mapped custom field holds people (one query)."""
        wanted = [
            key.removeprefix("extra:")
            for key in self.columns
            if key.startswith("extra:")
            and getattr(self.custom_fields.get(key.removeprefix("extra:")), "field_type", None)
            == FieldType.PERSON
        ]
        if not wanted:
            return {}
        people: dict[str, list[int]] = {}
        for pk, name in User.objects.filter(is_active=True).values_list("pk", "full_name"):
            people.setdefault(match_key(name), []).append(pk)
        return people


def plan_import(
    table: Table,
    *,
    ledger: Ledger | None = None,
    year: int | None = None,
    units: UnitDirectory | None = None,
    leaders: LeaderDirectory | None = None,
    unit_names: Mapping[str, int] | None = None,
    leader_names: Mapping[str, int] | None = None,
) -> ImportPlan:
    """Every row of ``table`` read and checked; ``*_names`` map written names the user chose for."""
    reader = _Reader(
        table,
        ledger=ledger,
        year=year or year_of(table, ledger),
        units=units if units is not None else UnitDirectory.from_queryset(),
        leaders=leaders if leaders is not None else LeaderDirectory.from_queryset(),
        unit_names=unit_names,
        leader_names=leader_names,
    )
    rows, parent = [], ""
    for source in table.rows:
        written = reader.text(source, "parent")
        if written or "parent" not in reader.columns:
            parent = written
        rows.append(reader.read(source, parent))
    _check_keys(rows, reader)
    return ImportPlan(table=table, year=reader.year, rows=rows, unresolved=list(reader.unresolved.values()))


def _check_keys(rows: Sequence[ImportRow], reader: _Reader) -> None:
    """A 序号 or 系统编号 used twice would make two rows one item."""
    for field, key_of in (("key", lambda row: row.key), ("system_id", lambda row: row.system_id)):
        seen: dict = {}
        for row in rows:
            key = key_of(row)
            if not key:
                continue
            if key in seen:
                reader.error(
                    row,
                    field,
                    _("与第 %(other)s 行重复，同一个编号只能出现一次。") % {"other": seen[key]},
                )
            else:
                seen[key] = row.number


def item_rows(plan: ImportPlan, *, ledger: Ledger) -> list[ItemRow]:
    """The plan as rows for ``ledgers.services.write_items``, matched to the ledger's items.

    A parent item takes its children's common lead unit and leader (else the office's own unit and
    none), their latest deadline (standing only if all are), and the first child's place.
    """
    existing_by_code, parents_by_title = _existing_items(ledger)
    start = start_date(ledger)
    parents: dict[str, ItemRow] = {}
    children: dict[str, list[ImportRow]] = {}
    written: list[ItemRow] = []
    for order, row in enumerate(plan.rows, start=1):
        parent = None
        if row.parent:
            children.setdefault(row.parent, []).append(row)
            parent = parents.get(row.parent)
            if parent is None:
                parent = parents[row.parent] = ItemRow(
                    values={"title": row.parent, "sort_order": order},
                    origin=_("第 %(row)s 行的上级事项「%(title)s」")
                    % {"row": row.number, "title": row.parent},
                    existing_pk=parents_by_title.get(row.parent),
                )
                written.append(parent)
        existing_pk, version = row.system_id or (None, None)
        if existing_pk is None and row.key:
            existing_pk = existing_by_code.get(row.key)
        written.append(
            ItemRow(
                values={
                    "title": row.title,
                    "description": row.description,
                    "code": row.key,
                    "lead_org_id": row.lead_org_id,
                    "lead_leader_id": row.lead_leader_id,
                    "other_units": "、".join(row.other_units),
                    "deadline": row.deadline,
                    "is_standing": row.standing,
                    "start_date": min(start, row.deadline) if row.deadline else start,
                    "sort_order": order,
                    **({"report_cycle": row.cycle} if row.cycle else {}),
                },
                origin=_("第 %(row)s 行") % {"row": row.number},
                co_org_ids=row.co_org_ids,
                extra=row.extra,
                parent=parent,
                existing_pk=existing_pk,
                version=version,
            )
        )
    for title, parent in parents.items():
        parent.values.update(parent_values(children[title], ledger, start))
        if parent.existing_pk is not None:
            parent.values.pop("sort_order")
    for row in written:
        if row.existing_pk is not None:
            row.values.pop("start_date", None)  # an update keeps the date the work started
    return written


def parent_values(rows: list[ImportRow], ledger: Ledger, start: dt.date) -> dict:
    leads = {row.lead_org_id for row in rows}
    leaders = {row.lead_leader_id for row in rows}
    deadlines = [row.deadline for row in rows if row.deadline]
    standing = all(row.standing for row in rows)
    deadline = None if standing or not deadlines else max(deadlines)
    return {
        "lead_org_id": leads.pop() if len(leads) == 1 else ledger.owner_office_id,
        "lead_leader_id": leaders.pop() if len(leaders) == 1 else None,
        "deadline": deadline,
        "is_standing": standing,
        "start_date": min(start, deadline) if deadline else start,
    }


def start_date(ledger: Ledger) -> dt.date:
    """Imported work started with the ledger's year (or today, for a ledger of a later year)."""
    today = timezone.localdate()
    return min(today, dt.date(ledger.year, 1, 1)) if ledger.year <= today.year else today


def _existing_items(ledger: Ledger) -> tuple[dict[str, int], dict[str, int]]:
    """The ledger's items by 序号, and its top-level items by title (one query)."""
    by_code, by_title = {}, {}
    for pk, code, title, parent_id in Item.objects.filter(ledger=ledger).values_list(
        "pk", "code", "title", "parent_id"
    ):
        if code:
            by_code.setdefault(code, pk)
        elif parent_id is None:
            by_title.setdefault(title, pk)
    return by_code, by_title
