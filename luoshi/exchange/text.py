"""Normalising the names people type into ledger cells and documents.

Cells name units and leaders the way people type them: in traditional characters, with
full-width letters, several to a cell, with alignment spaces inside two-character names and
with the post in brackets. These pure functions turn such text into the forms the directories
in ``luoshi.exchange.resolve`` look up.

Full-width *punctuation* is kept on purpose: 、，；（） carry meaning for the splitters and
for names such as 各镇（街道）. That is why ``unicodedata.normalize("NFKC")`` is not used: it
would also turn （） into () and ： into :, and change the names we show back to users.
"""

import functools
import re

import opencc

# Full-width ASCII letters and digits (U+FF10–U+FF5A) map onto ASCII by a fixed offset;
# the ideographic space becomes a plain one. Punctuation stays as typed.
_FULL_WIDTH_OFFSET = 0xFEE0
_HALF_WIDTH = {
    code: code - _FULL_WIDTH_OFFSET
    for start, end in (("０", "９"), ("Ａ", "Ｚ"), ("ａ", "ｚ"))
    for code in range(ord(start), ord(end) + 1)
}
_HALF_WIDTH[ord("\u3000")] = ord(" ")
# Invisible characters pasted from web pages and Word.
_HALF_WIDTH.update(dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None))

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WHITESPACE = re.compile(r"\s+")
# Spaces typed next to a bracket never separate two names: 王建国 （副区长）.
_SPACE_AT_BRACKET = re.compile(r"\s*([（(])\s*|\s*([）)])")
_CJK_ONLY = re.compile(rf"[{_CJK}·]+")

_OPENING, _CLOSING = "（(", "）)"
_SEPARATORS = frozenset("、,，;；/／\n")

# A person written post first, 副区长王建国: a common post, then a two- or three-character name.
_POST_FIRST = re.compile(
    rf"^(?P<post>(?:[区县市镇乡]委?)?(?:常务)?副?(?:书记|区长|县长|市长|镇长|乡长|主任|局长|部长|主席))"
    rf"(?P<name>[{_CJK}]{{2,3}})$"
)
_BRACKETED_POST = re.compile(r"^(?P<name>[^（()）]+)[（(](?P<post>[^（()）]*)[）)]$")

# Pinyin as web pages print it after each character: 區(qū) or 学习（xué xí）.
_PINYIN_SYLLABLE = "[a-zāáǎàēéěèīíǐìōóǒòūúǔùüǖǘǚǜêńňǹḿ]{1,6}"
_PINYIN_ANNOTATION = re.compile(
    rf"(?<=[{_CJK}])\s*[（(]\s*{_PINYIN_SYLLABLE}(?:\s+{_PINYIN_SYLLABLE})*\s*[）)]"
)


@functools.cache
def _t2s() -> opencc.OpenCC:
    """The OpenCC converter: loading its dictionaries is slow, so it is built once."""
    return opencc.OpenCC("t2s")


# A ledger repeats its units, leaders and deadlines on every row: each distinct cell is converted once.
@functools.lru_cache(maxsize=65536)
def normalise(text: str | None) -> str:
    """Simplified characters, half-width letters and digits, single spaces, no ends.

    ``區農業農村局`` → ``区农业农村局``; ``Ｇ２１０ 国道`` → ``G210 国道``.
    """
    text = (text or "").translate(_HALF_WIDTH)
    return _WHITESPACE.sub(" ", _t2s().convert(text)).strip()


def strip_pinyin_annotations(text: str | None) -> str:
    """Remove pinyin printed in brackets after characters: ``學(xué)習(xí)`` → ``學習``.

    Only lower-case pinyin directly after a Chinese character goes, so 世界卫生组织(WHO) stays.
    Run ``normalise`` afterwards for simplified characters.
    """
    return _PINYIN_ANNOTATION.sub("", text or "")


def _split_outside_brackets(text: str) -> list[str]:
    """Cut ``text`` at the separators that are not inside brackets."""
    parts, current, depth = [], [], 0
    for char in text:
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth = max(depth - 1, 0)
        elif char in _SEPARATORS and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _split_spaces(chunk: str) -> list[str]:
    """Cut a chunk at its spaces, unless they pad a name.

    Names are aligned in Excel by typing spaces inside them (李  红), and a lone character is
    never a whole unit or person: runs of single characters are joined together, and a single
    one left over is joined to its neighbour. ``王建国 李  红`` → 王建国, 李红.
    """
    words = [word for word in _WHITESPACE.split(_SPACE_AT_BRACKET.sub(r"\1\2", chunk)) if word]
    merged: list[str] = []
    pending = ""  # single characters waiting to be joined
    for word in words:
        if len(word) == 1:
            pending += word
            continue
        if len(pending) == 1:
            word, pending = pending + word, ""
        if pending:
            merged.append(pending)
            pending = ""
        merged.append(word)
    if len(pending) == 1 and merged:
        merged[-1] += pending
    elif pending:
        merged.append(pending)
    return merged


def _cell_parts(text: str | None) -> list[str]:
    """The normalised, non-empty parts of a cell naming several units or people, in order."""
    parts = []
    for chunk in _split_outside_brackets(normalise(text)):
        parts.extend(_split_spaces(chunk))
    return parts


def _unique(values) -> list:
    return list(dict.fromkeys(value for value in values if value))


def split_names(text: str | None) -> list[str]:
    """The units named in one cell: ``区纪委监委、區委組織部`` → 区纪委监委, 区委组织部.

    Separators are 、 , ， ; ； / and spaces between names; brackets are kept whole, so
    各镇（街道） stays one name. Duplicates are dropped and the order is kept.
    """
    return list(_names_in(text))


@functools.lru_cache(maxsize=65536)
def _names_in(text: str | None) -> tuple[str, ...]:
    return tuple(_unique(_cell_parts(text)))


def _name_without_spaces(name: str) -> str:
    """Spaces inside a Chinese name are padding (李  红); inside a latin name they are not."""
    squeezed = _WHITESPACE.sub("", name)
    return squeezed if _CJK_ONLY.fullmatch(squeezed) else name


def person_name(text: str | None) -> tuple[str, str]:
    """A leader as typed → (name, post): ``王建国（副区长）`` → ("王建国", "副区长").

    Also reads 副区长王建国 when the post is a common one; anything else is all name.
    """
    text = _SPACE_AT_BRACKET.sub(r"\1\2", normalise(text))
    if match := _BRACKETED_POST.match(text):
        return _name_without_spaces(match["name"].strip()), match["post"].strip()
    text = _name_without_spaces(text)
    if match := _POST_FIRST.match(text):
        return match["name"], match["post"]
    return text, ""


def split_people(text: str | None) -> list[tuple[str, str]]:
    """The leaders named in one cell, each as (name, post), in order, each name once."""
    people: dict[str, str] = {}
    for part in _cell_parts(text):
        name, post = person_name(part)
        if name and name not in people:
            people[name] = post
    return list(people.items())
