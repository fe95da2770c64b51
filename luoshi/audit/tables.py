import json

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from luoshi.audit import selectors
from luoshi.audit.models import AuditEvent


def _summary(data) -> str:
    if not data:
        return ""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 300 else text[:300] + "…"


class AuditEventTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name=_("时间"), format="Y-m-d H:i:s")
    username = tables.Column(verbose_name=_("账号"), orderable=False)
    action = tables.Column(verbose_name=_("操作"), orderable=False)
    object_type = tables.Column(verbose_name=_("对象类型"), orderable=False)
    object_repr = tables.Column(verbose_name=_("对象"), orderable=False)
    changes = tables.Column(verbose_name=_("变更内容"), accessor="pk", orderable=False)
    ip_address = tables.Column(verbose_name=_("来源地址"), orderable=False)
    success = tables.BooleanColumn(verbose_name=_("成功"), orderable=False)

    class Meta:
        model = AuditEvent
        fields = ("created_at", "username", "action", "object_type", "object_repr", "ip_address", "success")
        sequence = (
            "created_at",
            "username",
            "action",
            "object_type",
            "object_repr",
            "changes",
            "ip_address",
            "success",
        )
        orderable = False
        attrs = {"class": "table table-vcenter card-table table-sm"}
        empty_text = _("没有符合条件的审计记录。")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.type_labels = selectors.object_type_labels()

    def render_object_type(self, value):
        return self.type_labels.get(value, value)

    def render_object_repr(self, value, record):
        return format_html('{} <span class="text-secondary">#{}</span>', value, record.object_id)

    def render_changes(self, value, record):
        before, after = _summary(record.before), _summary(record.after)
        if not before and not after:
            return "—"
        return format_html(
            '<div class="small text-break"><div class="text-secondary">{}</div><div>{}</div></div>',
            before,
            after,
        )
