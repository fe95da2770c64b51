"""The supervision order (督办单) as an official document, .docx.

``order_context(order, red_header=…)`` reads the order, its items and the leaders it is copied to in
a fixed number of queries; ``render_order(context, stream)`` fills the template with
``luoshi.core.documents.render_docx`` (autoescaped).

The template is ``settings.SUPERVISION_ORDER_TEMPLATE`` (``LUOSHI_ORDER_TEMPLATE``), by default
``docx/order.docx``, built by ``scripts/make_briefing_template.py`` in the GB/T 9704-2012 layout. An
office may replace it with its own .docx using the same context:

- ``office``, ``red_header`` (bool), ``number`` (督〔2026〕15号), ``kind`` (督办单, 督查单 …),
  ``level`` (一般督办, 重点督办, 挂牌督办), ``title`` (the subject), ``addressee`` (the unit);
- ``intro``: one paragraph; ``entries``: the items, each with ``number`` (1, 2 …), ``title``,
  ``lead_leader``, ``deadline`` (or 长期坚持) and ``status``;
- ``content``: the requirements as a list of paragraphs; ``reply_deadline`` and ``reply_note``;
- ``signature`` and ``date``: the office's name and the issue date, padded for right alignment;
- ``copy_to``: the leaders it is copied to, joined with 、 (empty: no 抄送 line).
"""

from pathlib import Path

from django.conf import settings
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from luoshi.core.documents import clean, closing_lines, format_date, paragraphs, render_docx
from luoshi.ledgers.models import Item
from luoshi.orgs.models import User

DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "docx" / "order.docx"


def _deadline(item) -> str:
    if item.is_standing:
        return _("长期坚持")
    return format_date(item.deadline) if item.deadline else "—"


def order_context(order, *, red_header: bool = False) -> dict:
    """The template's context for ``order`` (loaded by the caller through its scoped selector)."""
    order = (
        type(order)
        .objects.select_related("office", "organisation")
        .prefetch_related(
            Prefetch("items", queryset=Item.objects.select_related("lead_leader").order_by("pk")),
            Prefetch("copy_to", queryset=User.objects.order_by("pk")),
        )
        .get(pk=order.pk)
    )
    items = list(order.items.all())
    office = clean(order.office.name)
    level = order.get_level_display()
    deadline = format_date(order.reply_deadline)
    signature, date = closing_lines(office, format_date(order.issued_on))
    return {
        "office": office,
        "red_header": red_header,
        "number": order.number,
        "kind": str(order.get_kind_display()),
        "level": str(level),
        "title": clean(order.subject),
        "addressee": clean(order.organisation.name),
        "intro": _("现将你单位承担的以下%(count)d项工作列为%(level)s事项，请高度重视，认真抓好落实。")
        % {"count": len(items), "level": level},
        "entries": [
            {
                "number": index,
                "title": clean(item.title),
                "lead_leader": clean(str(item.lead_leader)) if item.lead_leader else "—",
                "deadline": _deadline(item),
                "status": str(item.get_status_display()),
            }
            for index, item in enumerate(items, 1)
        ],
        "content": paragraphs(order.content),
        "reply_deadline": deadline,
        "reply_note": _("请于%(deadline)s前将办理情况及佐证材料书面回复%(office)s。")
        % {"deadline": deadline, "office": office},
        "signature": signature,
        "date": date,
        "copy_to": "、".join(clean(str(leader)) for leader in order.copy_to.all()),
    }


def template_path() -> Path:
    return Path(getattr(settings, "SUPERVISION_ORDER_TEMPLATE", None) or DEFAULT_TEMPLATE)


def render_order(context: dict, stream, template=None) -> None:
    """Render ``context`` into the order template (``template`` if given) and write the .docx to ``stream``."""
    render_docx(template or template_path(), context, stream)
