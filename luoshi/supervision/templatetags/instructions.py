"""Leaders' instructions on the pages of other modules: ``{% load instructions %}``.

The ledgers templates (item detail, report form) and the orders page show 写批示 and 本期需落实的批示
through these tags, so ledgers' Python never imports supervision.
"""

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from luoshi.ledgers.permissions import reporting_unit
from luoshi.supervision import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def may_write_instruction(context, item) -> bool:
    request = context.get("request")
    return request is not None and item is not None and selectors.may_write_instruction(request.user, item)


@register.simple_tag
def instruction_create_url(item, report=None, order=None) -> str:
    url = reverse("supervision:instruction_create", args=[item.pk])
    query = {name: obj.pk for name, obj in (("report", report), ("order", order)) if obj}
    return f"{url}?{urlencode(query)}" if query else url


@register.inclusion_tag("supervision/instructions_to_answer.html", takes_context=True)
def instructions_to_answer(context, item):
    """本期需落实的批示: the open instructions the user's unit answers with its report on ``item``."""
    request = context.get("request")
    unit = reporting_unit(request.user, item) if request is not None else None
    return {"instructions": selectors.instructions_to_answer(item, unit)}
