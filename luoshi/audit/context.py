"""Who is acting, from where: set per request by the middleware, read by the audit receivers."""

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditContext:
    user_id: int | None = None
    username: str = ""
    ip_address: str | None = None
    request_id: str = ""


current = contextvars.ContextVar("luoshi_audit_context", default=AuditContext())  # noqa: B039 (frozen)
