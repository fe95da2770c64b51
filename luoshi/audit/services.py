"""Writing the audit trail. Every write goes through ``record``."""

from luoshi.audit.context import current
from luoshi.audit.models import AuditAction, AuditEvent


def record(
    *,
    action: str,
    obj=None,
    before: dict | None = None,
    after: dict | None = None,
    success: bool = True,
    user=None,
    username: str = "",
    object_repr: str = "",
) -> AuditEvent:
    context = current.get()
    return AuditEvent.objects.create(
        user_id=user.pk if user is not None else context.user_id,
        username=username or (user.get_username() if user is not None else context.username),
        ip_address=context.ip_address,
        request_id=context.request_id,
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:200],
        before=before,
        after=after,
        success=success,
    )


def record_download(*, obj, user) -> AuditEvent:
    return record(action=AuditAction.DOWNLOAD, obj=obj, user=user)
