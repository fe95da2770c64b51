"""Chinese text helpers: pinyin for search and sorting."""

from pypinyin import Style, lazy_pinyin


def pinyin_full(text: str) -> str:
    """``区发改局`` → ``qufagaiju``: sorts names the way Chinese readers expect."""
    return "".join(lazy_pinyin(text or "", errors="default")).lower()


def pinyin_initials(text: str) -> str:
    """``区发改局`` → ``qfgj``: what users type to find a unit or a person quickly."""
    return "".join(lazy_pinyin(text or "", style=Style.FIRST_LETTER, errors="default")).lower()
