"""The progress briefing (工作进展情况通报): items by warning colour with their latest reports, as .docx.

``briefing_context(items, title=…, office=…, as_of=…)`` reads the items (a queryset the caller has
already scoped and filtered) in a fixed number of queries and returns the template's context;
``render_briefing(context, stream)`` renders it into a .docx with docxtpl.

The template is ``settings.EXCHANGE_BRIEFING_TEMPLATE`` (``LUOSHI_BRIEFING_TEMPLATE``), by default
``docx/briefing.docx``, built by ``scripts/make_briefing_template.py`` in the layout of GB/T
9704-2012. An office may replace it with its own .docx using the same context:

- ``title``, ``office``, ``number`` (发文字号, may be empty), ``red_header`` (bool), ``as_of``,
  ``total`` (the number of items);
- ``summary``: one paragraph with the counts and the completion rate;
- ``sections``: one per warning colour that has items, in the order of ``SECTIONS``, each with
  ``number`` (一、), ``name``, ``count`` and ``entries`` (not ``items``: Jinja would find
  the dict's method); an entry has ``number`` (（一）), ``title``,
  ``lead_org``, ``co_orgs`` (joined with 、), ``lead_leader``, ``deadline`` (or 长期坚持), ``percent``,
  ``report_note`` (who reported when), and ``progress``, ``problems``, ``next_steps`` as lists of
  paragraphs (``progress`` is never empty);
- ``signature`` and ``date``: the office's name and the date, padded for right alignment.

Dates, paragraphs, the closing lines and the autoescaped render are ``luoshi.core.documents``'s,
shared with the other official documents.
"""

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.db.models import Case, F, IntegerField, Prefetch, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from luoshi.core.documents import clean, closing_lines, format_date, paragraphs, render_docx
from luoshi.core.text import chinese_numeral
from luoshi.ledgers.models import ItemStatus, ProgressReport, ReportStatus, WarningColor

DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "docx" / "briefing.docx"

SECTIONS = (
    (WarningColor.RED, gettext_lazy("红色预警事项")),
    (WarningColor.YELLOW, gettext_lazy("黄色预警事项")),
    (WarningColor.GREEN, gettext_lazy("正常推进事项")),
    (WarningColor.NOT_STARTED, gettext_lazy("尚未启动事项")),
    (WarningColor.DONE, gettext_lazy("已完成事项")),
    (WarningColor.SUSPENDED, gettext_lazy("已中止事项")),
)
# Reports that count as the item's progress: submitted ones, whether reviewed yet or not.
REPORTED = (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)


def latest_reports() -> Prefetch:
    """Each item's latest submitted or accepted report in ``item.latest_reports`` (a list of at most one).

    One query for all items: a sliced prefetch, which Django runs as ROW_NUMBER() over each item's
    reports (SQLite and PostgreSQL alike). Latest means the latest period; within a period the lead
    unit's report comes before a co-unit's, then the later submission. A report is visible exactly
    when its item is (``ledgers/querysets.py``), so the items' scope is the reports' scope.
    """
    reports = (
        ProgressReport.objects.filter(status__in=REPORTED)
        .select_related("organisation")
        .annotate(
            by_co_unit=Case(
                When(organisation_id=F("item__lead_org_id"), then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("-period_end", "by_co_unit", "-submitted_at", "-id")
    )
    return Prefetch("reports", queryset=reports[:1], to_attr="latest_reports")


def briefing_items(items):
    """``items`` without drafts (not yet issued, so not the briefing's business), loaded for it."""
    return (
        items.exclude(status=ItemStatus.DRAFT)
        .select_related("lead_org", "lead_leader")
        .prefetch_related("co_orgs", latest_reports())
        .order_by("ledger_id", "sort_order", "id")
    )


def briefing_context(
    items, *, title: str, office: str, as_of: dt.date, number: str = "", red_header: bool = False
) -> dict:
    """The template's context for ``items`` (a queryset, scoped by the caller) as of the day ``as_of``."""
    by_color = {color: [] for color, _name in SECTIONS}
    for item in briefing_items(items):
        by_color[item.warning_color].append(item)
    counts = {color: len(rows) for color, rows in by_color.items()}
    sections = []
    for color, name in SECTIONS:
        rows = by_color[color]
        if not rows:
            continue
        sections.append(
            {
                "number": f"{chinese_numeral(len(sections) + 1)}、",
                "name": str(name),
                "count": len(rows),
                "entries": [_item_context(item, index) for index, item in enumerate(rows, 1)],
            }
        )
    date = format_date(as_of)
    signature, date_line = closing_lines(clean(office), date)
    return {
        "title": clean(title),
        "office": clean(office),
        "number": clean(number),
        "red_header": red_header,
        "as_of": date,
        "total": sum(counts.values()),
        "summary": summary(counts, date),
        "sections": sections,
        "signature": signature,
        "date": date_line,
    }


def summary(counts: dict, date: str) -> str:
    total = sum(counts.values())
    done = counts[WarningColor.DONE]
    text = _(
        "截至%(date)s，共有事项%(total)d项，其中已完成%(done)d项，红色预警%(red)d项，"
        "黄色预警%(yellow)d项，正常推进%(green)d项"
    ) % {
        "date": date,
        "total": total,
        "done": done,
        "red": counts[WarningColor.RED],
        "yellow": counts[WarningColor.YELLOW],
        "green": counts[WarningColor.GREEN],
    }
    if counts[WarningColor.NOT_STARTED]:
        text += _("，尚未启动%(count)d项") % {"count": counts[WarningColor.NOT_STARTED]}
    if counts[WarningColor.SUSPENDED]:
        text += _("，已中止%(count)d项") % {"count": counts[WarningColor.SUSPENDED]}
    return text + _("，完成率%(rate)s%%。") % {"rate": completion_rate(done, total)}


def completion_rate(done: int, total: int) -> str:
    """``done`` of ``total`` in per cent with one decimal, without a trailing .0: 16.7, 20, 0."""
    if not total:
        return "0"
    return f"{done * 100 / total:.1f}".removesuffix(".0")


def _item_context(item, index: int) -> dict:
    report = item.latest_reports[0] if item.latest_reports else None
    return {
        "number": f"（{chinese_numeral(index)}）",
        "title": clean(item.title),
        "lead_org": clean(str(item.lead_org)),
        "co_orgs": "、".join(clean(str(org)) for org in item.co_orgs.all()),
        "lead_leader": clean(str(item.lead_leader)) if item.lead_leader else "",
        "deadline": format_date(item.deadline) if item.deadline and not item.is_standing else _("长期坚持"),
        "percent": item.percent_complete,
        "report_note": _report_note(item, report),
        "progress": paragraphs(report.text) if report else [_("暂未报送进展。")],
        "problems": paragraphs(report.problems) if report else [],
        "next_steps": paragraphs(report.next_steps) if report else [],
    }


def _report_note(item, report) -> str:
    """（2026年11月20日报送）, naming the unit when a co-unit's report is the latest."""
    if report is None or report.submitted_at is None:
        return ""
    day = format_date(timezone.localdate(report.submitted_at))
    if report.organisation_id == item.lead_org_id:
        return _("（%(date)s报送）") % {"date": day}
    return _("（%(unit)s%(date)s报送）") % {"unit": clean(str(report.organisation)), "date": day}


def template_path() -> Path:
    return Path(getattr(settings, "EXCHANGE_BRIEFING_TEMPLATE", None) or DEFAULT_TEMPLATE)


def render_briefing(context: dict, stream, template=None) -> None:
    """Render ``context`` into the briefing template (``template`` if given) and write the .docx to ``stream``."""
    render_docx(template or template_path(), context, stream)
