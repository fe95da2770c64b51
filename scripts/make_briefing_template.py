"""Build ``luoshi/exchange/docx/briefing.docx``, the progress briefing's template, with python-docx.

    .venv/bin/python scripts/make_briefing_template.py [OUTPUT]

The file is committed; run this again after changing the layout. An office that wants its own look
edits the .docx in Word or WPS (keeping the ``{{ … }}`` and ``{%p … %}`` tags, see
``luoshi/exchange/briefing.py`` for the context) and points ``LUOSHI_BRIEFING_TEMPLATE`` at it.

The layout is that of official documents, GB/T 9704-2012 (党政机关公文格式):

- A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm: a type area of 156 × 225 mm
  holding 22 lines of 28 characters, so the fixed line pitch is 225 mm / 22 = 28.95 pt.
- Body text 仿宋_GB2312 三号 (16 pt), justified, first line indented two characters; headings of
  the first level (一、) in 黑体 三号, of the second level (（一）) in 楷体_GB2312 三号.
- Title 方正小标宋简体 二号 (22 pt), centred, one blank line above the body.
- Page numbers "— 1 —" in 宋体 四号 (14 pt) half-width digits between em dashes, 7 mm below the
  type area; odd pages on the right and even pages on the left, one character in from the edge
  (separate odd and even footers).
- The red header (版头: 发文机关标志 in red 方正小标宋简体 35 mm below the top of the type area,
  two lines down the document number, 4 mm below it a red rule as wide as the type area, two lines
  down the title) appears when the context's ``red_header`` is true.
- The office's name (发文机关署名) and the date (成文日期) close the text, right-aligned; the
  context pads them so that the name is two characters in from the right edge and the date starts
  two characters right of the name (the layout for documents without a seal, GB/T 9704-2012 7.3.5.3).

Every font is named for East Asian text too (``w:eastAsia``), and the theme fonts of python-docx's
default template are removed: Word prefers a theme font over a named one, and would otherwise show
the body in 等线 on a Chinese system.
"""

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt, RGBColor

OUTPUT = Path(__file__).resolve().parent.parent / "luoshi" / "exchange" / "docx" / "briefing.docx"

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
LEVEL1_FONT = "黑体"
LEVEL2_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
RED = RGBColor(0xFF, 0x00, 0x00)

BODY_SIZE = Pt(16)  # 三号
TITLE_SIZE = Pt(22)  # 二号
MARK_SIZE = Pt(36)  # 小初, for the issuing office's name in the red header
PAGE_NUMBER_SIZE = Pt(14)  # 四号
LINE_PITCH = Pt(28.95)  # 22 lines in the 225 mm type area
TYPE_AREA_WIDTH = Mm(156)
CHARS_PER_LINE = 28
# The order of a paragraph's properties in the schema (ECMA-376 CT_PPrBase), from borders on.
PPR_ORDER = (
    "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap", "overflowPunct", "topLinePunct",
    "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid", "spacing", "ind",
    "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection", "textAlignment",
    "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange",
)  # fmt: skip


def set_fonts(rpr, name: str) -> None:
    """Name ``name`` in ``rpr`` for Latin, East Asian and complex script text, with no theme font."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in list(fonts.attrib):
        if attribute.endswith(("Theme", "theme")):
            del fonts.attrib[attribute]
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), name)


def set_chars_indent(paragraph_format, *, first_line: int = 0, left: int = 0, right: int = 0) -> None:
    """Indents counted in characters (``w:firstLineChars`` and friends, in hundredths of a character):
    Word keeps them right when the font size changes."""
    ind = paragraph_format.element.get_or_add_pPr().get_or_add_ind()
    for attribute, value in (
        ("w:firstLineChars", first_line),
        ("w:leftChars", left),
        ("w:rightChars", right),
    ):
        if value:
            ind.set(qn(attribute), str(value))


def add_to_ppr(ppr, element) -> None:
    """Put ``element`` where the schema wants it among ``ppr``'s children (Word rejects other orders)."""
    tag = element.tag.rsplit("}", 1)[1]
    ppr.insert_element_before(element, *(f"w:{name}" for name in PPR_ORDER[PPR_ORDER.index(tag) + 1 :]))


def set_outline_level(style, level: int) -> None:
    """Headings appear in Word's navigation pane without being Word's "Heading" styles."""
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), str(level))
    add_to_ppr(style.element.get_or_add_pPr(), outline)


def paragraph_style(document, style_id: str, name: str, *, font: str, size, base=None):
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.style_id = style_id
    style.base_style = base
    style.quick_style = True
    style.font.size = size
    style.font.bold = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    set_fonts(style.element.get_or_add_rPr(), font)
    fmt = style.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.widow_control = False
    return style


def build_styles(document):
    """The document defaults and one paragraph style per element of the layout."""
    rpr = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr, BODY_FONT)
    for tag in ("w:sz", "w:szCs"):
        rpr.find(qn(tag)).set(qn("w:val"), str(int(BODY_SIZE.pt * 2)))
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    spacing = document.styles.element.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    spacing.remove(spacing.find(qn("w:spacing")))

    normal = document.styles["Normal"]
    normal.font.size = BODY_SIZE
    set_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    for name in ("Header", "Footer"):
        set_fonts(document.styles[name].element.get_or_add_rPr(), BODY_FONT)

    body = paragraph_style(document, "BriefingBody", "公文正文", font=BODY_FONT, size=BODY_SIZE, base=normal)
    body.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    body.paragraph_format.first_line_indent = BODY_SIZE * 2
    set_chars_indent(body.paragraph_format, first_line=200)

    level1 = paragraph_style(
        document, "BriefingLevel1", "一级标题", font=LEVEL1_FONT, size=BODY_SIZE, base=body
    )
    set_outline_level(level1, 0)
    level2 = paragraph_style(
        document, "BriefingLevel2", "二级标题", font=LEVEL2_FONT, size=BODY_SIZE, base=body
    )
    set_outline_level(level2, 1)

    title = paragraph_style(
        document, "BriefingTitle", "公文标题", font=TITLE_FONT, size=TITLE_SIZE, base=normal
    )
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    # A two-line title keeps a pitch that fits its 22 pt characters.
    title.paragraph_format.line_spacing = Pt(35)
    set_outline_level(title, 0)

    mark = paragraph_style(
        document, "BriefingIssuer", "发文机关标志", font=TITLE_FONT, size=MARK_SIZE, base=normal
    )
    mark.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    mark.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    mark.paragraph_format.space_before = Mm(35)
    mark.font.color.rgb = RED

    number = paragraph_style(
        document, "BriefingNumber", "发文字号", font=BODY_FONT, size=BODY_SIZE, base=normal
    )
    number.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    red_rule(number)

    closing = paragraph_style(
        document, "BriefingClosing", "落款", font=BODY_FONT, size=BODY_SIZE, base=normal
    )
    closing.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    page = paragraph_style(
        document, "BriefingPageNumber", "页码", font=PAGE_NUMBER_FONT, size=PAGE_NUMBER_SIZE, base=normal
    )
    page.paragraph_format.line_spacing = PAGE_NUMBER_SIZE
    return body


def red_rule(style) -> None:
    """A red line 4 mm below the document number, as wide as the type area (a paragraph border)."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), "12")  # eighths of a point: 1.5 pt
    bottom.set(qn("w:space"), str(round(Mm(4).pt)))
    bottom.set(qn("w:color"), "FF0000")
    borders.append(bottom)
    add_to_ppr(style.element.get_or_add_pPr(), borders)


def set_page(section) -> None:
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width = Mm(210)
    section.page_height = Mm(297)
    section.top_margin = Mm(37)
    section.bottom_margin = Mm(35)
    section.left_margin = Mm(28)
    section.right_margin = Mm(26)
    section.header_distance = Mm(15)
    # The page number's line (exactly 14 pt high) starts 7 mm below the type area.
    section.footer_distance = Emu(Mm(35 - 7) - PAGE_NUMBER_SIZE)
    # A grid of 22 lines of 28 characters; charSpace is the pitch's difference from the default
    # font size, in 4096ths of a point.
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    char_pitch = TYPE_AREA_WIDTH.pt / CHARS_PER_LINE
    grid.set(qn("w:type"), "linesAndChars")
    grid.set(qn("w:linePitch"), str(round(LINE_PITCH.pt * 20)))
    grid.set(qn("w:charSpace"), str(round((char_pitch - BODY_SIZE.pt) * 4096)))


def page_number(paragraph) -> None:
    """``— PAGE —`` with a PAGE field, so Word and WPS number each page."""
    paragraph.add_run("— ")
    for kind, text in (
        ("begin", None),
        ("instr", " PAGE "),
        ("separate", None),
        ("text", "1"),
        ("end", None),
    ):
        run = paragraph.add_run()
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        elif kind == "text":
            run.text = text
        else:
            field_char = OxmlElement("w:fldChar")
            field_char.set(qn("w:fldCharType"), kind)
            run._r.append(field_char)
    paragraph.add_run(" —")


def build_footers(document, section) -> None:
    document.settings.odd_and_even_pages_header_footer = True
    odd = section.footer.paragraphs[0]
    odd.style = document.styles["页码"]
    odd.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    odd.paragraph_format.right_indent = PAGE_NUMBER_SIZE
    page_number(odd)
    even = section.even_page_footer.paragraphs[0]
    even.style = document.styles["页码"]
    even.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    even.paragraph_format.left_indent = PAGE_NUMBER_SIZE
    page_number(even)


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


def build(output: Path = OUTPUT) -> Path:
    document = Document()
    build_styles(document)
    section = document.sections[0]
    set_page(section)
    build_footers(document, section)
    build_body(document)
    properties = document.core_properties
    properties.title = "工作进展情况通报"
    properties.author = "落实"
    properties.comments = "落实督查督办平台简报模板（GB/T 9704-2012 版式）"
    properties.last_modified_by = "落实"
    output.parent.mkdir(parents=True, exist_ok=True)
    document.save(output)
    return output


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
