"""Read the deadline cell of an office ledger or plan into a `Deadline`.

Offices write deadlines in many ways; `parse_deadline` understands:

- real date cells (`date`/`datetime`) and Excel serial numbers (1900 date system, e.g. 46203);
- full dates: `2026-08-15`, `2026/8/15`, `2026.8.15`, `2026年8月15日`, `8月15日` (`号` too);
- a month, meaning its last day: `2026.9`, `2026年9月`, `9月`, `9月底`, `9月末`, `六月底`;
- ten-day parts of a month: `7月上旬` (10th), `7月中旬` (20th), `7月下旬` (last day);
- quarters, meaning the quarter's last day: `三季度末`, `第三季度`, `3季度末`, `2026年三季度`;
- halves and whole years: `上半年` (30 June), `下半年`, `全年`, `年底`, `年末`, `年内` (31 Dec);
- ranges, meaning their end: `2026年3月-6月`, `3月至6月`;
- standing work, with no date: `长期坚持`, `持续推进`, `常态化`, `长效`, `每周`, `每半月`,
  `每月25日前报送`, `按季度` … ; the report cycle is kept when the text names one.

Before reading, full-width characters are folded (`２０２６` → `2026`), whitespace is dropped,
Chinese numerals become digits (`十二月` → `12月`) and trailing words such as `前`, `以前`,
`之前`, `完成` are ignored. Text without a year takes the ledger's `year`. Anything else raises
`DeadlineError`, whose message quotes the text; the importer adds the row and column.
"""

import datetime as dt
import re
import unicodedata
from calendar import monthrange
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from luoshi.ledgers.models import ReportCycle


class DeadlineError(ValueError):
    pass


@dataclass(frozen=True)
class Deadline:
    date: dt.date | None
    standing: bool
    cycle: str | None
    text: str


NO_DEADLINE = Deadline(None, False, None, "")

# Day 0 of Excel's 1900 date system; starting from 30 Dec 1899 absorbs Excel's phantom 29 Feb 1900.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# A deadline falls in this century: a number outside it (a bare year such as 2026, a count) is not a
# date cell, and reading it as one would invent a deadline in 1905.
_FIRST_SERIAL = 36526  # 1 Jan 2000
_LAST_SERIAL = 73050  # 31 Dec 2099

_CHINESE_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CHINESE_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHINESE_NUMBER = re.compile(r"[〇零一二两三四五六七八九十]+")
_WHITESPACE = re.compile(r"\s+")
_LEADING_WORDS = re.compile(r"^(?:截至|截止|于|在)")
_TRAILING_WORDS = re.compile(r"(?:以前|之前|前|完成|办结|为止|止)+$")
_RANGE_SEPARATOR = re.compile(r"至|到|~|—+|-")
_LEADING_YEAR = re.compile(r"^(\d{4})(?:年|[-/.])")

_STANDING = re.compile(r"长期|持续|常态|长效|定期|每|按(?:周|半月|月|季|年)|月度|^季度$")
_CYCLE = re.compile(r"(?:每|按)(?P<unit>半月|周|月|季)|(?P<noun>月度|季度)")
_CYCLES = {
    "周": ReportCycle.WEEKLY,
    "半月": ReportCycle.SEMIMONTHLY,
    "月": ReportCycle.MONTHLY,
    "月度": ReportCycle.MONTHLY,
    "季": ReportCycle.QUARTERLY,
    "季度": ReportCycle.QUARTERLY,
}

_YEAR = r"(?:(?P<year>\d{4})年?)?"
_NUMERIC_DATE = re.compile(r"(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?:(?P=sep)(?P<day>\d{1,2}))?")
_MONTH_DAY = re.compile(_YEAR + r"(?P<month>\d{1,2})月(?P<day>\d{1,2})[日号]?")
_MONTH = re.compile(_YEAR + r"(?P<month>\d{1,2})月份?(?P<part>底|末|上旬|中旬|下旬)?")
_QUARTER = re.compile(_YEAR + r"第?(?P<quarter>[1-4])季度?(?:末|底)?")
_HALF = re.compile(_YEAR + r"(?P<half>上|下)半年(?:末|底)?")
_YEAR_END = re.compile(r"(?:(?P<year>\d{4})年(?:底|末|内|度内)|(?:本|今)?年(?:底|末|内|度内)|全年|本年度?)")

_TEN_DAY_PARTS = {"上旬": 10, "中旬": 20}


def parse_deadline(value, *, year: int | None) -> Deadline:
    """Turn a deadline cell into a `Deadline`; `year` stands in when the text names none."""
    if value is None:
        return NO_DEADLINE
    if isinstance(value, dt.datetime):
        return _fixed(value.date())
    if isinstance(value, dt.date):
        return _fixed(value)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _fixed(_from_excel_serial(value))
    text = normalise(str(value))
    if not text:
        return NO_DEADLINE
    if _STANDING.search(text):
        return Deadline(None, True, _cycle_named_in(text), text)
    return Deadline(_read_date(text, year), False, None, text)


def normalise(text: str) -> str:
    """Fold full-width characters and drop all whitespace, as offices type both freely."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))


def _fixed(day: dt.date) -> Deadline:
    return Deadline(day, False, None, day.isoformat())


def _from_excel_serial(serial: int | float | Decimal) -> dt.date:
    if not _FIRST_SERIAL <= serial <= _LAST_SERIAL:
        raise DeadlineError(
            _("完成时限「%(text)s」不是有效的日期序号，请填写日期，如 2026年6月30日。") % {"text": serial}
        )
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


def _cycle_named_in(text: str) -> str | None:
    match = _CYCLE.search(text)
    return _CYCLES[match["unit"] or match["noun"]] if match else None


_BARE_CYCLE = re.compile(r"^(?:一)?(?P<unit>半月|周|月|季)(?:报|一次|1次)?$")


def parse_cycle(value) -> str | None:
    """A 调度频次 cell (每周, 按月, 季度, 半月一次, 月报 …) → a `ReportCycle` value; empty → ``None``."""
    text = normalise(str(value or ""))
    if not text:
        return None
    if match := _BARE_CYCLE.match(text):
        return _CYCLES[match["unit"]]
    if cycle := _cycle_named_in(text):
        return cycle
    raise DeadlineError(
        _("调度频次「%(text)s」无法识别，请填写每周、每半月、每月或每季度。") % {"text": text}
    )


def _read_date(text: str, default_year: int | None) -> dt.date:
    plain = _TRAILING_WORDS.sub("", _LEADING_WORDS.sub("", _arabic_numerals(text)))
    day = _match_date(plain, text, default_year)
    if day is None:
        day = _range_end(plain, text, default_year)
    if day is None:
        raise DeadlineError(
            _(
                "无法识别完成时限「%(text)s」。可填写：2026年6月30日、2026-06-30、2026年6月、"
                "6月底前、7月中旬、三季度末、上半年、年底前、3月至6月，或长期坚持、每月等常态化事项。"
            )
            % {"text": text}
        )
    return day


def _range_end(plain: str, text: str, default_year: int | None) -> dt.date | None:
    """A range such as `2026年3月-6月` ends on its last part's date, in the first part's year."""
    leading_year = _LEADING_YEAR.match(plain)
    year = int(leading_year[1]) if leading_year else default_year
    for separator in reversed(list(_RANGE_SEPARATOR.finditer(plain))):
        end = _TRAILING_WORDS.sub("", plain[separator.end() :])
        day = _match_date(end, text, year)
        if day is not None:
            return day
    return None


def _match_date(plain: str, text: str, default_year: int | None) -> dt.date | None:
    """The date `plain` names, or None when it fits none of the forms."""
    try:
        if match := _NUMERIC_DATE.fullmatch(plain) or _MONTH_DAY.fullmatch(plain):
            year, month = _year(match, text, default_year), int(match["month"])
            return dt.date(year, month, int(match["day"])) if match["day"] else _month_end(year, month)
        if match := _MONTH.fullmatch(plain):
            year, month = _year(match, text, default_year), int(match["month"])
            if match["part"] in _TEN_DAY_PARTS:
                return dt.date(year, month, _TEN_DAY_PARTS[match["part"]])
            return _month_end(year, month)
        if match := _QUARTER.fullmatch(plain):
            return _month_end(_year(match, text, default_year), 3 * int(match["quarter"]))
        if match := _HALF.fullmatch(plain):
            return _month_end(_year(match, text, default_year), 6 if match["half"] == "上" else 12)
        if match := _YEAR_END.fullmatch(plain):
            return dt.date(_year(match, text, default_year), 12, 31)
    except ValueError as error:
        if isinstance(error, DeadlineError):
            raise
        raise DeadlineError(
            _("完成时限「%(text)s」不是有效日期，请核对年、月、日。") % {"text": text}
        ) from error
    return None


def _year(match: re.Match, text: str, default_year: int | None) -> int:
    if match["year"]:
        return int(match["year"])
    if default_year is None:
        raise DeadlineError(
            _("完成时限「%(text)s」没有写年份，台账标题中也没有年份，请写成 2026年6月30日 这样的完整日期。")
            % {"text": text}
        )
    return default_year


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, monthrange(year, month)[1])


def _arabic_numerals(text: str) -> str:
    """`二〇二六年十二月三十一日` → `2026年12月31日`; enough for years, months and days."""
    return _CHINESE_NUMBER.sub(_chinese_number_value, text)


def _chinese_number_value(match: re.Match) -> str:
    numeral = match[0]
    if "十" not in numeral:
        return "".join(str(_CHINESE_DIGITS[character]) for character in numeral)
    tens, _ten, units = numeral.partition("十")
    if "十" in units or len(tens) > 1 or len(units) > 1:
        return numeral
    return str(_CHINESE_DIGITS.get(tens, 1) * 10 + _CHINESE_DIGITS.get(units, 0))
