"""``{% submission_token %}``: put it next to ``{% csrf_token %}`` in every form that creates or acts."""

import secrets

from django import template
from django.utils.html import format_html

from luoshi.core.idempotency import FORM_FIELD

register = template.Library()


@register.simple_tag
def submission_token():
    """A new one-time key per rendering of the form (``luoshi.core.idempotency``)."""
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_FIELD, secrets.token_urlsafe(24))
