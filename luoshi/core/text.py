"""Chinese text helpers: pinyin for search and sorting, Chinese numerals for numbered headings."""

from pypinyin import Style, lazy_pinyin

_DIGITS = "零一二三四五六七八九"
_POWERS = ((1000, "千"), (100, "百"), (10, "十"))


def pinyin_full(text: str) -> str:
    """``区发改局`` → ``qufagaiju``: sorts names the way Chinese readers expect."""
    return "".join(lazy_pinyin(text or "", errors="default")).lower()


def pinyin_initials(text: str) -> str:
    """``区发改局`` → ``qfgj``: what users type to find a unit or a person quickly."""
    return "".join(lazy_pinyin(text or "", style=Style.FIRST_LETTER, errors="default")).lower()


def chinese_numeral(number: int) -> str:
    """``1`` → ``一``, ``10`` → ``十``, ``15`` → ``十五``, ``105`` → ``一百零五``: the numbers of 一、（一）.

    Counts from 1 to 9999, written as in documents: a leading 一十 is just 十, and one 零 stands
    for any run of missing places between two digits (1005 → 一千零五).
    """
    if not 0 < number < 10000:
        raise ValueError(f"{number} is outside 1–9999")
    parts = []
    rest = number
    gap = False
    for power, name in _POWERS:
        digit, rest = divmod(rest, power)
        if digit:
            if gap:
                parts.append("零")
            parts.append(_DIGITS[digit] + name)
            gap = False
        elif parts:
            gap = True
    if rest:
        if gap:
            parts.append("零")
        parts.append(_DIGITS[rest])
    text = "".join(parts)
    return text[1:] if text.startswith("一十") else text
