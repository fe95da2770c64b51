"""Items out to Excel, laid out as an office ledger, and blank ledger templates to fill in.

The sheet is what a supervision office hands round: a merged title row, the header, one row per item
with its parent's title in a cell merged down the parent's consecutive children, units joined with
「、」, deadlines as date cells, the warning colour as a filled cell, the header frozen and printed on
every page (A4 landscape, fitted to the width, page numbers in the footer). The last column,
``系统编号``, is hidden and holds ``<pk>:<version>``: the importer reads it to update the item
instead of creating a second one.

Memory does not grow with the number of rows: xlsxwriter runs in ``constant_memory`` mode (each row
goes to a temporary file once the next one starts, so rows are written strictly in order), items
are read ``CHUNK_SIZE`` at a time with their co-units in one query per chunk, and only one parent's
group of rows (at most ``MAX_MERGE_ROWS``) is held at once, to know how far its merged cell reaches.
What remains per row is xlsxwriter's record of the merged ranges (written at the end of the sheet),
a few dozen bytes. ``StreamingWorksheet`` shortens xlsxwriter's per-cell work, which is most of the
time of a large export.

Nothing a user typed can run as a formula: every text cell is written with ``write_string`` (never
``write``, which turns ``=…`` into a formula), and the workbook's ``strings_to_*`` conversions are off.

A workbook is an office document read back by the importer, whose column names are Chinese: it is
written in the site's language (``settings.LANGUAGE_CODE``), whoever downloads it.
"""

import datetime as dt
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import xlsxwriter
from django.conf import settings
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext as _
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import CellBlankTuple, CellNumberTuple, CellStringTuple, Worksheet

from luoshi.ledgers import selectors as ledger_selectors
from luoshi.ledgers.models import (
    FieldTarget,
    FieldType,
    Item,
    ItemStatus,
    Ledger,
    LedgerField,
    ReportCycle,
    WarningColor,
)
from luoshi.orgs.models import Membership, Organisation, Role, User

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The importer finds the hidden id column by this exact header, in every language.
ID_HEADER = "系统编号"
# A sheet name that formulas refer to, so it is never translated.
OPTIONS_SHEET = "选项"

CHUNK_SIZE = 2000
MAX_MERGE_ROWS = 500  # a parent with more consecutive children gets one merged cell per 500 rows
TEMPLATE_ROWS = 200  # pre-formatted blank rows in a template
VALIDATED_ROWS = 2000  # rows of a template whose cells offer the drop-down lists
MAX_WIDTH = 50
TITLE_ROW, HEADER_ROW, FIRST_ROW = 0, 1, 2
# Positions of the columns every ledger sheet begins with (see _base_columns).
PARENT_COLUMN = 1
LEADER_COLUMN, LEAD_ORG_COLUMN, CO_ORGS_COLUMN, DEADLINE_COLUMN, CYCLE_COLUMN = 4, 5, 6, 7, 8

WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
COLOUR_FILLS = {
    WarningColor.RED: ("#FF0000", "#FFFFFF"),
    WarningColor.YELLOW: ("#FFFF00", "#000000"),
    WarningColor.GREEN: ("#00B050", "#FFFFFF"),
}

_SHEET_NAME_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


# Text xlsxwriter would change when writing it: XML specials, control characters, runs that look like
# its _xHHHH_ escapes, non-characters, whitespace at either end (kept with xml:space="preserve").
_NEEDS_ESCAPING = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")


class StreamingWorksheet(Worksheet):
    """xlsxwriter's worksheet with a shorter path for the cells that make up a large export.

    In constant-memory mode a row's cells are turned into XML when the next row starts. For a
    formatted plain string, number or blank, xlsxwriter's general path runs half a dozen escaping
    checks per cell, which is most of the time of a 100,000-row export. This writes the very same
    XML after one check (``test_streaming_worksheet_writes_what_xlsxwriter_writes`` compares them
    byte for byte) and hands every other cell to xlsxwriter.
    """

    def _write_cell(self, row: int, col: int, cell) -> None:
        cell_format = getattr(cell, "format", None)
        if cell_format is not None and self.constant_memory:
            kind = type(cell)
            if kind is CellStringTuple and not _NEEDS_ESCAPING.search(cell.string):
                self.fh.write(
                    f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{cell_format._get_xf_index()}" '
                    f't="inlineStr"><is><t>{cell.string}</t></is></c>'
                )
                return
            if kind is CellNumberTuple:
                self.fh.write(
                    f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{cell_format._get_xf_index()}">'
                    f"<v>{cell.number:.16G}</v></c>"
                )
                return
            if kind is CellBlankTuple:
                self.fh.write(
                    f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{cell_format._get_xf_index()}"/>'
                )
                return
        super()._write_cell(row, col, cell)


@dataclass(frozen=True)
class _Column:
    header: str
    kind: str  # text, number, date, colour
    width: float  # the least width; text columns widen to their content up to MAX_WIDTH
    fit: bool = True


def _base_columns() -> list[_Column]:
    return [
        _Column(_("序号"), "text", 6),
        _Column(_("上级事项"), "text", 14),
        _Column(_("事项名称"), "text", 16),
        _Column(_("具体内容"), "text", 20),
        _Column(_("牵头领导"), "text", 10),
        _Column(_("牵头单位"), "text", 12),
        _Column(_("责任单位"), "text", 12),
        # A date, or 「长期坚持」 as offices write it (and as the importer reads it).
        _Column(_("完成时限"), "date", 12, fit=False),
        _Column(_("调度频次"), "text", 10, fit=False),
    ]


def _state_columns() -> list[_Column]:
    return [
        _Column(_("状态"), "text", 10, fit=False),
        _Column(_("预警"), "colour", 10, fit=False),
        _Column(_("完成进度（%）"), "number", 8, fit=False),
    ]


def _field_column(field: LedgerField) -> _Column:
    kind = {FieldType.NUMBER: "number", FieldType.DATE: "date"}.get(field.field_type, "text")
    header = f"{field.label}（{field.unit_label}）" if field.unit_label else field.label
    return _Column(header, kind, 10, fit=kind == "text")


def display_width(text: str) -> float:
    """Columns a text needs in Excel: CJK and full-width characters count double.

    UTF-8 spends three bytes on those and one on ASCII, so (bytes + characters) / 2 is the width,
    computed at C speed for a hundred thousand rows.
    """
    lines = text.split("\n") if "\n" in text else (text,)
    return max((len(line.encode()) + len(line)) / 2 for line in lines)


def ledger_title(ledger: Ledger) -> str:
    """「2026年巡察反馈问题整改台账」: the ledger's name with its year in front, once."""
    return ledger.name if ledger.name.startswith(str(ledger.year)) else f"{ledger.year}年{ledger.name}"


def item_fields(ledger: Ledger | None) -> list[LedgerField]:
    """The ledger's custom item columns, in their order (none for a list across ledgers)."""
    if ledger is None:
        return []
    return list(ledger.fields.filter(target=FieldTarget.ITEM).order_by("sort_order", "id"))


# Reading the items ---------------------------------------------------------------------------------


_VALUES = (
    "pk",
    "version",
    "code",
    "title",
    "description",
    "parent_id",
    "parent__title",
    "lead_leader__full_name",
    "lead_org__name",
    "other_units",
    "deadline",
    "is_standing",
    "report_cycle",
    "status",
    "warning_color",
    "percent_complete",
    "extra",
)


def ledger_order(items):
    """Items ordered so that each parent's children follow one another (by parent, then sort order).

    The parent's own sort order places its group; the parent's row comes before its children's.
    """
    return items.order_by(
        "ledger_id",
        Coalesce("parent__sort_order", "sort_order"),
        Coalesce("parent_id", "id"),
        F("parent_id").asc(nulls_first=True),
        "sort_order",
        "id",
    )


def _chunks(iterator: Iterator, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _co_unit_names(item_ids: list[int]) -> dict[int, list[str]]:
    """Each item's co-units, in the order they were entered."""
    through = Item.co_orgs.through
    names: dict[int, list[str]] = {}
    rows = through.objects.filter(item_id__in=item_ids).order_by("pk")
    for item_id, name in rows.values_list("item_id", "organisation__name"):
        names.setdefault(item_id, []).append(name)
    return names


def _referenced_names(rows: list[dict], fields: Sequence[LedgerField]) -> dict[str, dict[int, str]]:
    """Names of the people and units that person/unit fields of ``rows`` hold as ids."""
    wanted = {FieldType.PERSON: set(), FieldType.UNIT: set()}
    for field in fields:
        if field.field_type in wanted:
            for row in rows:
                value = row["extra"].get(field.key)
                if isinstance(value, int):
                    wanted[field.field_type].add(value)
    names = {FieldType.PERSON: {}, FieldType.UNIT: {}}
    if wanted[FieldType.PERSON]:
        names[FieldType.PERSON] = dict(
            User.objects.filter(pk__in=wanted[FieldType.PERSON]).values_list("pk", "full_name")
        )
    if wanted[FieldType.UNIT]:
        names[FieldType.UNIT] = dict(
            Organisation.objects.filter(pk__in=wanted[FieldType.UNIT]).values_list("pk", "name")
        )
    return names


def _item_rows(items, fields: Sequence[LedgerField]) -> Iterator[tuple[dict, list]]:
    """Each item as (its values, its cells), read ``CHUNK_SIZE`` at a time.

    Queries: one for the items (a server-side cursor where the database has them), then per chunk
    one for the co-units and, if the ledger has person or unit fields, one for each of their names.
    """
    queryset = ledger_order(items).values(*_VALUES)
    # Labels put into words once, not once per row.
    statuses = {value: str(label) for value, label in ItemStatus.choices}
    colours = {value: (value, str(label)) for value, label in WarningColor.choices}
    cycles = {value: str(label) for value, label in ReportCycle.choices}
    standing = _("长期坚持")
    number = itertools.count(1)
    for chunk in _chunks(queryset.iterator(chunk_size=CHUNK_SIZE), CHUNK_SIZE):
        co_units = _co_unit_names([row["pk"] for row in chunk])
        names = _referenced_names(chunk, fields)
        for row in chunk:
            serial = next(number)
            cells = [
                row["code"] or serial,
                row["parent__title"] or "",
                row["title"],
                row["description"],
                row["lead_leader__full_name"] or "",
                row["lead_org__name"],
                "、".join([*co_units.get(row["pk"], ()), *filter(None, [row["other_units"]])]),
                row["deadline"] or (standing if row["is_standing"] else None),
                cycles.get(row["report_cycle"], ""),
                statuses.get(row["status"], ""),
                colours.get(row["warning_color"]),
                row["percent_complete"],
                *(_field_value(field, row["extra"].get(field.key), names) for field in fields),
                f"{row['pk']}:{row['version']}",
            ]
            yield row, cells


def _field_value(field: LedgerField, value, names: dict):
    if value in (None, ""):
        return None
    if field.field_type in (FieldType.PERSON, FieldType.UNIT):
        return names[field.field_type].get(value, "")
    if field.field_type == FieldType.NUMBER:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return str(value)
    if field.field_type == FieldType.DATE:
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
    return str(value)


# Writing the sheet ---------------------------------------------------------------------------------


class _LedgerSheet:
    """One worksheet in the ledger layout; rows must be written top to bottom."""

    def __init__(self, workbook, title: str, columns: Sequence[_Column], *, hidden_last: bool):
        self.workbook, self.title, self.columns = workbook, title, list(columns)
        self.hidden_last = hidden_last
        self.sheet = workbook.add_worksheet(
            title.translate(_SHEET_NAME_FORBIDDEN)[:31] or _("台账"), worksheet_class=StreamingWorksheet
        )
        self.widths = [max(column.width, display_width(column.header) + 2) for column in self.columns]
        self.next_row = FIRST_ROW
        border = {"border": 1, "valign": "vcenter", "text_wrap": True, "font_size": 10}
        add = workbook.add_format
        self.formats = {
            "title": add({"bold": True, "font_size": 18, "align": "center", "valign": "vcenter"}),
            "header": add({**border, "bold": True, "align": "center", "bg_color": "#D9D9D9"}),
            "text": add(border),
            "center": add({**border, "align": "center"}),
            "number": add({**border, "align": "center"}),
            "date": add({**border, "align": "center", "num_format": "yyyy-mm-dd"}),
        }
        self.colour_formats = {
            colour: add({**border, "align": "center", "bg_color": fill, "font_color": font})
            for colour, (fill, font) in COLOUR_FILLS.items()
        }
        # Per column, looked up once per cell: the format of its text and of its empty cells, and
        # whether it still widens to fit its text.
        self.text_formats = [self.formats["text" if column.fit else "center"] for column in self.columns]
        self.blank_formats = [
            self.formats["date" if column.kind == "date" else "text"] for column in self.columns
        ]
        self.fitting = [column.fit for column in self.columns]

    @property
    def last_visible(self) -> int:
        return len(self.columns) - (2 if self.hidden_last else 1)

    def start(self) -> None:
        self.sheet.set_row(TITLE_ROW, 36)
        self.sheet.merge_range(TITLE_ROW, 0, TITLE_ROW, self.last_visible, "", self.formats["title"])
        self.sheet.write_string(TITLE_ROW, 0, self.title, self.formats["title"])
        for col, column in enumerate(self.columns):
            self.sheet.write_string(HEADER_ROW, col, column.header, self.formats["header"])

    def write_cell(self, row: int, col: int, value) -> None:
        """One cell; the most common kinds are tested first (this runs for every cell)."""
        if value is None or value == "":
            self.sheet.write_blank(row, col, None, self.blank_formats[col])
        elif isinstance(value, str):
            self.sheet.write_string(row, col, value, self.text_formats[col])
            if self.fitting[col]:
                width = display_width(value) + 2
                if width > self.widths[col]:
                    self.widths[col] = min(MAX_WIDTH, width)
                    self.fitting[col] = width < MAX_WIDTH
        elif isinstance(value, tuple):  # a warning colour and its label
            colour, label = value
            self.sheet.write_string(row, col, label, self.colour_formats.get(colour, self.formats["center"]))
        elif isinstance(value, int | float | Decimal):
            self.sheet.write_number(row, col, value, self.formats["number"])
        elif isinstance(value, dt.date):
            self.sheet.write_datetime(row, col, value, self.formats["date"])
        else:
            self.write_cell(row, col, str(value))

    def write_row(self, cells: Sequence, *, skip: int | None = None) -> None:
        row, write_cell = self.next_row, self.write_cell
        for col, value in enumerate(cells):
            if col != skip:
                write_cell(row, col, value)
        self.next_row += 1

    def write_group(self, parent_title: str, rows: list[Sequence]) -> None:
        """Rows of one parent's consecutive children, the parent's title merged down their cells.

        ``merge_range`` is given no value and no format, so it only records the merge (xlsxwriter
        pads a merged range with blank cells only when they have a format, and those would land on
        rows not yet written); each row then writes its own cells, in order, as constant-memory
        mode requires.
        """
        first, last = self.next_row, self.next_row + len(rows) - 1
        self.sheet.merge_range(first, PARENT_COLUMN, last, PARENT_COLUMN, "", None)
        for index, cells in enumerate(rows):
            if index == 0:
                self.sheet.write_string(first, PARENT_COLUMN, parent_title, self.formats["text"])
            else:
                self.sheet.write_blank(self.next_row, PARENT_COLUMN, None, self.formats["text"])
            self.write_row(cells, skip=PARENT_COLUMN)
        if self.widths[PARENT_COLUMN] < MAX_WIDTH:
            width = display_width(parent_title) / len(rows) + 2  # the merged cell wraps over its rows
            self.widths[PARENT_COLUMN] = min(MAX_WIDTH, max(self.widths[PARENT_COLUMN], width))

    def finish(self) -> None:
        sheet = self.sheet
        for col, width in enumerate(self.widths):
            hidden = self.hidden_last and col == len(self.columns) - 1
            sheet.set_column(col, col, width, None, {"hidden": True} if hidden else None)
        sheet.freeze_panes(FIRST_ROW, 0)
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(HEADER_ROW)
        sheet.center_horizontally()
        sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        sheet.set_footer(_("&C第 &P 页，共 &N 页"))
        sheet.print_area(0, 0, max(self.next_row - 1, HEADER_ROW), self.last_visible)


def write_items_workbook(items, *, stream, title: str, fields: Sequence[LedgerField] = ()) -> int:
    """Write ``items`` (a queryset, already scoped) to ``stream`` as an .xlsx ledger; returns the row count."""
    with translation.override(settings.LANGUAGE_CODE):
        workbook = xlsxwriter.Workbook(stream, WORKBOOK_OPTIONS)
        columns = [
            *_base_columns(),
            *_state_columns(),
            *(_field_column(field) for field in fields),
            _Column(ID_HEADER, "text", 12, fit=False),
        ]
        sheet = _LedgerSheet(workbook, title, columns, hidden_last=True)
        sheet.start()
        count = 0
        for parent_id, group in itertools.groupby(
            _item_rows(items, fields), key=lambda pair: pair[0]["parent_id"]
        ):
            for rows in _chunks(group, MAX_MERGE_ROWS):
                count += len(rows)
                if parent_id is None or len(rows) == 1:
                    for _values, cells in rows:
                        sheet.write_row(cells)
                else:
                    sheet.write_group(rows[0][0]["parent__title"], [cells for _values, cells in rows])
        sheet.finish()
        workbook.close()
    return count


# Blank templates -----------------------------------------------------------------------------------


def template_units(user) -> list[str]:
    """The active units the user may name, in the organisation's order."""
    units = Organisation.objects.visible_to(user).filter(is_active=True).order_by("path")
    return list(units.values_list("name", flat=True))


def template_leaders() -> list[str]:
    """Active people holding a leader role, by pinyin: the names the importer resolves."""
    leaders = User.objects.filter(
        is_active=True, pk__in=Membership.objects.filter(role=Role.LEADER).values("user")
    ).order_by("pinyin", "pk")
    return list(dict.fromkeys(leaders.values_list("full_name", flat=True)))


def _write_options(workbook, lists: list[tuple[str, str, list[str]]]) -> dict[str, str]:
    """The drop-down lists, (key, heading, values), as columns of the hidden 选项 sheet.

    Returns each non-empty list's key → its range. Lists are too long for Excel's inline form (255
    characters), so validations refer to ranges. Written row by row across the lists, as
    constant-memory mode requires.
    """
    sheet = workbook.add_worksheet(OPTIONS_SHEET)
    sheet.hide()
    for col, (_key, heading, _values) in enumerate(lists):
        sheet.write_string(0, col, heading)
    for row in range(max(len(values) for _key, _heading, values in lists)):
        for col, (_key, _heading, values) in enumerate(lists):
            if row < len(values):
                sheet.write_string(row + 1, col, values[row])
    return {
        key: f"='{OPTIONS_SHEET}'!${xl_col_to_name(col)}$2:${xl_col_to_name(col)}${len(values) + 1}"
        for col, (key, _heading, values) in enumerate(lists)
        if values
    }


def write_template_workbook(
    *,
    stream,
    title: str,
    fields: Sequence[LedgerField] = (),
    units: Sequence[str] = (),
    leaders: Sequence[str] = (),
) -> None:
    """A blank ledger to fill in: the title and header, formatted rows and drop-down lists."""
    with translation.override(settings.LANGUAGE_CODE):
        workbook = xlsxwriter.Workbook(stream, WORKBOOK_OPTIONS)
        columns = [*_base_columns(), *(_field_column(field) for field in fields)]
        sheet = _LedgerSheet(workbook, title, columns, hidden_last=False)
        sheet.start()
        for _row in range(TEMPLATE_ROWS):
            sheet.write_row([None] * len(columns))
        sheet.finish()
        lists = [
            ("units", _("单位"), list(units)),
            ("leaders", _("领导"), list(leaders)),
            ("cycles", _("调度频次"), [str(label) for label in ReportCycle.labels]),
            *(
                (f"field:{field.key}", field.label, [str(choice) for choice in field.choices])
                for field in fields
                if field.field_type == FieldType.CHOICE
            ),
        ]
        _validate(sheet.sheet, columns, _write_options(workbook, lists), fields)
        workbook.close()


def _validate(
    sheet, columns: Sequence[_Column], ranges: dict[str, str], fields: Sequence[LedgerField]
) -> None:
    last = FIRST_ROW + VALIDATED_ROWS - 1

    def choose(col: int, source: str | None, message: str, **options) -> None:
        if source is None:  # an empty list: nothing to choose from
            return
        header = columns[col].header
        sheet.data_validation(
            FIRST_ROW,
            col,
            last,
            col,
            {
                "validate": "list",
                "source": source,
                "input_title": header[:32],
                "input_message": message[:255],
                "error_title": _("请从下拉列表中选择")[:32],
                "error_message": (_("「%(header)s」请从下拉列表中选择。") % {"header": header})[:255],
                **options,
            },
        )

    units = ranges.get("units")
    choose(LEAD_ORG_COLUMN, units, _("从列表中选择一个单位；也可填写简称。"), error_type="warning")
    choose(CO_ORGS_COLUMN, units, _("从列表中选择，或填写多个单位，用「、」分隔。"), show_error=False)
    choose(LEADER_COLUMN, ranges.get("leaders"), _("从列表中选择领导姓名。"), error_type="warning")
    choose(CYCLE_COLUMN, ranges.get("cycles"), _("选择进展报送的频次。"))
    first_field = len(columns) - len(fields)
    for offset, field in enumerate(fields):
        if field.field_type == FieldType.CHOICE:
            choose(first_field + offset, ranges.get(f"field:{field.key}"), _("从列表中选择。"))
        elif field.field_type == FieldType.UNIT:
            choose(first_field + offset, units, _("从列表中选择一个单位。"), error_type="warning")
    sheet.data_validation(
        FIRST_ROW,
        DEADLINE_COLUMN,
        last,
        DEADLINE_COLUMN,
        {
            "validate": "date",
            "criteria": "between",
            "minimum": dt.date(2000, 1, 1),
            "maximum": dt.date(2099, 12, 31),
            "input_title": _("完成时限"),
            "input_message": _(
                "填写日期，如 2026-06-30；也可写「6月底前」「三季度末」「长期坚持」，导入时识别。"
            ),
            "error_title": _("不是日期"),
            "error_message": _(
                "完成时限应为日期，如 2026-06-30。文字形式（如「6月底前」）导入时识别，可保留。"
            ),
            "error_type": "warning",
        },
    )


# Entry points ---------------------------------------------------------------------------------------


def ledger_items(user, ledger: Ledger):
    """The ledger's items the user may see, with today's warnings (the item list's selector)."""
    return ledger_selectors.item_list(user).filter(ledger=ledger)


def export_ledger(ledger: Ledger, user, stream) -> int:
    """The ledger's items visible to ``user`` written to ``stream``; returns the row count."""
    return write_items_workbook(
        ledger_items(user, ledger), stream=stream, title=ledger_title(ledger), fields=item_fields(ledger)
    )


def export_ledger_to_path(ledger: Ledger, user, path) -> int:
    """``export_ledger`` into a file at ``path`` (for the bench and the console)."""
    with open(path, "wb") as stream:
        return export_ledger(ledger, user, stream)


def export_template(ledger: Ledger, user, stream) -> None:
    """The ledger's blank template, its drop-downs listing what ``user`` may choose."""
    write_template_workbook(
        stream=stream,
        title=ledger_title(ledger),
        fields=item_fields(ledger),
        units=template_units(user),
        leaders=template_leaders(),
    )
