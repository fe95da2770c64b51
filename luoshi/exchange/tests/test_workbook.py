"""Reading uploaded workbooks: formats, header detection, merged cells, formulas and bad files.

Every workbook is built here, with openpyxl or as bytes (an .xls is a compound file around a BIFF8
stream, an .ods a zip around content.xml); only the shared sample is read from disk.
"""

import datetime as dt
import io
import struct
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import docx
import openpyxl
import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile

from luoshi.exchange import workbook
from luoshi.exchange.workbook import (
    FIELDS,
    Column,
    SourceRow,
    WorkbookError,
    column_letter,
    header_text,
    map_columns,
    read_table,
)

SAMPLE = Path(__file__).resolve().parent / "samples" / "ledger_sample.xlsx"
HEADER = ["序号", "重点工作", "具体任务", "牵头单位", "完成时限"]


def xlsx(*sheets, build=None) -> io.BytesIO:
    """A workbook with one sheet per (name, rows) pair; ``build(workbook)`` may add merges and the like."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets:
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    if build:
        build(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def ledger(*rows, above=(), header=HEADER):
    return xlsx(("台账", [*above, header, *rows]))


def read(upload, name="台账.xlsx", **options):
    return read_table(upload, name=name, **options)


def refusal(upload, name="台账.xlsx", **options) -> WorkbookError:
    with pytest.raises(WorkbookError) as caught:
        read(upload, name, **options)
    return caught.value


# --- .xls: a compound file (MS-CFB, version 3) around a BIFF8 workbook stream -----------------

_END, _FREE, _FAT_SECTOR, _NO_STREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def compound_file(streams: dict[str, bytes]) -> bytes:
    """Sector 0 holds the FAT, sector 1 the directory, then each stream padded to at least 4 KiB
    (smaller ones would belong in the mini stream, which this writer does not make)."""
    names = sorted(streams, key=lambda name: (len(name), name.upper()))
    fat, body, starts, sizes = [_FAT_SECTOR, _END], b"", {}, {}
    for name in names:
        data = streams[name].ljust(4096, b"\0")
        data += b"\0" * (-len(data) % 512)
        starts[name], sizes[name] = len(fat), len(data)
        count = len(data) // 512
        fat += [*range(len(fat) + 1, len(fat) + count), _END]
        body += data
    fat += [_FREE] * (128 - len(fat))

    def entry(name, kind, right, child, start, size):
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        links = struct.pack("<HBB3I", len(encoded), kind, 1 if name else 0, _NO_STREAM, right, child)
        return encoded.ljust(64, b"\0") + links + b"\0" * 36 + struct.pack("<IQ", start, size)

    entries = [entry("Root Entry", 5, _NO_STREAM, 1, _END, 0)]
    for number, name in enumerate(names, start=1):
        right = number + 1 if number < len(names) else _NO_STREAM
        entries.append(entry(name, 2, right, _NO_STREAM, starts[name], sizes[name]))
    entries += [entry("", 0, _NO_STREAM, _NO_STREAM, 0, 0)] * (4 - len(entries))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<5H", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<9I", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", _FREE) * 108
    )
    return header + struct.pack("<128I", *fat) + b"".join(entries) + body


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def biff8(sheet_name: str, cells: dict[tuple[int, int], str | float], merges=(), password=False) -> bytes:
    """One worksheet; ``cells`` maps 0-based (row, column) to text or a number, ``merges`` are
    (first row, last row, first column, last column). With ``password`` the globals start with the
    FILEPASS record of an RC4-encrypted workbook (the rest is left unencrypted: only the marker counts)."""

    def bof(kind):
        return _record(0x0809, struct.pack("<4H2I", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))

    def sheet_entry(offset):
        encoded = sheet_name.encode("utf-16-le")
        return _record(0x0085, struct.pack("<I4B", offset, 0, 0, len(sheet_name), 1) + encoded)

    globals_ = bof(0x0005)
    if password:
        globals_ += _record(0x002F, struct.pack("<H", 1) + bytes(52))
    globals_ += _record(0x0042, struct.pack("<H", 1200))  # code page: UTF-16
    globals_ += sheet_entry(len(globals_) + len(sheet_entry(0)) + 4) + _record(0x000A)
    rows, columns = max(row for row, _ in cells) + 1, max(column for _, column in cells) + 1
    sheet = bof(0x0010) + _record(0x0200, struct.pack("<2I3H", 0, rows, 0, columns, 0))
    for (row, column), value in sorted(cells.items()):
        if isinstance(value, str):
            sheet += _record(
                0x0204, struct.pack("<4HB", row, column, 0, len(value), 1) + value.encode("utf-16-le")
            )
        else:
            sheet += _record(0x0203, struct.pack("<3Hd", row, column, 0, value))
    if merges:
        sheet += _record(
            0x00E5, struct.pack("<H", len(merges)) + b"".join(struct.pack("<4H", *m) for m in merges)
        )
    return globals_ + sheet + _record(0x000A)


_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest'
    ' xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
)


def ods(rows, sheet_name="台账") -> bytes:
    """An OpenDocument spreadsheet: cells are text, floats or "" for an empty cell."""

    def cell(value):
        if value == "":
            return "<table:table-cell/>"
        if isinstance(value, float):
            return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'
        return f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p></table:table-cell>'

    body = "".join("<table:table-row>" + "".join(map(cell, row)) + "</table:table-row>" for row in rows)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{sheet_name}">{body}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", _MANIFEST)
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def _patched_sheet(upload: io.BytesIO, replacements: dict[bytes, bytes]) -> io.BytesIO:
    """The workbook with its first worksheet's XML edited: cells that openpyxl cannot write."""
    source, buffer = zipfile.ZipFile(upload), io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for member in source.infolist():
            data = source.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                for old, new in replacements.items():
                    assert old in data
                    data = data.replace(old, new)
            target.writestr(member, data)
    buffer.seek(0)
    return buffer


# --- the shared sample ----------------------------------------------------------------------------


def test_shared_sample():
    with open(SAMPLE, "rb") as upload:
        table = read(upload, "ledger_sample.xlsx")

    assert (table.sheet_name, table.title, table.header_row) == (
        "问题整改台账",
        "2026年巡察反馈问题整改台账",
        3,
    )
    assert [(column.header, column.field) for column in table.columns] == [
        ("序号", "key"),
        ("问题类别", "parent"),
        ("具体问题", "title"),
        ("整改措施", "description"),
        ("责任领导", "lead_leader"),
        ("责任单位", "responsible_orgs"),
        ("配合单位", "co_orgs"),
        ("整改时限", "deadline"),
        ("整改进度", "progress"),
        ("备注", "notes"),
    ]
    assert [row.number for row in table.rows] == [4, 5, 6, 7, 8, 9]
    parent = table.field_column("parent")
    assert (parent.index, parent.letter) == (1, "B")
    by_number = {row.number: row for row in table.rows}
    assert [by_number[n].values[1] for n in (4, 5, 6, 7, 8)] == ["落实主体责任不到位"] * 2 + [
        "民生领域问题"
    ] * 3
    assert all(1 in by_number[n].merged for n in (4, 5, 6, 7, 8))
    assert by_number[9].merged == frozenset()
    assert by_number[7].values[table.field_column("deadline").index] == dt.date(2026, 11, 15)
    assert by_number[9].values[2] == "=SUM(1,2)样式的单元格内容"
    assert by_number[4].values[0] == "1"
    assert by_number[4].values[9] == ""


def test_field_column_is_none_for_an_unmapped_field():
    with open(SAMPLE, "rb") as upload:
        table = read(upload)
    assert table.field_column("lead_org") is None
    assert table.field_column("title") == Column(2, "C", "具体问题", "title")


def test_reads_a_django_upload():
    with open(SAMPLE, "rb") as source:
        upload = SimpleUploadedFile("台账.xlsx", source.read())
    assert len(read(upload).rows) == 6


# --- column names -----------------------------------------------------------------------------


def test_fields_are_listed_in_display_order():
    assert list(FIELDS)[:4] == ["key", "parent", "title", "description"]
    assert str(FIELDS["lead_org"]) == "牵头单位"
    assert "system_id" in FIELDS


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("序号", "key"),
        ("编号", "key"),
        ("牵头领导", "lead_leader"),
        ("包抓领导", "lead_leader"),
        ("主责单位", "lead_org"),
        ("责任主体", "lead_org"),
        ("牵头部门", "lead_org"),
        ("责任部门", "responsible_orgs"),
        ("协办单位", "co_orgs"),
        ("参与单位", "co_orgs"),
        ("完成时间", "deadline"),
        ("时限要求", "deadline"),
        ("办结时限", "deadline"),
        ("完成时限（年月日）", "deadline"),
        ("整改完成时限", "deadline"),
        ("调度频次", "cycle"),
        ("报送频次", "cycle"),
        ("更新频率", "cycle"),
        ("进展情况", "progress"),
        ("工作进展", "progress"),
        ("完成情况", "progress"),
        ("备注", "notes"),
        ("工作措施", "description"),
        ("目标要求", "description"),
        ("系统编号", "system_id"),
        ("完 成\n时 限", "deadline"),  # spaces and line breaks typed to fit the column
        ("牽頭單位", "lead_org"),  # traditional characters
        ("*牵头单位", "lead_org"),  # a template's required mark
        ("区级牵头单位", "lead_org"),
        ("联系电话", None),
        ("", None),
    ],
)
def test_map_columns_knows_the_common_names(header, field):
    assert map_columns(["具体任务", header])[1] == field


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["重点工作", "牵头单位"], ["title", "lead_org"]),
        (["重点工作", "具体任务", "牵头单位"], ["parent", "title", "lead_org"]),
        (["重点任务", "具体措施", "牵头单位"], ["parent", "title", "lead_org"]),
        (["问题类别", "具体问题", "责任单位"], ["parent", "title", "responsible_orgs"]),
        (["具体问题", "整改措施", "问题类别"], ["title", "description", "parent"]),
        (["问题类别", "重点任务", "具体措施"], [None, "parent", "title"]),
        (["工作领域", "板块"], ["parent", None]),
    ],
)
def test_map_columns_tells_parent_from_title_by_position(headers, expected):
    assert map_columns(headers) == expected


def test_map_columns_reads_our_own_export():
    headers = [
        "序号",
        "上级事项",
        "事项名称",
        "具体内容",
        "牵头领导",
        "牵头单位",
        "责任单位",
        "完成时限",
        "调度频次",
    ]
    headers += ["状态", "预警", "资金规模（万元）", "系统编号"]
    assert map_columns(headers, {"资金规模": "budget"}) == [
        "key",
        "parent",
        "title",
        "description",
        "lead_leader",
        "lead_org",
        "responsible_orgs",
        "deadline",
        "cycle",
        None,
        None,
        "extra:budget",
        "system_id",
    ]


def test_map_columns_gives_a_field_once():
    assert map_columns(["具体任务", "牵头单位", "主责单位", "备注", "备注"]) == [
        "title",
        "lead_org",
        None,
        "notes",
        None,
    ]


def test_map_columns_maps_custom_labels_first():
    labels = {"资金规模（万元）": "budget", "备注": "remark"}
    assert map_columns(["具体任务", "资金规模（万元）", "备注", "其他"], labels) == [
        "title",
        "extra:budget",
        "extra:remark",
        None,
    ]


def test_header_text_removes_inner_whitespace():
    assert header_text("完成\n時限 （年月日）") == "完成时限（年月日）"
    assert header_text(2026.0) == "2026"


def test_column_letters():
    assert [column_letter(index) for index in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


# --- finding the table ------------------------------------------------------------------------------


def test_header_below_title_and_filing_lines():
    upload = ledger(
        [1, "优化营商环境", "压减审批时限", "区发改局", "2026年6月底前"],
        above=[
            ["附件2"],
            ["2026年重点工作任务台账"],
            [],
            ["填报单位：区政府办", None, "填报日期：2026年5月"],
        ],
    )
    table = read(upload)
    assert (table.title, table.header_row) == ("2026年重点工作任务台账", 5)
    assert [column.field for column in table.columns] == ["key", "parent", "title", "lead_org", "deadline"]
    assert table.rows == [
        SourceRow(6, (1, "优化营商环境", "压减审批时限", "区发改局", "2026年6月底前"), frozenset())
    ]


def test_no_title_above_the_header():
    table = read(ledger([1, "甲", "乙", "区发改局", "6月底"]))
    assert (table.title, table.header_row) == ("", 1)


def test_two_row_header_with_a_group_cell():
    def build(workbook):
        sheet = workbook["台账"]
        sheet.merge_cells("A2:A3")
        sheet.merge_cells("B2:B3")
        sheet.merge_cells("C2:D2")
        sheet.merge_cells("E2:E3")

    upload = xlsx(
        (
            "台账",
            [
                ["全区重点任务推进表"],
                ["序号", "重点任务", "责任主体", None, "完成时限"],
                [None, None, "牵头单位", "责任单位", None],
                [1, "建设智慧城市", "区数据局", "区财政局", "年底前"],
            ],
        ),
        build=build,
    )
    table = read(upload)
    assert (table.title, table.header_row) == ("全区重点任务推进表", 3)
    assert [(column.header, column.field) for column in table.columns] == [
        ("序号", "key"),
        ("重点任务", "title"),
        ("牵头单位", "lead_org"),
        ("责任单位", "responsible_orgs"),
        ("完成时限", "deadline"),
    ]
    assert [row.number for row in table.rows] == [4]


def test_skips_an_instructions_sheet_and_an_empty_one():
    upload = xlsx(
        ("填表说明", [["填表说明"], ["1. 每项任务填写一行"], ["2. 完成时限写到日"]]),
        ("空白", []),
        ("台账", [HEADER, [1, "甲", "乙", "区发改局", "6月底"]]),
    )
    assert read(upload).sheet_name == "台账"


def test_skips_hidden_sheets():
    def build(workbook):
        workbook["旧版"].sheet_state = "hidden"

    upload = xlsx(
        ("旧版", [HEADER, [1, "旧", "旧任务", "区发改局", "6月底"]]),
        ("台账", [HEADER, [1, "新", "新任务", "区商务局", "9月底"]]),
        build=build,
    )
    table = read(upload)
    assert (table.sheet_name, table.rows[0].values[2]) == ("台账", "新任务")


def test_table_not_starting_in_column_a():
    upload = xlsx(("台账", [[], [None, None, *HEADER], [None, None, 1, "甲", "乙", "区发改局", "6月底"]]))
    table = read(upload)
    assert table.header_row == 2
    assert [column.letter for column in table.columns] == ["C", "D", "E", "F", "G"]
    assert table.rows[0].values == (1, "甲", "乙", "区发改局", "6月底")


def test_unnamed_columns_with_data_are_kept_and_empty_ones_dropped():
    upload = ledger([1, "甲", "乙", "区发改局", "6月底", None, "王明"], header=[*HEADER, None, None])
    table = read(upload)
    assert [(column.letter, column.header, column.field) for column in table.columns][-2:] == [
        ("E", "完成时限", "deadline"),
        ("G", "", None),
    ]
    assert table.rows[0].values[-1] == "王明"


# --- rows -----------------------------------------------------------------------------------------------------


def test_blank_rows_repeated_headers_and_footers_are_dropped():
    upload = ledger(
        [1, "甲", "任务一", "区发改局", "6月底"],
        [],
        [2, "甲", "任务二", "区发改局", "7月底"],
        HEADER,
        [3, "乙", "任务三", "区商务局", "8月底"],
        ["合计", None, "3项"],
        ["填表说明：完成时限写到日"],
        [4, "丙", "说明以下的行都不读", "区商务局", "8月底"],
        [],
        [],
    )
    assert [row.number for row in read(upload).rows] == [2, 4, 6]


@pytest.mark.parametrize("footer", ["备注：本表每月更新", "注：以上数据截至5月底", "填表人：李红", "總計"])
def test_footers(footer):
    upload = ledger([1, "甲", "任务一", "区发改局", "6月底"], [footer])
    assert [row.number for row in read(upload).rows] == [2]


def test_a_row_naming_a_section_is_kept():
    upload = ledger(["一、优化营商环境"], [1, None, "压减审批时限", "区发改局", "6月底"])
    assert [row.values[0] for row in read(upload).rows] == ["一、优化营商环境", 1]


def test_cell_values():
    upload = ledger(
        [1.0, "  甲 ", "任务\n第二行", 2.5, dt.date(2026, 6, 30)],
        [2, "甲", "任务", "区发改局", dt.datetime(2026, 6, 30, 17, 30)],
        [3, "甲", "任务", True, 46203],
    )
    rows = read(upload).rows
    assert rows[0].values == (1, "甲", "任务\n第二行", 2.5, dt.date(2026, 6, 30))
    assert isinstance(rows[0].values[0], int)
    assert rows[1].values[4] == dt.datetime(2026, 6, 30, 17, 30)
    assert rows[2].values[3:] == (True, 46203)


def test_vertical_and_horizontal_merges():
    def build(workbook):
        sheet = workbook["台账"]
        sheet.merge_cells("B2:B4")  # a key work over its three tasks
        sheet.merge_cells("D3:E3")  # a unit written across two columns
        sheet.merge_cells("D5:E6")  # merged across and down

    upload = ledger(
        [1, "优化营商环境", "任务一", "区发改局", "6月底"],
        [2, None, "任务二", "区商务局", None],
        [3, None, "任务三", "区财政局", "9月底"],
        [4, "乡村振兴", "任务四", "区农业农村局", None],
        [5, None, "任务五", None, None],
    )
    upload = xlsx(("台账", [HEADER, *[list(row.values) for row in read(upload).rows]]), build=build)
    rows = read(upload).rows
    assert [row.values[1] for row in rows] == ["优化营商环境"] * 3 + ["乡村振兴", ""]
    assert [row.merged for row in rows] == [{1}, {1}, {1}, {3}, {3}]
    assert rows[1].values[3:] == ("区商务局", "")
    assert [row.values[3:] for row in rows[3:]] == [("区农业农村局", ""), ("区农业农村局", "")]


def test_a_merged_cell_running_past_the_data_does_not_make_rows():
    def build(workbook):
        workbook["台账"].merge_cells("B2:B5")

    upload = xlsx(("台账", [HEADER, [1, "优化营商环境", "任务一", "区发改局", "6月底"]]), build=build)
    assert [row.number for row in read(upload).rows] == [2]


# --- formulas ---------------------------------------------------------------------------------------------------


def _formula_workbook(formula_cell, footer=False) -> io.BytesIO:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer)
    sheet = workbook.add_worksheet("台账")
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, [1, "甲", "任务一", "区发改局"])
    sheet.write_row(2, 0, [2, "甲", "任务二", "区发改局"])
    formula_cell(sheet)
    if footer:
        sheet.write_row(3, 0, ["合计"])
        sheet.write_formula(3, 2, "=COUNTA(C2:C3)", None, 2)
    workbook.close()
    buffer.seek(0)
    return buffer


def test_a_formula_reads_as_its_saved_result():
    upload = _formula_workbook(
        lambda sheet: sheet.write_formula(1, 4, '="2026年"&"6月底"', None, "2026年6月底")
    )
    assert read(upload).rows[0].values[4] == "2026年6月底"


def test_a_formula_whose_saved_result_is_empty_text_is_empty():
    upload = _formula_workbook(lambda sheet: sheet.write_formula(1, 4, '=IF(1,"","x")', None, ""))
    # As Excel saves it: typed as a string, with an empty value.
    upload = _patched_sheet(
        upload, {b'<c r="E2"><f>IF(1,"","x")</f><v></v>': b'<c r="E2" t="str"><f>IF(1,"","x")</f><v/>'}
    )
    assert read(upload).rows[0].values[4] == ""


def test_a_formula_without_a_saved_result_is_refused():
    upload = _formula_workbook(
        lambda sheet: sheet.write_formula(2, 4, "=DATE(2026,6,30)", None, 0), footer=True
    )
    upload = _patched_sheet(upload, {b"<f>DATE(2026,6,30)</f><v>0</v>": b"<f>DATE(2026,6,30)</f>"})
    error = refusal(upload)
    assert (error.row, error.column) == (3, "E")
    assert "第 3 行 E 列是公式" in error.message
    assert "保存" in error.message


def test_openpyxl_formulas_without_results_are_refused():
    error = refusal(ledger([1, "甲", "任务一", "区发改局", "=TODAY()+30"]))
    assert (error.row, error.column) == (2, "E")


def test_a_formula_below_the_data_is_not_checked():
    upload = _formula_workbook(lambda sheet: None, footer=True)
    upload = _patched_sheet(upload, {b"<f>COUNTA(C2:C3)</f><v>2</v>": b"<f>COUNTA(C2:C3)</f><v></v>"})
    assert [row.number for row in read(upload).rows] == [2, 3]


def test_an_error_value_is_refused():
    upload = _formula_workbook(lambda sheet: sheet.write_formula(1, 4, "=A1/0", None, "#DIV/0!"))
    error = refusal(upload)
    assert (error.row, error.column) == (2, "E")
    assert "#DIV/0!" in error.message


# --- other formats ---------------------------------------------------------------------------------------------


def test_xls():
    cells = {(0, 0): "2026年重点工作台账"} | {(2, column): name for column, name in enumerate(HEADER)}
    cells |= {(3, 0): 1.0, (3, 1): "优化营商环境", (3, 2): "任务一", (3, 3): "区发改局", (3, 4): "6月底"}
    cells |= {(4, 0): 2.0, (4, 2): "任务二", (4, 3): "区商务局", (4, 4): "9月底"}
    upload = io.BytesIO(compound_file({"Workbook": biff8("台账", cells, merges=[(3, 4, 1, 1)])}))
    table = read(upload, "台账.xls")
    assert (table.title, table.header_row) == ("2026年重点工作台账", 3)
    assert [row.values for row in table.rows] == [
        (1, "优化营商环境", "任务一", "区发改局", "6月底"),
        (2, "优化营商环境", "任务二", "区商务局", "9月底"),
    ]
    assert table.rows[1].merged == {1}


def test_ods():
    upload = io.BytesIO(ods([["2026年重点工作台账"], HEADER, [1.0, "甲", "任务一", "区发改局", "6月底"]]))
    table = read(upload, "台账.ods")
    assert (table.title, table.header_row, table.rows[0].values) == (
        "2026年重点工作台账",
        2,
        (1, "甲", "任务一", "区发改局", "6月底"),
    )


def test_kind_is_told_by_content_not_name():
    with open(SAMPLE, "rb") as upload:
        assert len(read(upload, "台账.csv").rows) == 6


CSV_TEXT = '2026年重点工作台账\n序号,重点工作,具体任务,牵头单位,完成时限\n1,甲,"压减审批时限，\n提速增效",區發改局,6月底\n2,甲,任务二,区商务局,\n'


@pytest.mark.parametrize(
    "data",
    [
        CSV_TEXT.encode("utf-8"),
        CSV_TEXT.encode("utf-8-sig"),
        CSV_TEXT.encode("gb18030"),
        CSV_TEXT.replace("\n", "\r\n").encode("gb18030"),
        CSV_TEXT.encode("utf-16"),
        CSV_TEXT.replace(",", "\t").encode("utf-8"),
        CSV_TEXT.replace(",", ";").encode("gb18030"),
    ],
)
def test_csv(data):
    table = read(io.BytesIO(data), "台账.csv")
    assert (table.sheet_name, table.title, table.header_row) == ("台账", "2026年重点工作台账", 2)
    assert [column.field for column in table.columns] == ["key", "parent", "title", "lead_org", "deadline"]
    assert [row.values for row in table.rows] == [
        ("1", "甲", "压减审批时限，\n提速增效", "區發改局", "6月底"),
        ("2", "甲", "任务二", "区商务局", ""),
    ]


# --- refusals ---------------------------------------------------------------------------------------------------


def test_over_the_size_limit():
    error = refusal(io.BytesIO(b"x" * 3 * 1024 * 1024), max_bytes=2 * 1024 * 1024)
    assert "3 MB" in error.message
    assert "2 MB" in error.message


def test_size_limit_comes_from_settings(settings):
    settings.EXCHANGE_IMPORT_MAX_BYTES = 1024 * 1024
    upload = SimpleUploadedFile("台账.csv", b"x" * (1024 * 1024 + 200_000))
    assert "1.2 MB" in refusal(upload).message


def test_empty_file():
    assert "空" in refusal(io.BytesIO(b"")).message


def test_encrypted_workbook():
    upload = io.BytesIO(
        compound_file({"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": b"\x00" * 100})
    )
    message = refusal(upload).message
    assert "密码" in message
    assert "保存" in message


def test_encrypted_xls():
    upload = io.BytesIO(compound_file({"Workbook": biff8("台账", {(0, 0): "序号"}, password=True)}))
    assert "密码" in refusal(upload, "台账.xls").message


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + b"\x00" * 200,
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "Workbook".encode("utf-16-le") + b"\x00" * 600,
    ],
)
def test_corrupt_workbook(data):
    assert "损坏" in refusal(io.BytesIO(data)).message


def test_truncated_workbook():
    with open(SAMPLE, "rb") as source:
        data = source.read()
    assert "损坏" in refusal(io.BytesIO(data[: len(data) // 2])).message


def _docx() -> io.BytesIO:
    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("关于印发重点工作任务的通知")
    document.save(buffer)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize(
    ("upload", "looks_like"),
    [
        (io.BytesIO(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"), "PDF"),
        (io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "PNG"),
        (_docx(), "Word"),
        (io.BytesIO(compound_file({"WordDocument": b"\x00" * 10})), "Word 97-2003"),
        (io.BytesIO("<html><body><table><tr><td>序号</td></tr></table></body></html>".encode()), "网页"),
    ],
)
def test_not_a_workbook(upload, looks_like):
    message = refusal(upload, "台账.xlsx").message
    assert "台账.xlsx" in message
    assert looks_like in message


def test_a_zip_that_is_no_office_file():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("台账.xlsx", b"x")
    assert "zip 压缩包" in refusal(buffer).message


def test_a_workbook_that_expands_too_far(monkeypatch):
    monkeypatch.setattr(workbook, "MAX_EXPANDED_BYTES", 1000)
    with open(SAMPLE, "rb") as upload:
        assert "解压后过大" in refusal(upload).message


def test_binary_that_is_no_known_kind():
    assert "不是 Excel 工作簿" in refusal(io.BytesIO(b"\x00\x01\x02\x03" * 100)).message


def test_csv_in_neither_utf8_nor_gb18030():
    data = "序号,具体任务,牵头单位\n1,任务,区发改局\n".encode()[:-3] + b"\x80\xff\x80\n"
    message = refusal(io.BytesIO(data), "台账.csv").message
    assert "UTF-8" in message
    assert "GB18030" in message


def test_empty_sheets():
    assert "没有数据" in refusal(xlsx(("Sheet1", []), ("Sheet2", [[None, None]]))).message


def test_no_header():
    upload = xlsx(("统计", [["2026年统计表"], ["名单", "电话"], ["李红", "123"]]))
    error = refusal(upload)
    assert "「统计」" in error.message
    assert "重点工作" in error.message
    assert "牵头单位" in error.message
    assert "完成时限" in error.message


def test_header_below_row_30_is_not_looked_for():
    upload = ledger([1, "甲", "任务", "区发改局", "6月底"], above=[["说明"]] * 30)
    assert "没有找到表头" in refusal(upload).message


def test_header_without_data():
    error = refusal(ledger(above=[["2026年重点工作台账"]]))
    assert error.row == 2
    assert "第 2 行是表头" in error.message


def test_header_followed_only_by_a_footer():
    assert refusal(ledger(["合计", None, "0项"])).row == 1
