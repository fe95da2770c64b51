import segno
from django import template
from django.utils.safestring import mark_safe

from luoshi.twofactor import oidc

register = template.Library()


@register.filter
def qr_svg(text: str) -> str:
    """``text`` as a QR code in inline SVG: no image request, no data: URI, no script."""
    # segno writes only its own path data and the escaped title; the secret never leaves the page.
    return mark_safe(segno.make(text, error="m").svg_inline(scale=5, dark="#000", light="#fff"))  # nosec B308 B703 # SVG made by segno, the text escaped


@register.simple_tag
def oidc_sign_in_enabled() -> bool:
    return oidc.enabled()
