import ipaddress
import uuid

from django.conf import settings

from luoshi.audit.context import AuditContext, current


def client_ip(request) -> str | None:
    """The address the request came from, for the audit trail and the session list.

    Behind the office's reverse proxies (``settings.TRUSTED_PROXIES``) that is the nearest
    ``X-Forwarded-For`` hop that is not one of them; anything further left was written by the client
    and proves nothing. Without trusted proxies the header is ignored.
    """
    address = request.META.get("REMOTE_ADDR") or None
    if address not in settings.TRUSTED_PROXIES:
        return address
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(hops):
        if hop and hop not in settings.TRUSTED_PROXIES:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address  # a garbled header: keep the proxy's own address
    return address


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        authenticated = bool(user and user.is_authenticated)
        token = current.set(
            AuditContext(
                user_id=user.pk if authenticated else None,
                username=user.get_username() if authenticated else "",
                ip_address=client_ip(request),
                request_id=uuid.uuid4().hex,
            )
        )
        try:
            return self.get_response(request)
        finally:
            current.reset(token)
