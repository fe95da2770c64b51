import uuid

from luoshi.audit.context import AuditContext, current


def client_ip(request) -> str | None:
    # Behind the load balancer the proxy sets REMOTE_ADDR via its trusted header handling (see README).
    return request.META.get("REMOTE_ADDR") or None


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
