"""Build the official documents' templates with python-docx: ``luoshi/exchange/docx/briefing.docx`` (the
progress briefing), ``luoshi/supervision/docx/order.docx`` (the supervision order, 督办单) and
``luoshi/assessment/docx/notice.docx`` (the ranking notice, 排名通报).

    .venv/bin/python scripts/make_briefing_template.py [BRIEFING_OUTPUT [ORDER_OUTPUT [NOTICE_OUTPUT]]]

The files are committed; run this again after changing a layout. An office that wants its own look
edits the .docx in Word or WPS (keeping the ``{{ … }}`` and ``{%p … %}`` tags, see
``luoshi/exchange/briefing.py``, ``luoshi/supervision/documents.py`` and ``luoshi/assessment/documents.py``
for the contexts) and points ``LUOSHI_BRIEFING_TEMPLATE``, ``LUOSHI_ORDER_TEMPLATE`` or
``LUOSHI_NOTICE_TEMPLATE`` at it.

The layout, GB/T 9704-2012 (党政机关公文格式), is built by ``luoshi.core.documents`` (styles, page,
footers); this script adds each document's paragraphs and tags.
"""

import sys
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from luoshi.core.documents import (
    BODY_FONT,
    BODY_SIZE,
    add_to_ppr,
    build_footers,
    build_styles,
    paragraph_style,
    set_page,
)

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "luoshi" / "exchange" / "docx" / "briefing.docx"
ORDER_OUTPUT = ROOT / "luoshi" / "supervision" / "docx" / "order.docx"
NOTICE_OUTPUT = ROOT / "luoshi" / "assessment" / "docx" / "notice.docx"
COPY_SIZE = Pt(14)  # 四号: the 版记 and the table


def build_body(document) -> None:
    """The paragraphs and docxtpl tags; ``{%p … %}`` paragraphs vanish when rendered."""

    def add(text: str, style: str = "公文正文"):
        return document.add_paragraph(text, style=document.styles[style])

    add("{%p if red_header %}")
    add("{{ office }}", "发文机关标志")
    add("")
    add("")
    add("{{ number }}", "发文字号")
    add("")
    add("")
    add("{%p endif %}")
    add("{{ title }}", "公文标题")
    add("")
    add("{{ summary }}")
    add("{%p for section in sections %}")
    add("{{ section.number }}{{ section.name }}（{{ section.count }}项）", "一级标题")
    add("{%p for item in section.entries %}")
    add("{{ item.number }}{{ item.title }}", "二级标题")
    add(
        "牵头单位：{{ item.lead_org }}"
        "{% if item.co_orgs %}；配合单位：{{ item.co_orgs }}{% endif %}"
        "{% if item.lead_leader %}；牵头领导：{{ item.lead_leader }}{% endif %}"
        "；完成时限：{{ item.deadline }}；完成进度：{{ item.percent }}%。"
    )
    add("{%p for line in item.progress %}")
    add("{% if loop.first %}进展情况{{ item.report_note }}：{% endif %}{{ line }}")
    add("{%p endfor %}")
    add("{%p for line in item.problems %}")
    add("{% if loop.first %}存在问题：{% endif %}{{ line }}")
    add("{%p endfor %}")
    add("{%p for line in item.next_steps %}")
    add("{% if loop.first %}下步打算：{% endif %}{{ line }}")
    add("{%p endfor %}")
    add("{%p endfor %}")
    add("{%p endfor %}")
    add("")
    add("{{ signature }}", "落款")
    add("{{ date }}", "落款")


def build_order_styles(document) -> None:
    """The order's own elements beside the shared layout: the number without a red header, the
    addressee flush left, the items table's text and the 抄送 line of the 版记."""
    body = document.styles["公文正文"]
    number = paragraph_style(document, "OrderRef", "编号", font=BODY_FONT, size=BODY_SIZE, base=body)
    number.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    number.paragraph_format.first_line_indent = Pt(0)
    addressee = paragraph_style(
        document, "OrderAddressee", "主送机关", font=BODY_FONT, size=BODY_SIZE, base=body
    )
    addressee.paragraph_format.first_line_indent = Pt(0)
    cell = paragraph_style(document, "OrderCell", "表格文字", font=BODY_FONT, size=COPY_SIZE, base=body)
    cell.paragraph_format.first_line_indent = Pt(0)
    cell.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    cell.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    # 版记 (GB/T 9704 7.4.2): 抄送 in 四号, one character in from the left, between two rules.
    copy = paragraph_style(document, "OrderCopyTo", "抄送", font=BODY_FONT, size=COPY_SIZE, base=body)
    copy.paragraph_format.first_line_indent = Pt(0)
    copy.paragraph_format.left_indent = COPY_SIZE
    copy.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    rules(copy)


def rules(style) -> None:
    """Thin black rules above and below a paragraph, as wide as the type area (the 版记's lines)."""
    borders = OxmlElement("w:pBdr")
    for side in ("top", "bottom"):
        line = OxmlElement(f"w:{side}")
        line.set(qn("w:val"), "single")
        line.set(qn("w:sz"), "4")
        line.set(qn("w:space"), "1")
        line.set(qn("w:color"), "000000")
        borders.append(line)
    add_to_ppr(style.element.get_or_add_pPr(), borders)


ORDER_COLUMNS = (
    ("序号", "{{ item.number }}"),
    ("督办事项", "{{ item.title }}"),
    ("牵头领导", "{{ item.lead_leader }}"),
    ("完成时限", "{{ item.deadline }}"),
    ("办理状态", "{{ item.status }}"),
)


def build_order_body(document) -> None:
    """The order: header, number and level, title, addressee, the items table, the requirements,
    the reply deadline, the signature and the 抄送 line."""

    def add(text: str, style: str = "公文正文"):
        return document.add_paragraph(text, style=document.styles[style])

    add("{%p if red_header %}")
    add("{{ office }}", "发文机关标志")
    add("")
    add("")
    add("{{ number }}", "发文字号")
    add("")
    add("{%p else %}")
    add("{{ number }}", "编号")
    add("{%p endif %}")
    add("{{ title }}", "公文标题")
    add("（{{ kind }}·{{ level }}）", "编号")
    add("")
    add("{{ addressee }}：", "主送机关")
    add("{{ intro }}")
    add("一、督办事项", "一级标题")
    table = document.add_table(rows=4, cols=len(ORDER_COLUMNS))
    table.style = document.styles["Table Grid"]
    rows = table.rows
    for column, (heading, value) in enumerate(ORDER_COLUMNS):
        rows[0].cells[column].paragraphs[0].text = heading
        rows[2].cells[column].paragraphs[0].text = value
    rows[1].cells[0].paragraphs[0].text = "{%tr for item in entries %}"
    rows[3].cells[0].paragraphs[0].text = "{%tr endfor %}"
    for row in rows:
        for cell in row.cells:
            cell.paragraphs[0].style = document.styles["表格文字"]
    add("二、督办要求", "一级标题")
    add("{%p for line in content %}")
    add("{{ line }}")
    add("{%p endfor %}")
    add("三、回复时限", "一级标题")
    add("{{ reply_note }}")
    add("")
    add("{{ signature }}", "落款")
    add("{{ date }}", "落款")
    add("")
    add("{%p if copy_to %}")
    add("抄送：{{ copy_to }}。", "抄送")
    add("{%p endif %}")


NOTICE_COLUMNS = (
    ("排名", "{{ row.rank }}"),
    ("单位", "{{ row.unit }}"),
    ("基础得分", "{{ row.basic }}"),
    ("加分", "{{ row.bonus }}"),
    ("扣分", "{{ row.deduction }}"),
    ("总分", "{{ row.total }}"),
    ("等次", "{{ row.grade }}"),
    ("较上期", "{{ row.movement }}"),
)


def build_notice_body(document) -> None:
    """The ranking notice: header, title, addressee, the introduction, one ranking table per group with
    its red and black lists, the closing paragraph and the signature."""

    def add(text: str, style: str = "公文正文"):
        return document.add_paragraph(text, style=document.styles[style])

    add("{%p if red_header %}")
    add("{{ office }}", "发文机关标志")
    add("")
    add("")
    add("{{ number }}", "发文字号")
    add("")
    add("{%p elif number %}")
    add("{{ number }}", "编号")
    add("{%p endif %}")
    add("{{ title }}{{ draft }}", "公文标题")
    add("")
    add("{{ addressee }}", "主送机关")
    add("{{ intro }}")
    add("{%p for group in groups %}")
    add("{{ group.heading }}", "一级标题")
    table = document.add_table(rows=4, cols=len(NOTICE_COLUMNS))
    table.style = document.styles["Table Grid"]
    rows = table.rows
    for column, (heading, value) in enumerate(NOTICE_COLUMNS):
        rows[0].cells[column].paragraphs[0].text = heading
        rows[2].cells[column].paragraphs[0].text = value
    rows[1].cells[0].paragraphs[0].text = "{%tr for row in group.rows %}"
    rows[3].cells[0].paragraphs[0].text = "{%tr endfor %}"
    for row in rows:
        for cell in row.cells:
            cell.paragraphs[0].style = document.styles["表格文字"]
    add("{%p if group.red_list %}")
    add("红榜：{{ group.red_list }}。")
    add("{%p endif %}")
    add("{%p if group.black_list %}")
    add("黑榜：{{ group.black_list }}。")
    add("{%p endif %}")
    add("{%p endfor %}")
    add("{{ closing }}")
    add("")
    add("{{ signature }}", "落款")
    add("{{ date }}", "落款")


def new_document(*, id_prefix: str):
    document = Document()
    build_styles(document, id_prefix=id_prefix)
    section = document.sections[0]
    set_page(section)
    build_footers(document, section)
    return document


def save(document, output: Path, *, title: str, comments: str) -> Path:
    properties = document.core_properties
    properties.title = title
    properties.author = "落实"
    properties.comments = comments
    properties.last_modified_by = "落实"
    output.parent.mkdir(parents=True, exist_ok=True)
    document.save(output)
    return output


def build(output: Path = OUTPUT) -> Path:
    document = new_document(id_prefix="Briefing")
    build_body(document)
    return save(
        document, output, title="工作进展情况通报", comments="落实督查督办平台简报模板（GB/T 9704-2012 版式）"
    )


def build_order(output: Path = ORDER_OUTPUT) -> Path:
    document = new_document(id_prefix="Order")
    build_order_styles(document)
    build_order_body(document)
    return save(
        document, output, title="督办单", comments="落实督查督办平台督办单模板（GB/T 9704-2012 版式）"
    )


def build_notice(output: Path = NOTICE_OUTPUT) -> Path:
    document = new_document(id_prefix="Notice")
    build_order_styles(document)  # the same number, addressee and table styles as the order
    build_notice_body(document)
    return save(
        document, output, title="排名通报", comments="落实督查督办平台考核排名通报模板（GB/T 9704-2012 版式）"
    )


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
    print(build_order(Path(sys.argv[2]) if len(sys.argv) > 2 else ORDER_OUTPUT))
    print(build_notice(Path(sys.argv[3]) if len(sys.argv) > 3 else NOTICE_OUTPUT))
