"""Reads of the audit trail, for the audit admin only."""

import json

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from luoshi.audit.models import AuditAction, AuditEvent

EXPORT_HEADER = (
    _("序号"),
    _("时间"),
    _("账号"),
    _("来源地址"),
    _("操作"),
    _("对象类型"),
    _("对象编号"),
    _("对象名称"),
    _("修改前"),
    _("修改后"),
    _("成功"),
    _("请求编号"),
)
EXPORT_CHUNK = 2000


def event_list():
    # Everything shown is stored on the event itself (username, object repr): no joins, no per-row queries.
    return AuditEvent.objects.order_by("-created_at", "-id")


def object_type_choices() -> list[tuple[str, str]]:
    """The project's models as (label, verbose name): the values ``AuditEvent.object_type`` takes.

    Built from the app registry, not a DISTINCT over millions of audit rows.
    """
    choices = [
        (model._meta.label, f"{model._meta.verbose_name}（{model._meta.label}）")
        for model in apps.get_models()
        if model.__module__.startswith("luoshi.") and model is not AuditEvent
    ]
    return sorted(choices)


def object_type_labels() -> dict[str, str]:
    return {model._meta.label: str(model._meta.verbose_name) for model in apps.get_models()}


def _json_text(data) -> str:
    return "" if data is None else json.dumps(data, ensure_ascii=False, sort_keys=True)


def export_rows(events):
    """``events`` as export rows (``EXPORT_HEADER``), read in chunks: memory stays flat for any size."""
    actions = dict(AuditAction.choices)
    types = object_type_labels()
    fields = (
        "sequence",
        "created_at",
        "username",
        "ip_address",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "before",
        "after",
        "success",
        "request_id",
    )
    for row in events.values_list(*fields).iterator(chunk_size=EXPORT_CHUNK):
        sequence, created_at, username, ip, action, object_type, object_id, name, before, after, ok, rid = row
        yield (
            sequence,
            created_at,
            username,
            ip,
            actions.get(action, action),
            types.get(object_type, object_type),
            object_id,
            name,
            _json_text(before),
            _json_text(after),
            ok,
            rid,
        )
