"""The item page's supervision section: ledgers may not import supervision, so its template loads this."""

from django import template

from luoshi.ledgers.permissions import supervises_ledger
from luoshi.supervision.selectors import item_orders

register = template.Library()


@register.simple_tag(takes_context=True)
def item_supervision(context, item) -> dict:
    """The orders about ``item`` the reader sees (one query), and whether they may issue orders and
    see the interview and accountability records (the supervisors of the item's ledger office)."""
    user = context["request"].user
    return {"orders": item_orders(item, user), "supervises": supervises_ledger(user, item.ledger)}
