"""Propose a tree of items from a document's own numbering.

Work plans, speeches and notices number their tasks the way official documents do: 一、 above
（一） above 1. above （1）, with 一是…二是… and 首先…其次… enumerations inside paragraphs, and
the responsibility for each task written next to it (牵头单位：…；完成时限：…). ``outline`` reads
such a document in five steps, each a small function below:

1. **Clean** each paragraph (``clean_line``): inline pinyin goes, traditional characters become
   simplified, full-width letters and digits half-width, and half-width punctuation inside
   Chinese text full-width. Table rows (cells joined by tabs, as ``documents.document_text``
   gives them and as a table pasted from Word or a web page arrives) keep their cells.
2. **Drop page furniture** (``drop_furniture``): navigation, share buttons, source and date
   lines, previous/next links, related-article lists, comment boxes, copyright lines.
3. **Find the title** (``find_title``): the last title-like line (…方案, …工作要点, …讲话,
   …通知) before the first numbered paragraph, so that a covering notice before the plan is not
   the title. The body starts after it; the year comes from the title or the document's date
   lines (``document_year``) unless the caller gives one.
4. **Build the tree** (``_Builder``). ``MARKER_STYLES`` is the table of numbering styles. A
   style's level is not fixed: it is decided by the order in which styles first appear, each
   new style one level below the item it first appears under, so a document that starts at
   （一） has （一） at the top. A numbered paragraph is split into its heading (up to the
   first 。；：, ``split_heading``), which is the title without its marker, and the rest, the
   description. Enumerations inside a paragraph (``inline_enumeration``) become children of the
   paragraph's item; a paragraph that starts with 一是 and goes on with 二是 is a list of
   siblings. Responsibility and time — separate lines or trailing, possibly bracketed phrases
   (``take_fields``) — fill the nearest item and are removed from its text. A plain paragraph
   right after an item's heading continues its description; closing sentences, signatures and
   dates are not items. A line 附：…/附件：… starts a new top-level part, and a table with a
   recognisable header (``table_columns``) becomes items under the current one, its rows
   grouped under their (merged) key-work cells.
5. **Prune** sections that state aims rather than tasks (指导思想, 工作目标, 基本原则 …).

Units are read with ``text.split_names``, leaders with ``text.split_people``, dates with
``dates.parse_deadline``. A phrase that cannot be read stays on its item as a Chinese error.
"""

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.exchange.dates import DeadlineError, parse_deadline
from luoshi.exchange.text import normalise, split_names, split_people, strip_pinyin_annotations
from luoshi.exchange.workbook import map_columns


class OutlineError(ValueError):
    """The text holds nothing that can be outlined; ``message`` says so in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class OutlineNode:
    title: str
    description: str = ""
    lead_org: str = ""
    co_orgs: list[str] = field(default_factory=list)
    lead_leader: str = ""
    deadline: dt.date | None = None
    standing: bool = False
    cycle: str | None = None
    children: list["OutlineNode"] = field(default_factory=list)
    marker: str = ""  # the numbering as found, e.g. （一）
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "description": self.description,
            "lead_org": self.lead_org,
            "co_orgs": list(self.co_orgs),
            "lead_leader": self.lead_leader,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "standing": self.standing,
            "cycle": self.cycle,
            "marker": self.marker,
            "errors": list(self.errors),
            "children": [child.as_dict() for child in self.children],
        }


@dataclass
class Outline:
    title: str
    children: list[OutlineNode]
    year: int | None = None

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "year": self.year,
            "children": [child.as_dict() for child in self.children],
        }


# --- numbering ------------------------------------------------------------------------------

_CN_NUMERAL = "[一二三四五六七八九十]{1,3}"
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# 最后 closes a 首先… run whatever came before it.
_LAST = 99
_SEQUENCE_WORDS = {"首先": 1, "其次": 2, "再次": 3, "最后": _LAST}


def chinese_number(numeral: str) -> int:
    """一 → 1, 十 → 10, 十二 → 12, 二十 → 20, 二十三 → 23 (enough for numbering)."""
    tens, ten, units = numeral.partition("十")
    if not ten:
        return _CN_DIGITS.get(numeral, 0)
    return _CN_DIGITS.get(tens, 1) * 10 + _CN_DIGITS.get(units, 0)


@dataclass(frozen=True)
class MarkerStyle:
    """One way of numbering: ``start`` finds it at the beginning of a paragraph, ``inline`` inside
    one (None where it never enumerates inside a paragraph); both capture the number as ``n``."""

    name: str
    start: re.Pattern
    inline: re.Pattern | None
    value: Callable[[str], int]  # the captured number → its value

    def number(self, match: re.Match) -> int:
        return self.value(match["n"])


# Inside a paragraph an enumeration starts a sentence or a clause.
_BOUNDARY = r"(?:^|(?<=[。；;，,：:！？!?]))\s*"


def _style(name: str, body: str, value, *, inline: bool) -> MarkerStyle:
    return MarkerStyle(
        name=name,
        start=re.compile(r"^\s*" + body + r"\s*"),
        inline=re.compile(_BOUNDARY + body) if inline else None,
        value=value,
    )


def _circled(numeral: str) -> int:
    return ord(numeral) - ord("①") + 1


# The numbering styles offices use. Their order here does not rank them: see ``_Builder.place``.
MARKER_STYLES: tuple[MarkerStyle, ...] = (
    _style("part", rf"第(?P<n>{_CN_NUMERAL})(?:部分|章)", chinese_number, inline=False),
    _style("chinese", rf"(?P<n>{_CN_NUMERAL})[、．.]", chinese_number, inline=False),
    _style("chinese_bracket", rf"[（(](?P<n>{_CN_NUMERAL})[）)]", chinese_number, inline=True),
    _style("arabic", r"(?P<n>\d{1,2})(?:[、．]|\.(?!\d))", int, inline=False),
    _style("arabic_bracket", r"[（(](?P<n>\d{1,2})[）)]", int, inline=True),
    _style("arabic_half_bracket", r"(?P<n>\d{1,2})[）)]", int, inline=False),
    _style("circled", r"(?P<n>[①-⑳])", _circled, inline=True),
    _style("shi", rf"(?P<n>{_CN_NUMERAL})是", chinese_number, inline=True),
    _style("yao", rf"(?P<n>{_CN_NUMERAL})要", chinese_number, inline=True),
    _style("sequence", r"(?P<n>首先|其次|再次|最后)[，,、：:]", _SEQUENCE_WORDS.get, inline=True),
    _style("ordinal", rf"第(?P<n>{_CN_NUMERAL})[，,、：:]", chinese_number, inline=True),
)


@dataclass(frozen=True)
class Marker:
    style: MarkerStyle
    number: int
    text: str  # as written, without surrounding spaces
    rest: str  # the paragraph after it


def leading_marker(text: str) -> Marker | None:
    """The numbering a paragraph starts with, if any."""
    for style in MARKER_STYLES:
        if match := style.start.match(text):
            rest = text[match.end() :]
            if rest.strip():
                return Marker(style, style.number(match), match[0].strip(), rest.strip())
    return None


def _enumeration_run(style: MarkerStyle, text: str, first: int) -> list[re.Match]:
    """The matches of ``style`` in ``text`` numbered first, first+1, … (or ending with 最后)."""
    run: list[re.Match] = []
    expected = first
    for match in style.inline.finditer(text):
        number = style.number(match)
        if number == expected or (number == _LAST and (run or first > 1)):
            run.append(match)
            if number == _LAST:
                break
            expected += 1
    return run


def inline_enumeration(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split ``…。一是A；二是B。`` into its lead text and [(marker, A), (marker, B)].

    The earliest style that counts at least to two from its first number wins; a text without
    one comes back whole with no parts.
    """
    best: list[re.Match] = []
    for style in MARKER_STYLES:
        if style.inline is None:
            continue
        run = _enumeration_run(style, text, 1)
        if len(run) >= 2 and (not best or run[0].start() < best[0].start()):
            best = run
    if not best:
        return text, []
    parts = []
    for match, following in zip(best, [*best[1:], None], strict=True):
        end = following.start() if following else len(text)
        parts.append((match[0].strip(), text[match.end() : end].strip()))
    return text[: best[0].start()].strip(), parts


def sibling_paragraphs(marker: Marker) -> list[Marker]:
    """A paragraph ``一是A。二是B。`` is two siblings: the run of its own style continues inside it."""
    style = marker.style
    if style.inline is None:
        return [marker]
    run = _enumeration_run(style, marker.rest, marker.number + 1)
    if not run:
        return [marker]
    siblings = [Marker(style, marker.number, marker.text, marker.rest[: run[0].start()].strip())]
    for match, following in zip(run, [*run[1:], None], strict=True):
        end = following.start() if following else len(marker.rest)
        rest = marker.rest[match.end() : end].strip()
        siblings.append(Marker(style, style.number(match), match[0].strip(), rest))
    return siblings


# --- headings -------------------------------------------------------------------------------

_HEADING_END = frozenset("。；;：:！？!?")
_OPENERS, _CLOSERS = "（(“‘《【「", "）)”’》】」"
_TRAILING_PUNCTUATION = "。；;：:，,、！？!? "


def split_heading(text: str) -> tuple[str, str]:
    """``heading。rest`` → (heading, rest): the heading ends at the first 。；：？！ outside
    brackets and quotes (a colon between digits, 9:30, is not one)."""
    depth = 0
    for index, char in enumerate(text):
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth = max(depth - 1, 0)
        elif char in _HEADING_END and depth == 0:
            if char == ":" and index and text[index - 1].isdigit():
                continue
            return text[:index].strip(), text[index + 1 :].strip()
    return text.strip().rstrip(_TRAILING_PUNCTUATION), ""


# --- responsibility and time ------------------------------------------------------------------

# Label → what it fills. Longer labels first, so that 牵头县领导 is not read as 牵头县.
FIELD_LABELS: dict[str, str] = {
    "牵头单位": "lead",
    "主责单位": "lead",
    "牵头部门": "lead",
    "责任单位": "responsible",
    "责任部门": "responsible",
    "配合单位": "assisting",
    "协办单位": "assisting",
    "参与单位": "assisting",
    "配合部门": "assisting",
    "牵头领导": "leader",
    "责任领导": "leader",
    "分管领导": "leader",
    "包抓领导": "leader",
    "完成时限": "deadline",
    "完成时间": "deadline",
    "时间节点": "deadline",
    "时限要求": "deadline",
    "办结时限": "deadline",
    "调度频次": "cycle",
}
_LABEL = "|".join(sorted(FIELD_LABELS, key=len, reverse=True))
_LABEL_AT = re.compile(rf"(?P<label>{_LABEL})\s*[：:]\s*")
_FIELDS_AT_START = re.compile(rf"\s*(?:{_LABEL})\s*[：:]")
_TRAILING_FIELDS = re.compile(rf"(?:^|(?<=[。；;，,]))\s*(?:{_LABEL})\s*[：:]")
_VALUE_SEPARATORS = "；;，,。 "


def field_pairs(text: str) -> list[tuple[str, str]]:
    """``牵头单位：区司法局；完成时限：6月底前`` → [("lead", "区司法局"), ("deadline", "6月底前")]."""
    labels = list(_LABEL_AT.finditer(text))
    pairs = []
    for label, following in zip(labels, [*labels[1:], None], strict=True):
        value = text[label.end() : following.start() if following else len(text)].strip(_VALUE_SEPARATORS)
        if value:
            pairs.append((FIELD_LABELS[label["label"]], value))
    return pairs


def _bracketed_fields(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of the outermost brackets holding labelled phrases; brackets may
    nest inside them, as in （牵头领导：王建国（副区长））."""
    spans, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "（(":
            if depth == 0:
                start = index
            depth += 1
        elif char in "）)" and depth:
            depth -= 1
            if depth == 0 and _FIELDS_AT_START.match(text, start + 1):
                spans.append((start, index + 1))
    return spans


def take_fields(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Remove the responsibility and time phrases from ``text``: bracketed ones anywhere, and a
    run of labelled phrases that ends the text. Returns (what is left, the phrases read)."""
    pairs: list[tuple[str, str]] = []
    for start, end in reversed(_bracketed_fields(text)):
        pairs[:0] = field_pairs(text[start + 1 : end - 1])
        text = text[:start] + text[end:]
    if trailing := _TRAILING_FIELDS.search(text):
        pairs.extend(field_pairs(text[trailing.start() :]))
        text = text[: trailing.start()]
    return text.strip(), pairs


@dataclass
class _Responsibility:
    """The phrases gathered for one item; ``apply`` turns them into its fields."""

    lead: list[str] = field(default_factory=list)
    responsible: list[str] = field(default_factory=list)
    assisting: list[str] = field(default_factory=list)
    leaders: list[tuple[str, str]] = field(default_factory=list)
    deadline: str = ""
    cycle: str = ""

    def add(self, pairs: list[tuple[str, str]]) -> None:
        for role, value in pairs:
            if role == "leader":
                self.leaders.extend(split_people(value))
            elif role in ("deadline", "cycle"):
                setattr(self, role, getattr(self, role) or value)
            else:
                getattr(self, role).extend(split_names(value))

    def apply(self, node: OutlineNode, year: int | None) -> None:
        # With a 牵头单位, the 责任单位 are co-units; without one, the first 责任单位 leads.
        units = self.lead or self.responsible
        lead = units[0] if units else ""
        co_units = (
            self.lead[1:] + self.responsible + self.assisting if self.lead else units[1:] + self.assisting
        )
        node.lead_org = lead
        node.co_orgs = [unit for unit in dict.fromkeys(co_units) if unit != lead]
        if self.leaders:
            node.lead_leader = self.leaders[0][0]
            if len(self.leaders) > 1:
                node.errors.append(
                    _("写了多位牵头领导（%(names)s），只取第一位「%(name)s」，请核对。")
                    % {"names": "、".join(name for name, _post in self.leaders), "name": node.lead_leader}
                )
        self._apply_time(node, year)

    def _apply_time(self, node: OutlineNode, year: int | None) -> None:
        try:
            if self.deadline:
                deadline = parse_deadline(self.deadline, year=year)
                node.deadline, node.standing = deadline.date, deadline.standing
                node.cycle = _cycle_value(deadline.cycle)
            if self.cycle:
                node.cycle = _cycle_value(parse_deadline(self.cycle, year=year).cycle) or node.cycle
        except DeadlineError as error:
            node.errors.append(str(error))


def _cycle_value(cycle) -> str | None:
    """The plain value of a ``ReportCycle`` ("quarterly"), as the JSON form carries it."""
    return str(cycle) if cycle else None


# --- cleaning and page furniture --------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_HALF_PUNCTUATION = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_PUNCTUATION_BY_CJK = re.compile(rf"(?<=[{_CJK}”）])([,;:?!])|([,;:?!])(?=[{_CJK}“（])")
_BRACKETED_CHINESE = re.compile(rf"\(([^()]*[{_CJK}][^()]*)\)")


def clean_line(line: str) -> str:
    """One paragraph as the parser reads it; table cells stay separated by tabs."""
    cells = [_clean_text(cell) for cell in line.split("\t")]
    if sum(1 for cell in cells if cell) < 2:
        return " ".join(cell for cell in cells if cell)
    return "\t".join(cells)


def _clean_text(text: str) -> str:
    text = normalise(strip_pinyin_annotations(text))
    text = _BRACKETED_CHINESE.sub(r"（\1）", text)
    return _PUNCTUATION_BY_CJK.sub(lambda match: _HALF_PUNCTUATION[match[1] or match[2]], text)


_FURNITURE = re.compile(
    r"^(?:首页|网站首页|主页)\s*[|｜>＞»/]"
    r"|(?:当前位置|您现在的位置|您的位置|所在位置)\s*[：:]"
    r"|^分享(?:到|\s*[：:])|扫一扫|^(?:微信|微博|QQ空间|QQ|朋友圈|复制链接|\s)+$"
    r"|^(?:评论|发表评论|我要评论|网友评论|查看评论)|请遵守评论公约"
    r"|^(?:上一篇|下一篇|上一条|下一条)\s*[：:]?"
    r"|打印本页|关闭窗口|【打印】|【关闭】|收藏本页|返回顶部|字号\s*[：:]?\s*[大中小]"
    r"|^(?:来源|信息来源|文章来源|发布时间|发布日期|作者|责任编辑|编辑|浏览次数|阅读次数|点击数)\s*[：:]"
    r"|发布时间\s*[：:]|浏览次数|阅读量\s*[：:]"
    r"|版权所有|Copyright|©|ICP备|公网安备|网站标识码|技术支持\s*[：:]|网站地图|设为首页|加入收藏"
)
_RELATED_LIST = re.compile(r"^(?:相关文章|相关阅读|推荐阅读|相关新闻|相关链接|延伸阅读|热点推荐|猜你喜欢)")
_LIST_BULLET = re.compile(r"^[·•▪◆●>\-*]")
# A navigation bar: several short entries between separators.
_NAVIGATION = re.compile(r"^(?:[^|｜]{1,8}[|｜]){2,}[^|｜]{0,8}$")


def is_furniture(line: str) -> bool:
    """Whether a line is part of a web page around the document, not the document."""
    return bool(_FURNITURE.search(line) or _NAVIGATION.match(line) or _RELATED_LIST.match(line))


def drop_furniture(lines: list[str]) -> list[str]:
    """The lines without page furniture; the bulleted links under 相关文章 go with their heading."""
    kept, in_related_list = [], False
    for line in lines:
        if _RELATED_LIST.match(line):
            in_related_list = True
            continue
        if in_related_list and _LIST_BULLET.match(line):
            continue
        in_related_list = False
        if not is_furniture(line):
            kept.append(line)
    return kept


# --- title, year, ends ------------------------------------------------------------------------

_TITLE_SUFFIX = re.compile(
    r"(?:方案|要点|意见|计划|通知|讲话|发言|办法|规划|细则|清单|安排|措施|纲要|报告|决定|通报|任务分工|分工)"
    r"(?:[（(][^（()）]*[）)])?$"
)
_COVERING_NOTICE = re.compile(r"^关于印发《(?P<title>[^》]+)》的通知$")
_SENTENCE_END = re.compile(r"[。；;！？!?，,：:]$")
_MAX_TITLE_LENGTH = 80


def _title_like(line: str) -> bool:
    return "\t" not in line and len(line) <= _MAX_TITLE_LENGTH and not _SENTENCE_END.search(line)


def find_title(lines: list[str]) -> tuple[str, int]:
    """(the document's title, the index of the first body line).

    The title is the last title-like line before the first numbered paragraph, preferring one
    that names a kind of document: a covering notice comes before the plan it sends.
    """
    first_item = next((index for index, line in enumerate(lines) if leading_marker(line)), len(lines))
    candidates = [index for index in range(first_item) if _title_like(lines[index])]
    named = [index for index in candidates if _TITLE_SUFFIX.search(lines[index])]
    if named or candidates:
        index = (named or candidates)[-1]
        title = lines[index]
        if notice := _COVERING_NOTICE.match(title):
            title = notice["title"]
        return title, index + 1
    return "", 0


_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_CHINESE_YEAR = re.compile(r"二[〇零○]([〇零○一二三四五六七八九])([〇零○一二三四五六七八九])年")
_CHINESE_YEAR_DIGITS = str.maketrans("〇零○一二三四五六七八九", "000123456789")
_DATE_LINE = re.compile(
    r"^[（(]?(?:\d{4}|二[〇零○][〇零○一二三四五六七八九]{2})年[\d一二三四五六七八九十]{1,3}月"
    r"[\d一二三四五六七八九十]{1,3}日[）)]?$"
)


def _year_in(text: str) -> int | None:
    if match := _YEAR.search(text):
        return int(match[1])
    if match := _CHINESE_YEAR.search(text):
        return int(("20" + match[1] + match[2]).translate(_CHINESE_YEAR_DIGITS))
    return None


def document_year(lines: list[str], title: str, body_start: int) -> int | None:
    """The year a document speaks of: in its title, else its date lines, else before its body."""
    date_lines = [line for line in lines if _DATE_LINE.match(line)]
    for text in [title, *date_lines, *lines[:body_start]]:
        if year := _year_in(text):
            return year
    return None


_CLOSING = re.compile(
    r"^同志们[，,：:！!]|^特此(?:通知|报告|函告)|^以上|^[（(]此件|^抄送[：:]|^联系人[：:]|^联系电话[：:]"
)
_SENTENCE_PUNCTUATION = re.compile(r"[。；;，,：:！？!?]")
_APPENDIX = re.compile(r"^附(?:件\s*\d*)?\s*[：:]\s*(?P<rest>.+)$")


def is_closing(line: str) -> bool:
    """A salutation, closing formula, date line, or a line without any punctuation (a signature,
    a heading without a number): never an item or a description."""
    return bool(_CLOSING.search(line) or _DATE_LINE.match(line) or not _SENTENCE_PUNCTUATION.search(line))


# Sections that state aims rather than tasks: not items to follow.
NOT_TASKS = frozenset(
    {
        "指导思想",
        "总体要求",
        "总体思路",
        "工作目标",
        "主要目标",
        "总体目标",
        "目标要求",
        "基本原则",
        "工作原则",
    }
)


def prune_aims(nodes: list[OutlineNode]) -> list[OutlineNode]:
    kept = [node for node in nodes if node.title not in NOT_TASKS]
    for node in kept:
        node.children = prune_aims(node.children)
    return kept


# --- tables -----------------------------------------------------------------------------------

# A table's header is read by the workbook reader's column names (one list of the names offices
# use); its fields are put in the roles the outline fills. Parent and title columns both hold titles.
_TABLE_ROLES = {
    "key": "key",
    "parent": "task",
    "title": "task",
    "lead_org": "lead",
    "responsible_orgs": "responsible",
    "co_orgs": "assisting",
    "lead_leader": "leader",
    "deadline": "deadline",
    "cycle": "cycle",
}


def table_columns(cells: list[str]) -> list[str | None] | None:
    """Each header cell's role, or None when the row is not a header of a task table."""
    roles = [_TABLE_ROLES.get(field) for field in map_columns(cells)]
    if "task" not in roles or sum(1 for role in roles if role) < 2:
        return None
    return roles


# --- building ---------------------------------------------------------------------------------


class _Builder:
    """The tree as it grows, paragraph by paragraph."""

    def __init__(self, year: int | None):
        self.year = year
        self.roots: list[OutlineNode] = []
        self.stack: list[tuple[int, OutlineNode]] = []  # the open items, (level, node), outermost first
        self.levels: dict[str, int] = {}  # numbering style → level, by first appearance
        self.fields: dict[int, tuple[OutlineNode, _Responsibility]] = {}
        self.describing = False  # whether a plain paragraph continues the current item's description

    @property
    def current(self) -> OutlineNode | None:
        return self.stack[-1][1] if self.stack else None

    def node(self, marker: str, text: str) -> OutlineNode:
        text, pairs = take_fields(text)
        title, description = split_heading(text)
        node = OutlineNode(title=title, description=description, marker=marker)
        self.fill(node, pairs)
        return node

    def fill(self, node: OutlineNode, pairs: list[tuple[str, str]]) -> None:
        if pairs:
            self.fields.setdefault(id(node), (node, _Responsibility()))[1].add(pairs)

    def place(self, level_key: str, node: OutlineNode, *, level: int | None = None) -> None:
        """Put ``node`` under the nearest open item of a higher level; a numbering style seen for
        the first time is one level below the current item."""
        if level is None:
            level = self.levels.setdefault(level_key, self.stack[-1][0] + 1 if self.stack else 1)
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        (self.current.children if self.current else self.roots).append(node)
        self.stack.append((level, node))
        self.describing = True

    def paragraph(self, line: str) -> None:
        if appendix := _APPENDIX.match(line):
            self.place("appendix", self.node("", appendix["rest"]), level=1)
            return
        if marker := leading_marker(line):
            for sibling in sibling_paragraphs(marker):
                self.numbered(sibling)
            return
        self.plain(line)

    def numbered(self, marker: Marker) -> None:
        lead, parts = inline_enumeration(marker.rest)
        if not lead:  # （一）一是…二是…: no heading to hang them on, so the paragraph is one item
            lead, parts = marker.rest, []
        node = self.node(marker.text, lead)
        self.place(marker.style.name, node)
        # Responsibility written with the heading closes it: what follows is not its description.
        self.describing = id(node) not in self.fields
        self.enumerate(node, parts)

    def plain(self, line: str) -> None:
        text, pairs = take_fields(line)
        if self.current and pairs:
            self.fill(self.current, pairs)
            self.describing = False
        if not text:
            return
        if is_closing(text):
            self.describing = False
            return
        lead, parts = inline_enumeration(text)
        if parts and self.current is None:
            # A paragraph outside any item whose first sentence heads the enumerations in it.
            self.place("paragraph", self.node("", lead))
        elif self.current and self.describing and lead:
            current = self.current
            current.description = "\n".join(filter(None, [current.description, lead]))
        if parts:
            self.enumerate(self.current, parts)

    def enumerate(self, parent: OutlineNode, parts: list[tuple[str, str]]) -> None:
        parent.children.extend(self.node(marker, text) for marker, text in parts)
        if parts:
            self.describing = False

    def table(self, roles: list[str | None], header: list[str], rows: list[list[str]]) -> None:
        """Rows of a task table become items under the current one, grouped by their parent cells."""
        task_columns = [index for index, role in enumerate(roles) if role == "task"]
        *parent_columns, title_column = task_columns
        groups: dict[tuple[str, ...], OutlineNode] = {}
        above = [""] * len(parent_columns)  # merged or blank parent cells take the value above
        base = self.current
        for row in rows:
            row = row + [""] * (len(roles) - len(row))
            above = [row[column] or previous for column, previous in zip(parent_columns, above, strict=True)]
            if not row[title_column]:
                continue
            siblings = base.children if base else self.roots
            for depth in range(len(above)):
                path = tuple(above[: depth + 1])
                if path[-1] and path not in groups:
                    groups[path] = OutlineNode(title=split_heading(path[-1])[0])
                    siblings.append(groups[path])
                if path[-1]:
                    siblings = groups[path].children
            siblings.append(self.row_node(roles, header, row, title_column))
        self.describing = False

    def row_node(self, roles, header, row, title_column) -> OutlineNode:
        title, description = split_heading(row[title_column])
        notes = [
            f"{name}：{value}"
            for name, role, value in zip(header, roles, row, strict=True)
            if value and not role
        ]
        marker = next((value for role, value in zip(roles, row, strict=True) if role == "key"), "")
        node = OutlineNode(
            title=title, description="\n".join(filter(None, [description, *notes])), marker=marker
        )
        self.fill(
            node,
            [(role, value) for role, value in zip(roles, row, strict=True) if value and role in _FIELD_ROLES],
        )
        return node

    def finish(self) -> list[OutlineNode]:
        for node, responsibility in self.fields.values():
            responsibility.apply(node, self.year)
        return prune_aims(self.roots)


_FIELD_ROLES = frozenset(FIELD_LABELS.values())


def _lines(paragraphs: Iterable[str] | str) -> list[str]:
    if isinstance(paragraphs, str):
        paragraphs = paragraphs.splitlines()
    return [
        cleaned
        for paragraph in paragraphs
        for line in str(paragraph).splitlines()
        if (cleaned := clean_line(line))
    ]


def outline(paragraphs: Iterable[str] | str, *, year: int | None = None) -> Outline:
    """The proposed item tree of a document, given as paragraphs or as one text.

    Raises ``OutlineError`` when there is no text, or no numbered item in it.
    """
    lines = drop_furniture(_lines(paragraphs))
    if not lines:
        raise OutlineError(_("文档中没有文字。请粘贴或上传工作方案、讲话、通知等文件的正文。"))
    title, body_start = find_title(lines)
    year = year or document_year(lines, title, body_start) or timezone.localdate().year
    builder = _Builder(year)
    index = body_start
    while index < len(lines):
        cells = lines[index].split("\t")
        roles = table_columns(cells) if len(cells) > 1 else None
        if roles is None:
            builder.paragraph(lines[index].replace("\t", " "))
            index += 1
            continue
        end = index + 1
        while end < len(lines) and "\t" in lines[end]:
            end += 1
        builder.table(roles, cells, [line.split("\t") for line in lines[index + 1 : end]])
        index = end
    children = builder.finish()
    if not children:
        raise OutlineError(
            _(
                "没有找到编号的事项。可识别的编号有：一、（一）1. （1）① 一是 一要 首先 第一，"
                "以及带“重点任务”“具体措施”等表头的表格。"
            )
        )
    return Outline(title=title, children=children, year=year)
