"""The ranking notice (排名通报) of a run as an official document (.docx), and its workbook (.xlsx).

``notice_context(run, number=…, red_header=…)`` reads the run's ranking in a fixed number of queries;
``render_notice(context, stream)`` fills the template with ``luoshi.core.documents.render_docx``.

The template is ``settings.ASSESSMENT_NOTICE_TEMPLATE`` (``LUOSHI_NOTICE_TEMPLATE``), by default
``docx/notice.docx``, built by ``scripts/make_briefing_template.py`` in the GB/T 9704-2012 layout. An
office may replace it with its own .docx using the same context:

- ``office``, ``red_header`` (bool), ``number`` (the document number, may be empty), ``title``,
  ``draft`` (公示稿/草稿 for a run not published, else empty), ``addressee``, ``intro``;
- ``groups``: each with ``heading`` (一、区直部门), ``rows`` (``rank``, ``unit``, ``basic``, ``bonus``,
  ``deduction``, ``total``, ``grade``, ``movement``: ↑2, ↓1, — or 新), ``red_list`` and ``black_list``
  (units joined with 、; empty when the scheme keeps none);
- ``closing``: one paragraph; ``signature`` and ``date``.

The numbers are the stored ones, formatted with two decimals, so the notice reads as the screen does.
"""

from decimal import Decimal
from pathlib import Path

import xlsxwriter
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.assessment.models import IndicatorScore, ScoreRun, UnitScore
from luoshi.assessment.selectors import flattened_tree, ranking
from luoshi.core.documents import clean, closing_lines, format_date, render_docx
from luoshi.core.export import safe_cell

CHINESE_NUMERALS = "一二三四五六七八九十"


def points(value: Decimal) -> str:
    return f"{value:.2f}"


def movement(score: UnitScore) -> str:
    change = score.movement
    if change is None:
        return _("新")
    if change == 0:
        return "—"
    return f"↑{change}" if change > 0 else f"↓{-change}"


def _status_mark(run: ScoreRun) -> str:
    period = run.period
    if period.published_run_id == run.pk:
        return ""
    if period.publicised_run_id == run.pk:
        return _("（公示稿）")
    return _("（草稿）")


def notice_context(run: ScoreRun, *, number: str = "", red_header: bool = False) -> dict:
    period, scheme = run.period, run.period.scheme
    office = clean(scheme.office.name)
    groups = ranking(run)
    day = (
        timezone.localtime(period.published_at).date()
        if period.published_run_id == run.pk
        else timezone.localdate()
    )
    signature, date = closing_lines(office, format_date(day))
    units = sum(len(entry.scores) for entry in groups)
    return {
        "office": office,
        "red_header": red_header,
        "number": clean(number),
        "title": _("关于%(period)s%(scheme)s结果的通报")
        % {"period": clean(period.name), "scheme": clean(scheme.name)},
        "draft": _status_mark(run),
        "addressee": _("各参加考核单位："),
        "intro": _(
            "根据《%(scheme)s》，%(office)s对%(units)d个单位%(period)s工作情况进行了考核（数据截至%(as_of)s，"
            "第%(number)d版计分），现将结果通报如下。"
        )
        % {
            "scheme": clean(scheme.name),
            "office": office,
            "units": units,
            "period": clean(period.name),
            "as_of": format_date(run.as_of),
            "number": run.number,
        },
        "groups": [
            {
                "heading": f"{CHINESE_NUMERALS[index] if index < 10 else index + 1}、{clean(entry.group.name)}",
                "rows": [
                    {
                        "rank": score.rank,
                        "unit": clean(str(score.organisation)),
                        "basic": points(score.basic),
                        "bonus": points(score.bonus),
                        "deduction": points(score.deduction),
                        "total": points(score.total) + (_("（否决）") if score.vetoed else ""),
                        "grade": str(score.get_grade_display()),
                        "movement": movement(score),
                    }
                    for score in entry.scores
                ],
                "red_list": "、".join(clean(str(score.organisation)) for score in entry.red_list),
                "black_list": "、".join(clean(str(score.organisation)) for score in entry.black_list),
            }
            for index, entry in enumerate(groups)
        ],
        "closing": _(
            "希望排名靠前的单位再接再厉，排名靠后的单位认真查找差距、制定整改措施，确保各项工作落到实处。"
        ),
        "signature": signature,
        "date": date,
    }


def template_path() -> Path:
    return Path(settings.ASSESSMENT_NOTICE_TEMPLATE)


def render_notice(context: dict, stream, template=None) -> None:
    render_docx(template or template_path(), context, stream)


def ranking_workbook(run: ScoreRun, stream) -> None:
    """The ranking (one sheet per group) and every indicator's points per unit (one sheet), written row
    by row (``constant_memory``): a province's 5,000 units × 100 indicators stay within bounded memory.
    Text goes through ``safe_cell`` and is written as text, so nothing in it runs as a formula."""
    workbook = xlsxwriter.Workbook(stream, {"constant_memory": True})
    bold = workbook.add_format({"bold": True})
    headers = [
        _("排名"),
        _("单位"),
        _("基础得分"),
        _("加分"),
        _("扣分"),
        _("总分"),
        _("等次"),
        _("较上期"),
        _("一票否决"),
    ]
    groups = ranking(run)
    for index, entry in enumerate(groups):
        sheet = workbook.add_worksheet(_sheet_name(entry.group.name, index))
        sheet.write_row(0, 0, headers, bold)
        for row, score in enumerate(entry.scores, start=1):
            sheet.write_number(row, 0, score.rank)
            sheet.write_string(row, 1, str(safe_cell(str(score.organisation))))
            for column, value in enumerate((score.basic, score.bonus, score.deduction, score.total), start=2):
                sheet.write_number(row, column, float(value))
            sheet.write_string(row, 6, str(score.get_grade_display()))
            sheet.write_string(row, 7, movement(score))
            sheet.write_string(row, 8, _("是") if score.vetoed else "")
    detail = workbook.add_worksheet(_("指标得分"))
    indicators = flattened_tree(run.period.scheme)
    detail.write_row(0, 0, [_("分组"), _("单位"), *(str(safe_cell(str(i))) for i in indicators)], bold)
    column = {indicator.pk: position for position, indicator in enumerate(indicators, start=2)}
    units = {score.organisation_id: (entry.group.name, score) for entry in groups for score in entry.scores}
    row, current, values = 0, None, {}

    def flush():
        group, score = units[current]
        detail.write_string(row, 0, str(safe_cell(group)))
        detail.write_string(row, 1, str(safe_cell(str(score.organisation))))
        for indicator, value in values.items():
            if indicator in column:
                detail.write_number(row, column[indicator], float(value))

    for unit, indicator, value in (
        IndicatorScore.objects.filter(run=run)
        .order_by("organisation_id")
        .values_list("organisation_id", "indicator_id", "points")
        .iterator(chunk_size=20000)
    ):
        if unit != current:
            if current is not None:
                flush()
            row, current, values = row + 1, unit, {}
        values[indicator] = value
    if current is not None:
        flush()
    workbook.close()


def _sheet_name(name: str, index: int) -> str:
    # Excel: at most 31 characters, none of []:*?/\ .
    cleaned = "".join(char for char in name if char not in "[]:*?/\\")[:28]
    return f"{index + 1}{cleaned}" if cleaned else str(index + 1)
