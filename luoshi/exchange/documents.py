"""The text of an uploaded document, as paragraphs for ``luoshi.exchange.outline``.

The kind of file is told by its content, never its name: a Word document (.docx) is a zip
holding ``word/document.xml``; anything else that decodes as UTF-8, UTF-16 (with its BOM) or
GB18030 is plain text. A Word document gives its paragraphs and tables in body order; each
table row is one paragraph whose cells are joined by tabs (as a table pasted from Word
arrives), and a paragraph numbered by Word's automatic numbering gets its number written out,
since the outline is built from the numbering. Old binary Office files, encrypted documents,
corrupt files and anything else are refused with a Chinese ``DocumentError``.
"""

import io
import zipfile

import docx
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table
from lxml import etree

from luoshi.core.uploads import MAX_EXPANDED_BYTES, MAX_ZIP_MEMBERS

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted .docx is an OLE container with this stream (its name is stored in UTF-16).
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_BINARY_SIGNATURES = (b"%PDF", b"{\\rtf", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"Rar!", b"7z\xbc\xaf")
# Control characters never found in a text file (tab, line feed, form feed and carriage return are).
_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13})


class DocumentError(Exception):
    """The upload cannot be read as a document; ``message`` says why in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def max_bytes() -> int:
    return getattr(settings, "EXCHANGE_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def document_text(upload, *, name: str) -> list[str]:
    """The paragraphs of an uploaded .docx or .txt file (any binary file-like object)."""
    content = _read(upload, name)
    if not content.strip():
        raise DocumentError(_("文件「%(name)s」是空的。") % {"name": name})
    if content.startswith(b"PK\x03\x04"):
        return _docx_paragraphs(content, name)
    if content.startswith(_OLE_SIGNATURE):
        if _ENCRYPTED_STREAM in content:
            raise DocumentError(_("文件「%(name)s」设置了密码，请取消密码后再上传。") % {"name": name})
        raise DocumentError(
            _("文件「%(name)s」是旧版 Word 格式（.doc），请在 Word 中另存为 .docx 后再上传。")
            % {"name": name}
        )
    return _text_paragraphs(content, name)


def _read(upload, name: str) -> bytes:
    limit = max_bytes()
    upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise DocumentError(
            _("文件「%(name)s」超过 %(limit)s 的上限。") % {"name": name, "limit": filesizeformat(limit)}
        )
    return content


def _unsupported(name: str) -> DocumentError:
    return DocumentError(
        _("文件「%(name)s」不是可以识别的文档。请上传 Word 文档（.docx）或文本文件（.txt），或直接粘贴正文。")
        % {"name": name}
    )


def _text_paragraphs(content: bytes, name: str) -> list[str]:
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            try:
                return content.decode(encoding).splitlines()
            except UnicodeDecodeError as error:
                raise _unsupported(name) from error
    if content.startswith(_BINARY_SIGNATURES) or any(byte in _CONTROL for byte in content[:4096]):
        raise _unsupported(name)
    for encoding in ("utf-8", "gb18030"):
        try:
            return content.decode(encoding).splitlines()
        except UnicodeDecodeError:
            continue
    raise _unsupported(name)


def _docx_paragraphs(content: bytes, name: str) -> list[str]:
    corrupt = DocumentError(_("文件「%(name)s」已损坏，无法读取。") % {"name": name})
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_EXPANDED_BYTES:
                raise DocumentError(_("文件「%(name)s」解压后过大，已拒绝。") % {"name": name})
    except zipfile.BadZipFile as error:
        raise corrupt from error
    if "word/document.xml" not in names:
        if "xl/workbook.xml" in names:
            raise DocumentError(
                _("文件「%(name)s」是 Excel 工作簿，请通过“导入台账”上传；这里需要 Word 文档或文本。")
                % {"name": name}
            )
        raise _unsupported(name)
    try:
        document = docx.Document(io.BytesIO(content))
        return list(_body_paragraphs(document))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError) as error:
        raise corrupt from error


def _body_paragraphs(document):
    numbering = _Numbering(document)
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            yield from _table_rows(block)
        elif text := _paragraph_text(block, numbering):
            yield text


def _table_rows(table: Table):
    """One tab-separated paragraph per row; a merged cell repeats in each row and column it spans."""
    for row in table.rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells]
        if any(cells):
            yield "\t".join(cells)


def _paragraph_text(paragraph, numbering: "_Numbering") -> str:
    text = _with_bold_heading(paragraph).strip()
    return numbering.label(paragraph) + text if text else ""


_HEADING_ENDS = "。；;：:！？!?，,、"


def _with_bold_heading(paragraph) -> str:
    """The paragraph's text; a bold run that opens it and is followed by plain text is its heading,
    so a 。 is put after it when the writer left none (the outline splits headings at 。)."""
    runs = [run for run in paragraph.runs if run.text]
    bold = 0
    while bold < len(runs) and runs[bold].bold:
        bold += 1
    heading = "".join(run.text for run in runs[:bold]).rstrip()
    rest = "".join(run.text for run in runs[bold:]).lstrip()
    if (
        0 < bold < len(runs)
        and heading
        and rest
        and _is_chinese_word_end(heading[-1])
        and rest[0] not in _HEADING_ENDS
    ):
        return f"{heading}。{rest}"
    return paragraph.text


def _is_chinese_word_end(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or char in "”》"


class _Numbering:
    """Writes out the numbers of Word's automatic numbering (一、 （一） 1. ① …) in body order."""

    def __init__(self, document):
        try:
            self._root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            self._root = None
        self._counters: dict[str, dict[int, int]] = {}

    def label(self, paragraph) -> str:
        num_id, level = self._num_pr(paragraph)
        if self._root is None or num_id is None:
            return ""
        definition = self._level(num_id, level)
        if definition is None:
            return ""
        counters = self._counters.setdefault(num_id, {})
        start = int(_value(definition, "w:start") or 1)
        counters[level] = counters.get(level, start - 1) + 1
        for deeper in [key for key in counters if key > level]:
            del counters[deeper]
        text = _value(definition, "w:lvlText") or ""
        for index in range(level + 1):
            lvl = self._level(num_id, index)
            number = counters.get(index, int(_value(lvl, "w:start") or 1) if lvl is not None else 1)
            fmt = _value(lvl, "w:numFmt") if lvl is not None else "decimal"
            text = text.replace(f"%{index + 1}", _format(number, fmt))
        return "" if _value(definition, "w:numFmt") in ("bullet", "none") else text

    @staticmethod
    def _num_pr(paragraph) -> tuple[str | None, int]:
        for source in (
            paragraph._p.pPr,
            paragraph.style.element.pPr if paragraph.style is not None else None,
        ):
            num_pr = source.numPr if source is not None else None
            if num_pr is not None and num_pr.numId is not None:
                level = num_pr.ilvl.val if num_pr.ilvl is not None else 0
                return str(num_pr.numId.val), int(level)
        return None, 0

    def _level(self, num_id: str, level: int):
        nums = self._root.xpath(f'w:num[@w:numId="{num_id}"]')
        if not nums:
            return None
        abstract = nums[0].find(qn("w:abstractNumId"))
        if abstract is None:
            return None
        abstract_id = abstract.get(qn("w:val"))
        found = self._root.xpath(f'w:abstractNum[@w:abstractNumId="{abstract_id}"]/w:lvl[@w:ilvl="{level}"]')
        return found[0] if found else None


def _value(element, tag: str) -> str | None:
    child = element.find(qn(tag)) if element is not None else None
    return child.get(qn("w:val")) if child is not None else None


_CHINESE_DIGITS = "〇一二三四五六七八九"


def _chinese(number: int) -> str:
    if number < 10:
        return _CHINESE_DIGITS[number]
    tens, units = divmod(number, 10)
    return ("" if tens == 1 else _CHINESE_DIGITS[tens]) + "十" + (_CHINESE_DIGITS[units] if units else "")


def _format(number: int, fmt: str | None) -> str:
    if fmt and fmt.startswith(("chinese", "ideographDigital", "japaneseCounting", "taiwaneseCounting")):
        return _chinese(number)
    if fmt and fmt.startswith("decimalEnclosedCircle") and 1 <= number <= 20:
        return chr(ord("①") + number - 1)
    if fmt in ("lowerLetter", "upperLetter"):
        letter = chr(ord("a") + (number - 1) % 26)
        return letter.upper() if fmt == "upperLetter" else letter
    return str(number)
