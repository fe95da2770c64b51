"""Items written as an office ledger workbook, and blank templates; read back with openpyxl."""

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
import xlsxwriter
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from xlsxwriter.worksheet import Worksheet

from luoshi.exchange.export import (
    CHUNK_SIZE,
    ID_HEADER,
    MAX_WIDTH,
    OPTIONS_SHEET,
    TEMPLATE_ROWS,
    WORKBOOK_OPTIONS,
    StreamingWorksheet,
    display_width,
    export_ledger,
    export_ledger_to_path,
    export_template,
    item_fields,
    ledger_order,
    ledger_title,
    template_leaders,
    template_units,
    write_items_workbook,
    write_template_workbook,
)
from luoshi.ledgers.models import FieldType, Item, ItemStatus, ReportCycle, WarningColor
from luoshi.ledgers.tests.factories import LedgerFactory, LedgerFieldFactory
from luoshi.orgs.tests.factories import OrganisationFactory

DEADLINE = timezone.localdate() + dt.timedelta(days=90)
HEADER = [
    "序号",
    "上级事项",
    "事项名称",
    "具体内容",
    "牵头领导",
    "牵头单位",
    "责任单位",
    "完成时限",
    "调度频次",
    "状态",
    "预警",
    "完成进度（%）",
]


def _read(stream) -> openpyxl.Workbook:
    stream.seek(0)
    return openpyxl.load_workbook(stream)


def _export(world, items=None, **kwargs) -> openpyxl.Workbook:
    stream = io.BytesIO()
    items = Item.objects.filter(ledger=world.ledger) if items is None else items
    write_items_workbook(items, stream=stream, title=kwargs.pop("title", "2026年重点工作"), **kwargs)
    return _read(stream)


def _rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(min_row=3, values_only=True)]


@pytest.fixture
def tree(world):
    """A key work with two tasks (the second entered first), and a task on its own."""
    parent = world.make_item(title="优化营商环境", sort_order=1)
    second = world.make_item(title="压缩审批时限", parent=parent, sort_order=2, code="1.2")
    first = world.make_item(
        title="推行一网通办",
        parent=parent,
        sort_order=1,
        code="1.1",
        description="=SUM(1,2)样式的单元格内容",
        co_orgs=[world.co_unit, world.unrelated_unit],
        other_units="各街道",
        lead_leader=world.leader,
        deadline=DEADLINE,
    )
    alone = world.make_item(title="+开展专项督查", sort_order=0, is_standing=True, deadline=None)
    return parent, first, second, alone


def test_layout_title_header_and_one_row_per_item(world, tree):
    sheet = _export(world).active
    assert sheet["A1"].value == "2026年重点工作"
    assert sheet["A1"].font.b and sheet["A1"].font.sz >= 16
    assert "A1:L1" in {str(cell_range) for cell_range in sheet.merged_cells.ranges}
    header = [cell.value for cell in sheet[2]]
    assert header == [*HEADER, ID_HEADER]
    titles = [row[2] for row in _rows(sheet)]
    # The world's own item and the lone task sort first (sort order 0), each parent before its children.
    assert titles.index("优化营商环境") < titles.index("推行一网通办") < titles.index("压缩审批时限")
    assert len(titles) == Item.objects.filter(ledger=world.ledger).count()


def test_cells_hold_the_item_values(world, tree):
    _parent, first, _second, _alone = tree
    sheet = _export(world).active
    rows = {row[2]: row for row in _rows(sheet)}
    row = rows["推行一网通办"]
    assert row[0] == "1.1"  # the code is the 序号 when there is one
    assert row[1] == "优化营商环境"
    assert row[3] == "=SUM(1,2)样式的单元格内容"
    assert row[4] == world.leader.full_name
    assert row[5] == world.lead_unit.name
    # Django's add() inserts link rows in set order, so which co-unit comes first is not the entry order;
    # the groups written as text always follow the units.
    *units, group = row[6].split("、")
    assert sorted(units) == sorted(["区财政局", "区教育局"]) and group == "各街道"
    assert row[7] == dt.datetime.combine(DEADLINE, dt.time())
    assert row[8] == ReportCycle.MONTHLY.label
    assert row[9] == ItemStatus.DRAFT.label
    assert row[11] == 0
    assert row[12] == f"{first.pk}:{first.version}"
    lone = rows["+开展专项督查"]
    assert lone[1] is None and lone[7] == "长期坚持"
    assert isinstance(lone[0], int)  # no code: the row's number in the file


def test_dates_are_date_cells_in_iso_format(world, tree):
    sheet = _export(world).active
    cell = next(row[7] for row in sheet.iter_rows(min_row=3) if row[2].value == "推行一网通办")
    assert cell.is_date
    assert cell.number_format == "yyyy-mm-dd"


def test_children_share_their_parents_merged_cell(world, tree):
    sheet = _export(world).active
    rows = [row[2].value for row in sheet.iter_rows(min_row=3)]
    top = rows.index("推行一网通办") + 3
    merged = {str(cell_range) for cell_range in sheet.merged_cells.ranges}
    assert f"B{top}:B{top + 1}" in merged
    assert sheet[f"B{top}"].value == "优化营商环境"
    assert sheet[f"B{top}"].border.left.style == "thin"


def test_long_sibling_runs_are_merged_in_blocks(world, tree, monkeypatch):
    parent = tree[0]
    world.make_item(title="第三项", parent=parent, sort_order=3)
    monkeypatch.setattr("luoshi.exchange.export.MAX_MERGE_ROWS", 2)
    sheet = _export(world).active
    spans = sorted((r.min_row, r.max_row) for r in sheet.merged_cells.ranges if r.min_col == r.max_col == 2)
    assert [high - low + 1 for low, high in spans] == [2]  # a block of two; the third stands alone
    titles = [row[2] for row in _rows(sheet)]
    third = titles.index("第三项") + 3
    assert sheet.cell(third, 2).value == "优化营商环境"


def test_warning_colour_is_a_filled_cell(world, tree):
    _parent, first, second, alone = tree
    Item.objects.filter(pk=first.pk).update(warning_color=WarningColor.RED)
    Item.objects.filter(pk=second.pk).update(warning_color=WarningColor.YELLOW)
    Item.objects.filter(pk=alone.pk).update(warning_color=WarningColor.GREEN)
    sheet = _export(world).active
    fills = {row[2].value: (row[10].value, row[10].fill.fgColor.rgb) for row in sheet.iter_rows(min_row=3)}
    assert fills["推行一网通办"] == ("红色预警", "FFFF0000")
    assert fills["压缩审批时限"] == ("黄色预警", "FFFFFF00")
    assert fills["+开展专项督查"] == ("正常", "FF00B050")


def test_formula_like_text_stays_text(world, tree):
    workbook = _export(world, title='=HYPERLINK("http://x")')
    sheet = workbook.active
    cells = [cell for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    risky = [cell for cell in cells if cell.value.startswith(("=", "+", "-", "@"))]
    assert {cell.value for cell in risky} >= {
        "=SUM(1,2)样式的单元格内容",
        "+开展专项督查",
        '=HYPERLINK("http://x")',
    }
    assert all(cell.data_type == "s" for cell in risky)


def test_frozen_header_hidden_id_column_and_widths(world, tree):
    sheet = _export(world).active
    assert sheet.freeze_panes == "A3"
    assert sheet.column_dimensions["M"].hidden
    assert sheet["M2"].value == ID_HEADER
    assert not sheet.column_dimensions["C"].hidden
    assert sheet.column_dimensions["D"].width >= display_width("=SUM(1,2)样式的单元格内容")
    assert all(sheet.column_dimensions[col].width <= MAX_WIDTH for col in "ABCDEFGHIJKL")
    assert sheet["D3"].alignment.wrap_text


def test_print_settings(world, tree):
    sheet = _export(world).active
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    # One page wide (1 is Excel's default, left out of the file), as many pages tall as needed.
    assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$2:$2"
    assert "&P" in sheet.oddFooter.center.text


def test_custom_fields_follow_the_state_columns(world, tree):
    LedgerFieldFactory(
        ledger=world.ledger, key="budget", label="投资额", field_type=FieldType.NUMBER, unit_label="万元"
    )
    LedgerFieldFactory(ledger=world.ledger, key="signed", label="签约日期", field_type=FieldType.DATE)
    LedgerFieldFactory(ledger=world.ledger, key="partner", label="协办单位", field_type=FieldType.UNIT)
    LedgerFieldFactory(ledger=world.ledger, key="note", label="备注", field_type=FieldType.TEXT)
    world.ledger.refresh_from_db()
    first = tree[1]
    extra = {"budget": "12.5", "signed": "2026-04-01", "partner": world.co_unit.pk, "note": "-先行"}
    Item.objects.filter(pk=first.pk).update(extra=extra)
    sheet = _export(world, fields=item_fields(world.ledger)).active
    header = [cell.value for cell in sheet[2]]
    assert header[12:] == ["投资额（万元）", "签约日期", "协办单位", "备注", ID_HEADER]
    row = next(row for row in sheet.iter_rows(min_row=3) if row[2].value == "推行一网通办")
    assert row[12].value == 12.5
    assert row[13].is_date and row[13].value == dt.datetime(2026, 4, 1)
    assert row[14].value == "区财政局"
    assert row[15].value == "-先行" and row[15].data_type == "s"
    assert sheet.column_dimensions["Q"].hidden


def test_written_in_the_site_language(world, tree):
    with translation.override("en"):
        sheet = _export(world).active
    assert [cell.value for cell in sheet[2]][:3] == ["序号", "上级事项", "事项名称"]


def test_returns_the_row_count_and_writes_an_empty_ledger(world):
    stream = io.BytesIO()
    assert write_items_workbook(Item.objects.none(), stream=stream, title="空台账") == 0
    sheet = _read(stream).active
    assert sheet["A1"].value == "空台账"
    assert sheet.max_row == 2


def _count_queries(world, n_items: int) -> int:
    ledger = LedgerFactory(name=f"查询计数{n_items}", owner_office=world.office)
    LedgerFieldFactory(ledger=ledger, key="partner", label="协办单位", field_type=FieldType.UNIT)
    parent = world.make_item(ledger=ledger, title="上级")
    for index in range(n_items - 1):
        world.make_item(
            ledger=ledger,
            parent=parent,
            title=f"事项{index}",
            co_orgs=[world.co_unit],
            extra={"partner": world.co_unit.pk},
        )
    fields = item_fields(ledger)
    with CaptureQueriesContext(connection) as queries:
        count = write_items_workbook(
            Item.objects.filter(ledger=ledger), stream=io.BytesIO(), title="台账", fields=fields
        )
    assert count == n_items
    return len(queries)


def test_query_count_does_not_grow_with_the_rows(world):
    assert _count_queries(world, 10) == _count_queries(world, 50) <= 3


def test_reads_in_chunks(world, tree, monkeypatch):
    monkeypatch.setattr("luoshi.exchange.export.CHUNK_SIZE", 2)
    sheet = _export(world).active
    assert CHUNK_SIZE == 2000
    rows = _rows(sheet)
    assert len(rows) == Item.objects.filter(ledger=world.ledger).count()
    assert next(row for row in rows if row[2] == "推行一网通办")[6] == "区财政局、区教育局、各街道"


def test_ledger_order_puts_children_after_their_parent(world, tree):
    parent, first, second, _alone = tree
    ordered = list(ledger_order(Item.objects.filter(ledger=world.ledger)).values_list("pk", flat=True))
    assert ordered.index(parent.pk) + 1 == ordered.index(first.pk)
    assert ordered.index(first.pk) + 1 == ordered.index(second.pk)


def test_display_width_counts_chinese_double():
    assert display_width("abc") == 3
    assert display_width("区财政局") == 8
    assert display_width("全角，标点") == 10
    assert display_width("长的一行\nab") == 8


def test_ledger_title_puts_the_year_in_front_once(world):
    assert ledger_title(world.ledger) == "2026年重点工作"
    assert ledger_title(LedgerFactory(name="巡察整改", year=2025)) == "2025年巡察整改"


def test_export_ledger_writes_what_the_user_sees(world, tree, tmp_path):
    world.advance(tree[1], ItemStatus.ASSIGNED)
    path = tmp_path / "ledger.xlsx"
    assert export_ledger_to_path(world.ledger, world.co_liaison, path) == 1  # drafts are the office's
    sheet = openpyxl.load_workbook(path).active
    assert [row[2] for row in _rows(sheet)] == ["推行一网通办"]
    stream = io.BytesIO()
    assert (
        export_ledger(world.ledger, world.supervisor, stream)
        == Item.objects.filter(ledger=world.ledger).count()
    )


# Templates ---------------------------------------------------------------------------------------


def _template(world) -> openpyxl.Workbook:
    stream = io.BytesIO()
    export_template(world.ledger, world.supervisor, stream)
    return _read(stream)


def _validations(sheet) -> dict[str, object]:
    """Each validation by the column letter it starts in."""
    return {str(v.sqref).split(":")[0].rstrip("0123456789"): v for v in sheet.data_validations.dataValidation}


def test_template_has_the_header_and_blank_formatted_rows(world):
    workbook = _template(world)
    sheet = workbook.active
    assert sheet["A1"].value == "2026年重点工作"
    assert [cell.value for cell in sheet[2]] == HEADER[:9]
    assert sheet.max_row == 2 + TEMPLATE_ROWS
    assert all(cell.value is None for row in sheet.iter_rows(min_row=3) for cell in row)
    assert sheet["H3"].number_format == "yyyy-mm-dd"
    assert sheet["C3"].border.left.style == "thin"
    assert sheet.freeze_panes == "A3"
    assert sheet.print_title_rows == "$2:$2"


def test_template_offers_drop_down_lists(world):
    LedgerFieldFactory(
        ledger=world.ledger, key="level", label="等级", field_type=FieldType.CHOICE, choices=["一级", "二级"]
    )
    OrganisationFactory(name="已撤销的局", parent=world.government, is_active=False)
    workbook = _template(world)
    options = workbook[OPTIONS_SHEET]
    assert options.sheet_state == "hidden"
    lists = {
        column[0].value: [cell.value for cell in column[1:] if cell.value is not None]
        for column in options.iter_cols()
    }
    assert world.lead_unit.name in lists["单位"] and "已撤销的局" not in lists["单位"]
    assert lists["领导"] == [world.leader.full_name]
    assert lists["调度频次"] == [str(label) for label in ReportCycle.labels]
    assert lists["等级"] == ["一级", "二级"]

    validations = _validations(workbook.active)
    units = f"'{OPTIONS_SHEET}'!$A$2:$A${len(lists['单位']) + 1}"
    assert validations["F"].type == "list" and validations["F"].formula1 == units
    assert validations["G"].formula1 == units and not validations["G"].showErrorMessage
    assert validations["E"].formula1 == f"'{OPTIONS_SHEET}'!$B$2:$B$2"
    assert validations["I"].formula1 == f"'{OPTIONS_SHEET}'!$C$2:$C$5"
    assert validations["J"].formula1 == f"'{OPTIONS_SHEET}'!$D$2:$D$3"
    assert validations["H"].type == "date" and validations["H"].errorStyle == "warning"
    assert "2026-06-30" in validations["H"].prompt and validations["H"].error


def test_template_skips_empty_lists(world):
    stream = io.BytesIO()
    write_template_workbook(stream=stream, title="空白台账", units=["区财政局"], leaders=[])
    validations = _validations(_read(stream).active)
    assert "E" not in validations  # no leaders to choose from
    assert validations["F"].formula1 == f"'{OPTIONS_SHEET}'!$A$2:$A$2"


def test_template_lists_active_units_in_tree_order_and_leaders(world):
    OrganisationFactory(name="已撤销的局", parent=world.government, is_active=False)
    units = [world.office, world.other_office, world.government, world.lead_unit, world.sub_unit]
    assert template_units(world.supervisor) == [
        unit.name for unit in [*units, world.co_unit, world.unrelated_unit]
    ]
    assert template_leaders() == [world.leader.full_name]


# The streaming worksheet ---------------------------------------------------------------------------


def _sheet_xml(worksheet_class, values) -> bytes:
    stream = io.BytesIO()
    workbook = xlsxwriter.Workbook(stream, WORKBOOK_OPTIONS)
    sheet = workbook.add_worksheet("表", worksheet_class=worksheet_class)
    formatted = workbook.add_format({"border": 1})
    for row, value in enumerate(values):
        for col, cell_format in enumerate((formatted, None)):
            if value is None:
                sheet.write_blank(row, col, None, cell_format)
            elif isinstance(value, str):
                sheet.write_string(row, col, value, cell_format)
            elif isinstance(value, dt.date):
                sheet.write_datetime(row, col, value, cell_format)
            else:
                sheet.write_number(row, col, value, cell_format)
    workbook.close()
    with zipfile.ZipFile(stream) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


def test_streaming_worksheet_writes_what_xlsxwriter_writes():
    values = [
        "区财政局、区教育局",
        "=SUM(1,2)样式的单元格内容",
        "a & b < c > d",
        '引号"和\n换行',
        " 前导空格",
        "结尾空格 ",
        "结尾换行\n",
        "控制\x01字符\x1f",
        "像转义的_x0041_文字",
        "非字符\ufffe",
        "😀 emoji",
        "<r>假富文本</r>",
        None,
        0,
        12.5,
        1e20,
        -3,
        dt.date(2026, 6, 30),
    ]
    assert _sheet_xml(StreamingWorksheet, values) == _sheet_xml(Worksheet, values)
