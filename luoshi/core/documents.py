"""Official documents (公文) as .docx: the text helpers, the docxtpl render and the GB/T 9704 layout.

Every document the system prints (the progress briefing, the supervision order) is a docxtpl template
built by ``scripts/make_briefing_template.py`` from the style builders below and filled, with
autoescape, by ``render_docx``. An office may replace a template with its own .docx using the same
context.

The layout is that of GB/T 9704-2012 (党政机关公文格式):

- A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm: a type area of 156 × 225 mm
  holding 22 lines of 28 characters, so the fixed line pitch is 225 mm / 22 = 28.95 pt.
- Body text 仿宋_GB2312 三号 (16 pt), justified, first line indented two characters; headings of
  the first level (一、) in 黑体 三号, of the second level (（一）) in 楷体_GB2312 三号.
- Title 方正小标宋简体 二号 (22 pt), centred, one blank line above the body.
- Page numbers "— 1 —" in 宋体 四号 (14 pt) half-width digits between em dashes, 7 mm below the
  type area; odd pages on the right and even pages on the left, one character in from the edge.
- The red header (版头: 发文机关标志 in red 方正小标宋简体 35 mm below the top of the type area,
  two lines down the document number, 4 mm below it a red rule as wide as the type area).
- The office's name (发文机关署名) and the date (成文日期) close the text, right-aligned, padded by
  ``closing_lines`` (the layout for documents without a seal, 7.3.5.3).

Every font is named for East Asian text too (``w:eastAsia``), and the theme fonts of python-docx's
default template are removed: Word prefers a theme font over a named one, and would otherwise show
the body in 等线 on a Chinese system.

Dates are written in Arabic numerals, 2026年11月23日 (7.3.5.2: "用阿拉伯数字将年、月、日标全，年份应标全称，
月、日不编虚位"). User text arrives as context, never as template source, and is autoescaped: ``{{ … }}``
in a title is printed as written.
"""

import datetime as dt
import re

from django.utils.translation import gettext as _
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt, RGBColor
from docxtpl import DocxTemplate

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# Text ----------------------------------------------------------------------------------------------

# Characters XML 1.0 cannot hold (control characters pasted from other programs); Word would refuse
# the whole file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PARAGRAPHS = re.compile(r"\s*\n\s*")
# Digits, Latin letters and half-width punctuation take half a character's width in 仿宋.
_HALF_WIDTH = re.compile(r"[\x20-\x7e]")
IDEOGRAPHIC_SPACE = "\u3000"


def format_date(day: dt.date) -> str:
    """2026年11月23日: Arabic numerals, no leading zeros (GB/T 9704-2012 7.3.5.2)."""
    return _("%(year)d年%(month)d月%(day)d日") % {"year": day.year, "month": day.month, "day": day.day}


def clean(text: str) -> str:
    """``text`` without the control characters XML cannot carry."""
    return _NOT_XML.sub("", text or "")


def paragraphs(text: str) -> list[str]:
    """A user's text as the paragraphs its writer typed, each a paragraph of the document."""
    return [part for part in _PARAGRAPHS.split(clean(text).strip()) if part]


def width(text: str) -> float:
    """How many full characters ``text`` takes in a line: half-width ones count a half."""
    return sum(0.5 if _HALF_WIDTH.match(char) else 1 for char in text)


def closing_lines(office: str, date: str) -> tuple[str, str]:
    """The office's name and the date, padded with spaces to sit right of centre as GB/T 9704 asks.

    7.3.5.3 (a document without a seal): the name two characters in from the right edge, the date
    on the next line starting two characters right of the name's start; when the date is the
    longer, the date is two characters in and the name moves left to keep that offset.
    """
    office_width, date_width = width(office), width(date)
    name_right = max(2.0, date_width + 4 - office_width)
    date_right = name_right + office_width - 2 - date_width
    return office + _padding(name_right), date + _padding(date_right)


def _padding(characters: float) -> str:
    """Ideographic spaces for whole characters; a half is a space before them (Word drops the trailing
    half-width spaces of a right-aligned line, but keeps ideographic ones)."""
    whole, half = divmod(characters, 1)
    return (" " if half else "") + IDEOGRAPHIC_SPACE * int(whole)


def render_docx(template, context: dict, stream) -> None:
    """Fill the docxtpl ``template`` (a path) with ``context``, autoescaped, and write the .docx to ``stream``."""
    document = DocxTemplate(template)
    document.render(context, autoescape=True)
    document.save(stream)


# Layout (for the template builders) ------------------------------------------------------------------

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


def build_styles(document, *, id_prefix: str):
    """The document defaults and one paragraph style per element of the layout, named in Chinese
    (公文正文, 一级标题, 二级标题, 公文标题, 发文机关标志, 发文字号, 落款, 页码); ``id_prefix`` starts
    their style ids. Returns the body style."""
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

    def style(suffix, name, *, font, size, base):
        return paragraph_style(document, id_prefix + suffix, name, font=font, size=size, base=base)

    body = style("Body", "公文正文", font=BODY_FONT, size=BODY_SIZE, base=normal)
    body.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    body.paragraph_format.first_line_indent = BODY_SIZE * 2
    set_chars_indent(body.paragraph_format, first_line=200)

    set_outline_level(style("Level1", "一级标题", font=LEVEL1_FONT, size=BODY_SIZE, base=body), 0)
    set_outline_level(style("Level2", "二级标题", font=LEVEL2_FONT, size=BODY_SIZE, base=body), 1)

    title = style("Title", "公文标题", font=TITLE_FONT, size=TITLE_SIZE, base=normal)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    # A two-line title keeps a pitch that fits its 22 pt characters.
    title.paragraph_format.line_spacing = Pt(35)
    set_outline_level(title, 0)

    mark = style("Issuer", "发文机关标志", font=TITLE_FONT, size=MARK_SIZE, base=normal)
    mark.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    mark.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    mark.paragraph_format.space_before = Mm(35)
    mark.font.color.rgb = RED

    number = style("Number", "发文字号", font=BODY_FONT, size=BODY_SIZE, base=normal)
    number.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    red_rule(number)

    closing = style("Closing", "落款", font=BODY_FONT, size=BODY_SIZE, base=normal)
    closing.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    page = style("PageNumber", "页码", font=PAGE_NUMBER_FONT, size=PAGE_NUMBER_SIZE, base=normal)
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
    """Page numbers on odd pages at the right, on even pages at the left, one character in."""
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
