"""Reading an uploaded ledger workbook into one clean table for the import.

``read_table`` takes the bytes of an .xlsx, .xls, .ods or .csv file (the kind is told by the content,
never by the name) and guarantees, or raises ``WorkbookError`` with a Chinese message that says what
is wrong and what to do (naming the row and column where there is one):

- the table is on the first visible worksheet with a recognisable header; a 说明 or empty sheet in
  front of it is passed over. The header is the row among the first 30 with the most recognised
  column names (a title column and at least one other), below any title, 附件 and 填报单位 lines;
  a two-row header (a group cell such as 责任主体 above 牵头单位/责任单位) is read as one row;
- every column has its header as written (normalised, no inner whitespace) and the field it maps
  to (``map_columns``), or ``None``; columns with neither header nor data are left out;
- every row keeps its sheet row number and one value per column: text stripped; numbers, dates
  and date-times as the cell holds them (whole floats become ``int``); ``""`` when empty;
- a vertically merged cell gives its value to every row it spans, and the column's index is in
  ``SourceRow.merged`` on each of those rows; a horizontal merge leaves the value in its first column;
- blank rows and repeated header rows are dropped, and so is everything from a footer (合计, 备注：,
  填表说明 …) down;
- a formula cell gives the result Excel last saved; nothing is ever evaluated, and text that
  merely starts with ``=`` is text. An .xlsx formula cell inside the table without a saved result
  (written by a program, never opened in Excel) or holding an error value (#REF! …) is refused,
  because calamine would read it as an empty cell. Programs that store a made-up result (xlsxwriter
  stores 0) cannot be told apart from Excel; .xls and .ods always store the result;
- a CSV is read as UTF-8 (with or without BOM), else GB18030, or UTF-16 with its BOM (Excel's
  "Unicode text"); its delimiter (comma, tab or semicolon) is sniffed; its values are all text.

Limits: calamine reports no merged cells for .ods, so an .ods merge fills only its first row; an
.xlsx must expand to at most ``luoshi.core.uploads.MAX_EXPANDED_BYTES``.

Large files stay cheap: python-calamine reads the workbook, rows are converted once, and no
openpyxl object model is built.
"""

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import PurePath

from defusedxml import ElementTree
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

from luoshi.core.uploads import MAX_EXPANDED_BYTES, MAX_ZIP_MEMBERS, clean_file_name
from luoshi.exchange.text import normalise

# How far down the header may be: title, 附件 and 填报单位 lines rarely take more than a few rows.
HEADER_SCAN_ROWS = 30

FIELDS = {
    "key": gettext_lazy("序号"),
    "parent": gettext_lazy("上级事项（类别）"),
    "title": gettext_lazy("事项名称"),
    "description": gettext_lazy("具体内容"),
    "lead_leader": gettext_lazy("牵头领导"),
    "lead_org": gettext_lazy("牵头单位"),
    "responsible_orgs": gettext_lazy("责任单位"),
    "co_orgs": gettext_lazy("配合单位"),
    "deadline": gettext_lazy("完成时限"),
    "cycle": gettext_lazy("报送周期"),
    "progress": gettext_lazy("进展情况"),
    "notes": gettext_lazy("备注"),
    "system_id": gettext_lazy("系统编号"),
}

# Header names as offices write them, after ``_header_key``. "title" covers every column that can
# name an item; whether it is the item's title or its parent's depends on the columns beside it.
# "parent" names only ever group items.
_ALIASES = {
    "key": "序号 编号 序 编码 任务编号 问题编号",
    "parent": "上级事项 所属事项 上级任务 问题类别 类别 问题类型 类型 分类 工作类别 任务类别 工作领域 领域 重点领域 板块 工作板块 "
    "所属板块 所属类别 专项 方面 一级任务",
    "title": "重点工作 重点任务 工作任务 主要任务 目标任务 任务 具体任务 具体措施 具体问题 问题 存在问题 "
    "反馈问题 问题清单 问题表现 问题描述 事项 事项名称 具体事项 工作事项 任务事项 任务名称 任务内容 "
    "工作内容 工作名称 项目 项目名称 名称 二级任务",
    "description": "整改措施 工作措施 主要措施 推进措施 落实措施 措施 工作举措 举措 具体内容 主要内容 内容 "
    "实施内容 建设内容 目标要求 工作目标 工作要求 具体要求 任务要求 整改目标 整改要求 任务描述",
    "lead_leader": "牵头领导 责任领导 分管领导 包抓领导 包联领导 联系领导 领衔领导 负责领导 牵头区领导 "
    "责任区领导 牵头县领导 责任县领导 牵头市领导 责任市领导 区级领导 县级领导 市级领导",
    "lead_org": "牵头单位 主责单位 责任主体 牵头部门 主责部门 牵头责任单位 主办单位",
    "responsible_orgs": "责任单位 责任部门 落实单位 实施单位",
    "co_orgs": "配合单位 协办单位 参与单位 协助单位 协同单位 协作单位 参加单位 配合部门 协办部门",
    "deadline": "完成时限 完成时间 完成期限 完成日期 时限要求 时限 整改时限 整改期限 办结时限 办理时限 "
    "截止时间 截止日期 计划完成时间 时间节点",
    "cycle": "调度频次 报送频次 更新频率 更新频次 报送频率 调度频率 报送周期 调度周期 汇报频次 督办频次",
    "progress": "整改进度 整改进展 整改情况 整改落实情况 进度 进展 进展情况 当前进展 工作进展 推进情况 "
    "工作推进情况 推进进度 完成情况 落实情况 办理情况",
    "notes": "备注 备注说明",
    "system_id": "系统编号",
}
_FIELD_OF = {alias: field for field, aliases in _ALIASES.items() for alias in aliases.split()}
# Longer names built on a known one: 整改完成时限, 区级牵头单位, 目前进展情况 …
_SUFFIXES = (
    (("时限", "期限", "完成时间"), "deadline"),
    (("牵头单位", "牵头部门"), "lead_org"),
    (("配合单位", "配合部门", "协办单位"), "co_orgs"),
    (("责任单位", "责任部门"), "responsible_orgs"),
    (("牵头领导", "责任领导", "分管领导", "包抓领导", "联系领导"), "lead_leader"),
    (("进展情况", "进度", "完成情况", "推进情况", "落实情况"), "progress"),
    (("频次", "频率"), "cycle"),
    (("措施",), "description"),
)
_TRAILING_NOTE = re.compile(r"[（(【\[][^（()）【】\[\]]*[）)】\]]$")
_MARKS = "*＊★☆:："
_WHITESPACE = re.compile(r"\s+")

# Lines above the header that describe the sheet rather than title it.
_META_LINE = re.compile(
    r"^(?:附件\s*[\d一二三四五六七八九十]*\s*[:：]?$|(?:填报|报送|制表|统计)?(?:单位|日期|时间|人)\s*[:：]"
    r"|(?:填报|报送|更新|统计|截止|截至)(?:单位|日期|时间)|联系人|联系电话)"
)
# The first cell of a row below the data: totals, notes, instructions, signatures.
_FOOTER = re.compile(
    r"^(?:合计|总计|小计|(?:备注|说明|填表说明|填报说明|注|附注|填表人|填报人|制表人|审核人|负责人|联系人|联系电话"
    r"|单位负责人)(?:[:：]|$)|注\d)"
)


class WorkbookError(Exception):
    """A workbook that cannot be read; ``message`` says why and what to do, in Chinese."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column


@dataclass(frozen=True)
class Column:
    index: int
    letter: str
    header: str
    field: str | None


@dataclass(frozen=True, slots=True)
class SourceRow:
    number: int
    values: tuple
    merged: frozenset[int] = frozenset()


@dataclass
class Table:
    sheet_name: str
    title: str
    header_row: int
    columns: list[Column]
    rows: list[SourceRow]

    def field_column(self, field: str) -> Column | None:
        return next((column for column in self.columns if column.field == field), None)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def header_text(value) -> str:
    """A header cell as shown: normalised, with no whitespace or line breaks inside."""
    return _WHITESPACE.sub("", normalise(_text(value)))


def _header_key(header: str) -> str:
    """A header as matched: also without a trailing note in brackets or required-field marks."""
    key = header_text(header).strip(_MARKS)
    while (stripped := _TRAILING_NOTE.sub("", key)) != key and stripped:
        key = stripped.strip(_MARKS)
    return key


def _known_field(key: str) -> str | None:
    if field := _FIELD_OF.get(key):
        return field
    for endings, field in _SUFFIXES:
        if key.endswith(endings):
            return field
    return None


def map_columns(headers: Sequence[str], custom_labels: Mapping[str, str] = {}) -> list[str | None]:
    """The field each header maps to, or ``None``; each field at most once, the first column winning.

    A ledger's custom field labels (label → key) map to ``extra:<key>`` and come before the
    built-in names. Of the columns that can name an item, the right-most is the item's title and
    the nearest one left of it (or else a 问题类别-like column anywhere) its parent.
    """
    custom = {_header_key(label): f"extra:{key}" for label, key in custom_labels.items()}
    keys = [_header_key(header) for header in headers]
    found = [custom.get(key) or _known_field(key) if key else None for key in keys]
    fields: list[str | None] = [None if field in ("title", "parent") else field for field in found]
    named = [index for index, field in enumerate(found) if field == "title"]
    groups = [index for index, field in enumerate(found) if field == "parent"]
    if named:
        title = named[-1]
        fields[title] = "title"
        left = [index for index in named[:-1] + groups if index < title]
        parent = max(left) if left else (groups[0] if groups else None)
    else:
        parent = groups[0] if groups else None
    if parent is not None:
        fields[parent] = "parent"
    seen = set()
    for index, field in enumerate(fields):
        if field in seen:
            fields[index] = None
        seen.add(field)
    return fields


def _recognised(fields: Sequence[str | None]) -> int:
    """How many fields a header row names; 0 unless it names a title and something else."""
    count = sum(field is not None for field in fields)
    return count if "title" in fields and count >= 2 else 0


def read_table(
    upload, *, name: str, custom_labels: Mapping[str, str] = {}, max_bytes: int | None = None
) -> Table:
    """The ledger table in ``upload`` (a binary file-like), read as the module docstring says."""
    name = clean_file_name(name)  # it is quoted back in messages
    data = _read_bytes(upload, settings.EXCHANGE_IMPORT_MAX_BYTES if max_bytes is None else max_bytes)
    kind = _kind(data, name)
    if kind == "csv":
        return _table_from_sheets([(PurePath(name).stem, _csv_rows(data), [])], custom_labels)
    return _read_workbook(data, kind, name, custom_labels)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _read_bytes(upload, max_bytes: int) -> bytes:
    size = getattr(upload, "size", None)
    if size is None:
        size = upload.seek(0, io.SEEK_END)
    upload.seek(0)
    data = upload.read(max_bytes + 1) if size <= max_bytes else b""
    if size > max_bytes or len(data) > max_bytes:
        raise WorkbookError(
            _(
                "文件大小为 %(size)s MB，超过了导入上限 %(limit)s MB。请把台账拆成几个文件，或删去不需要的工作表和图片后再导入。"
            )
            % {"size": _megabytes(max(size, len(data))), "limit": _megabytes(max_bytes)}
        )
    if not data:
        raise WorkbookError(_("上传的文件是空的（0 字节）。请确认选对了文件，在 Excel 中保存后重新上传。"))
    return data


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# What a file that is not a workbook looks like, by its first bytes.
_NOT_WORKBOOKS = (
    (b"%PDF", gettext_lazy("PDF 文件")),
    (b"\x89PNG", gettext_lazy("PNG 图片")),
    (b"\xff\xd8\xff", gettext_lazy("JPEG 图片")),
    (b"GIF8", gettext_lazy("GIF 图片")),
    (b"Rar!", gettext_lazy("RAR 压缩包")),
    (b"7z\xbc\xaf", gettext_lazy("7z 压缩包")),
    (b"\x1f\x8b", gettext_lazy("gzip 压缩包")),
    (b"{\\rtf", gettext_lazy("RTF 文档")),
)
_ZIP_CONTENTS = (
    ("word/document.xml", gettext_lazy("Word 文档（.docx）")),
    ("ppt/presentation.xml", gettext_lazy("PowerPoint 演示文稿（.pptx）")),
)
_OLE2_CONTENTS = (
    ("WordDocument", gettext_lazy("Word 97-2003 文档（.doc）")),
    ("PowerPoint Document", gettext_lazy("PowerPoint 97-2003 演示文稿（.ppt）")),
)


def _not_a_workbook(name: str, looks_like=None) -> WorkbookError:
    if looks_like:
        message = _("文件「%(name)s」看起来是%(kind)s，不是 Excel 工作簿。") % {
            "name": name,
            "kind": looks_like,
        }
    else:
        message = _("文件「%(name)s」不是 Excel 工作簿，也不是 CSV 文本。") % {"name": name}
    return WorkbookError(message + _("请上传 .xlsx、.xls、.ods 或 .csv 格式的台账。"))


def _corrupt(name: str) -> WorkbookError:
    return WorkbookError(
        _(
            "文件「%(name)s」已损坏或不完整，无法读取。请用 Excel 或 WPS 打开它，确认内容无误后另存为 .xlsx 再上传。"
        )
        % {"name": name}
    )


def _encrypted(name: str) -> WorkbookError:
    return WorkbookError(
        _(
            "文件「%(name)s」设有打开密码，无法读取。请在 Excel 中打开它，取消密码（文件 → 信息 → 保护工作簿 → 用密码进行加密，清空密码）后保存，再重新上传。"
        )
        % {"name": name}
    )


def _kind(data: bytes, name: str) -> str:
    """ "xlsx", "ods", "xls" or "csv", judged by the content; other files are refused."""
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data, name)
    if data.startswith(_OLE2):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise _encrypted(name)
        if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
            if _xls_encrypted(data):
                raise _encrypted(name)
            return "xls"
        for stream, kind in _OLE2_CONTENTS:
            if stream.encode("utf-16-le") in data:
                raise _not_a_workbook(name, kind)
        raise _not_a_workbook(name)
    for magic, kind in _NOT_WORKBOOKS:
        if data.startswith(magic):
            raise _not_a_workbook(name, kind)
    head = data[:2048].lstrip(codecs.BOM_UTF8).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta")):
        raise WorkbookError(
            _(
                "文件「%(name)s」其实是网页或 XML 格式，只是扩展名像 Excel（一些业务系统这样导出）。请用 Excel 打开它，另存为 .xlsx 后再上传。"
            )
            % {"name": name}
        )
    return "csv"


# The BOF record opening the globals of a BIFF8 (Excel 97+) or BIFF5 workbook stream, and how long it
# is. A password-protected workbook has its FILEPASS record (0x002F) right after it; calamine only
# reports such a file as of unknown format.
_GLOBALS_BOF = ((b"\x09\x08\x10\x00\x00\x06\x05\x00", 20), (b"\x09\x08\x08\x00\x00\x05\x05\x00", 12))


def _xls_encrypted(data: bytes) -> bool:
    for bof, length in _GLOBALS_BOF:
        start = data.find(bof)
        if start >= 0:
            return data[start + length : start + length + 2] == b"\x2f\x00"
    return False


def _zip_kind(data: bytes, name: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if (
                len(members) > MAX_ZIP_MEMBERS
                or sum(member.file_size for member in members) > MAX_EXPANDED_BYTES
            ):
                raise WorkbookError(_("文件「%(name)s」解压后过大，已拒绝。") % {"name": name})
            names = {member.filename for member in members}
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as error:
        raise _corrupt(name) from error
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return "ods"
    for member, kind in _ZIP_CONTENTS:
        if member in names:
            raise _not_a_workbook(name, kind)
    if mimetype.startswith(b"application/vnd.oasis.opendocument.text"):
        raise _not_a_workbook(name, _("ODF 文本文档（.odt）"))
    raise _not_a_workbook(name, _("zip 压缩包"))


def _read_workbook(data: bytes, kind: str, name: str, custom_labels: Mapping[str, str]) -> Table:
    try:
        table = _table_from_sheets(_worksheets(data), custom_labels)
    except PasswordError as error:
        raise _encrypted(name) from error
    except WorkbookError:
        raise
    except BaseException as error:
        # calamine's Rust code panics on some malformed files, and pyo3 raises the panic as a
        # PanicException, which derives from BaseException rather than Exception.
        if (
            isinstance(error, CalamineError | ValueError | OSError)
            or type(error).__name__ == "PanicException"
        ):
            raise _corrupt(name) from error
        raise
    if kind == "xlsx":
        _check_formula_results(data, table)
    return table


def _worksheets(data: bytes) -> Iterator[tuple[str, Iterator[list], list]]:
    """Each visible worksheet's name, rows and merged ranges, loaded one at a time as asked for.

    Calamine's copy of the cells is let go as soon as the caller has taken the table it wants.
    """
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    for meta in workbook.sheets_metadata:
        if meta.typ == SheetTypeEnum.WorkSheet and meta.visible == SheetVisibleEnum.Visible:
            sheet = workbook.get_sheet_by_name(meta.name)
            yield meta.name, _sheet_rows(sheet), sheet.merged_cell_ranges or []


def _sheet_rows(sheet) -> Iterator[list]:
    """The sheet's rows from row 1 and column A, converted lazily (``to_python`` would hold them all).

    python-calamine's ``iter_rows`` starts at row 1 but at the used range's first column.
    """
    if sheet.start is None:
        return iter(())
    padding = [""] * sheet.start[1]
    return (padding + row for row in sheet.iter_rows()) if padding else sheet.iter_rows()


def _csv_rows(data: bytes) -> Iterator[list]:
    # A line break typed inside a cell is "\n", as in a workbook, whatever ends the file's lines.
    text = _decode(data).replace("\r\n", "\n")
    sample = list(islice(io.StringIO(text), 50))
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(sample))
    return iter(reader)


def _decode(data: bytes) -> str:
    """UTF-8 (a BOM is optional), else GB18030; UTF-16 only with its BOM (Excel's 'Unicode text')."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    elif b"\x00" in data[:4096]:
        raise WorkbookError(
            _("文件不是 Excel 工作簿，也不是 CSV 文本。请上传 .xlsx、.xls、.ods 或 .csv 格式的台账。")
        )
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise WorkbookError(
        _(
            "CSV 文件的编码无法识别：它既不是 UTF-8，也不是 GB18030（GBK）。请用 Excel 打开它，另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传。"
        )
    )


def _delimiter(lines: Sequence[str]) -> str:
    """Comma, tab or semicolon: the one that splits most sample lines into the same number of fields."""

    def score(delimiter):
        widths = Counter(len(row) for row in csv.reader(lines, delimiter=delimiter) if len(row) > 1)
        if not widths:
            return (0, 0)
        width, count = widths.most_common(1)[0]
        return (count, width)

    return max(",\t;", key=score)


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return "" if value is None else str(value)


def _value(value):
    """A cell as the import wants it: text stripped, whole floats as int, dates and numbers kept."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if value is None:
        return ""
    if isinstance(value, bool | int | dt.date | dt.time | dt.timedelta):
        return value
    return str(value)


@dataclass
class _Header:
    row: int  # 0-based index of the (lower) header row
    top: int  # 0-based index of its first row: row - 1 for a two-row header
    names: list[str]
    fields: list[str | None]


def _find_header(head: Sequence[Sequence], custom_labels: Mapping[str, str]) -> _Header | None:
    """The row naming the most fields; with the row above filling its empty cells if that names more."""
    best, best_score = None, 0
    upper: list[str] = []
    for index, row in enumerate(head):
        lower = [header_text(value) for value in row]
        candidates = [_Header(index, index, lower, [])]
        if any(upper) and any(lower):
            width = max(len(lower), len(upper))
            padded = [(lower + [""] * width)[:width], (upper + [""] * width)[:width]]
            candidates.append(
                _Header(index, index - 1, [low or up for low, up in zip(*padded, strict=True)], [])
            )
        for header in candidates:
            header.fields = map_columns(header.names, custom_labels)
            if (score := _recognised(header.fields)) > best_score:
                best, best_score = header, score
        upper = lower
    return best


def _title(head: Sequence[Sequence], top: int) -> str:
    for row in head[:top]:
        for value in row:
            text = _text(value).strip()
            if text and not _META_LINE.match(_WHITESPACE.sub("", normalise(text))):
                return _WHITESPACE.sub(" ", text)
    return ""


# First characters of the footer words, simplified and traditional: only such rows are normalised.
_FOOTER_STARTS = frozenset("合总總小备備说說填注註附制製审審负負联聯单單")


def _is_footer(values: Sequence) -> bool:
    first = next((value for value in values if value != ""), "")
    return isinstance(first, str) and first[:1] in _FOOTER_STARTS and bool(_FOOTER.match(header_text(first)))


def _table_from_sheets(
    sheets: Iterable[tuple[str, Iterator[list], list]], custom_labels: Mapping[str, str]
) -> Table:
    looked_at = []
    for sheet_name, rows, merges in sheets:
        head = list(islice(rows, HEADER_SCAN_ROWS))
        if not any(value != "" for row in head for value in row):
            continue
        looked_at.append(sheet_name)
        header = _find_header(head, custom_labels)
        if header is not None:
            return _build_table(sheet_name, head, chain(head[header.row + 1 :], rows), header, merges)
    if not looked_at:
        raise WorkbookError(_("工作簿里没有数据：所有工作表都是空的。请确认上传的是填好的台账。"))
    raise WorkbookError(
        _(
            "在工作表「%(sheets)s」的前 %(rows)s 行中没有找到表头。表头应包含事项名称列（如 重点工作、具体任务、具体问题）和至少一个其他列（如 牵头单位、责任单位、完成时限）。请把表头改成常用的写法（可下载导入模板对照）后重新上传；其余列可在预览页面手动对应。"
        )
        % {"sheets": "」「".join(looked_at), "rows": HEADER_SCAN_ROWS}
    )


def _vertical_merges(merges: Iterable, header_row: int) -> dict[int, list[tuple[int, int]]]:
    """Merges below the header spanning several rows: first row → [(last row, first column)]."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for (first_row, first_column), (last_row, _last_column) in merges:
        if last_row > first_row and first_row > header_row:
            spans.setdefault(first_row, []).append((last_row, first_column))
    return spans


def _build_table(sheet_name: str, head, rows: Iterator[list], header: _Header, merges) -> Table:
    starts = _vertical_merges(merges, header.row)
    running: list[tuple[int, int, object]] = []  # (last row, column, value) of merges going down
    kept: list[SourceRow] = []
    strings: dict[str, str] = {}  # one object for text repeated down a column (units, leaders, states)
    header_row = [_text(value).strip() for value in head[header.row]]
    header_keys = [_header_key(name) for name in header.names]
    first_named = next((index for index, name in enumerate(header_row) if name), 0)
    width = len(header.names)
    for index, row in enumerate(rows, start=header.row + 1):
        values = [
            strings.setdefault(text := value.strip(), text) if value.__class__ is str else _value(value)
            for value in row
        ]
        if index in starts:
            running += [
                (last, column, values[column] if column < len(values) else "")
                for last, column in starts[index]
            ]
        if running:
            running = [span for span in running if span[0] >= index]
        if values.count("") == len(values):
            continue  # a blank row, even where a merged cell runs through it
        if _is_footer(values):
            break
        if (
            first_named < len(values)
            and values[first_named] == header_row[first_named]
            and [_header_key(_text(value)) for value in values] == header_keys
        ):
            continue  # the header repeated further down, as when sheets are pasted together
        merged = frozenset()
        if running:
            values += [""] * (max(column + 1 for _, column, _ in running) - len(values))
            for _last, column, value in running:
                values[column] = value
            merged = frozenset(column for _, column, _ in running)
        width = max(width, len(values))
        kept.append(SourceRow(index + 1, tuple(values), merged))
    if not kept:
        raise WorkbookError(
            _("第 %(row)s 行是表头，但它下面没有数据行。请在表头下方填写台账内容后再上传。")
            % {"row": header.row + 1},
            row=header.row + 1,
        )
    names = header.names + [""] * (width - len(header.names))
    fields = header.fields + [None] * (width - len(header.fields))
    indexes = [
        index
        for index in range(width)
        if names[index] or any(index < len(row.values) and row.values[index] != "" for row in kept)
    ]
    if indexes != list(range(width)) or any(len(row.values) != width for row in kept):
        for position, row in enumerate(kept):
            values = row.values + ("",) * (width - len(row.values))
            kept[position] = SourceRow(row.number, tuple(values[index] for index in indexes), row.merged)
    return Table(
        sheet_name=sheet_name,
        title=_title(head, header.top),
        header_row=header.row + 1,
        columns=[Column(index, column_letter(index), names[index], fields[index]) for index in indexes],
        rows=kept,
    )


_NAMESPACES = {
    "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "pkg": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_ROOT_PREFIX = re.compile(rb"<(\w+:)?worksheet\b")
_REFERENCE = re.compile(rb"\br=\"([A-Z]+)(\d+)\"")
# Excel stores a formula whose result is the empty string as t="str" with an empty value.
_STRING_RESULT = re.compile(rb"\bt=\"str\"")


def _cell_patterns(prefix: bytes) -> tuple[re.Pattern, re.Pattern]:
    """Formula elements with no saved value after them, and error values, for the sheet's XML prefix.

    Both start at a literal, so that a 50 MB sheet is scanned in a fraction of a second; the cell's
    opening tag is found afterwards, right before the formula (its first child, as the schema orders).
    """
    tag = re.escape(prefix)
    without_result = re.compile(
        rb"<" + tag + rb"f\b[^>]*(?:/>|>[^<]*</" + tag + rb"f>)"
        rb"\s*(?:<" + tag + rb"v\s*/>|<" + tag + rb"v>\s*</" + tag + rb"v>)?\s*</" + tag + rb"c>"
    )
    error_value = re.compile(rb" t=\"e\"[^>]*>.*?<" + tag + rb"v>([^<]*)</" + tag + rb"v>", re.S)
    return without_result, error_value


def _sheet_xml(data: bytes, sheet_name: str) -> bytes | None:
    """The XML of the worksheet named ``sheet_name`` in an .xlsx, found through the workbook's relations."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
            return None
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {
            rel.get("Id"): rel.get("Target", "") for rel in relations.findall("pkg:Relationship", _NAMESPACES)
        }
        for sheet in workbook.iterfind("main:sheets/main:sheet", _NAMESPACES):
            if sheet.get("name") == sheet_name:
                target = targets.get(sheet.get(f"{{{_NAMESPACES['rel']}}}id"), "")
                path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                return archive.read(path) if path in names else None
    return None


def _where(row: int | None, column: str | None) -> str:
    return (
        _("第 %(row)s 行 %(column)s 列") % {"row": row, "column": column} if row else _("表格中有一个单元格")
    )


def _check_formula_results(data: bytes, table: Table) -> None:
    """Refuse formula cells in the table that calamine would read as empty (see the module docstring)."""
    xml = _sheet_xml(data, table.sheet_name)
    if xml is None:
        return
    root = _ROOT_PREFIX.search(xml[:4096])
    prefix = root[1] or b"" if root else b""
    if b"<" + prefix + b"f" not in xml and b't="e"' not in xml:
        return
    without_result, error_value = _cell_patterns(prefix)
    last_row = table.rows[-1].number
    first_column, last_column = table.columns[0].index, table.columns[-1].index

    def location(position: int) -> tuple[int | None, str | None] | None:
        """The (row, column letter) of the cell around ``position`` if it lies inside the table;
        (None, None) if the cell has no reference, None outside the table."""
        start = xml.rfind(b"<" + prefix + b"c", 0, position)
        reference = _REFERENCE.search(xml, start, xml.find(b">", start))
        if reference is None:
            return (None, None)
        row, letters = int(reference[2]), reference[1].decode()
        if table.header_row < row <= last_row and first_column <= _column_index(letters) <= last_column:
            return (row, letters)
        return None

    for match in error_value.finditer(xml):
        if (where := location(match.start())) is not None:
            raise WorkbookError(
                _(
                    "%(where)s是错误值 %(error)s。请在 Excel 中改正这个单元格（或它的公式）后保存，再重新上传。"
                )
                % {"where": _where(*where), "error": match[1].decode(errors="replace")},
                row=where[0],
                column=where[1],
            )
    for match in without_result.finditer(xml):
        start = xml.rfind(b"<" + prefix + b"c", 0, match.start())
        if _STRING_RESULT.search(xml, start, match.start()):
            continue
        if (where := location(match.start())) is not None:
            raise WorkbookError(
                _(
                    "%(where)s是公式，但文件里没有保存它的计算结果（文件可能由程序生成，从未在 Excel 或 WPS 中打开保存过）。请用 Excel 或 WPS 打开文件，保存后重新上传。"
                )
                % {"where": _where(*where)},
                row=where[0],
                column=where[1],
            )
