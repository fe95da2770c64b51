import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from luoshi.notifications.models import Channel, Delivery, DeliveryStatus, Notification
from luoshi.orgs.tables import active_badge

STATUS_BADGES = {
    DeliveryStatus.PENDING: "bg-blue-lt",
    DeliveryStatus.SENT: "bg-green-lt",
    DeliveryStatus.FAILED: "bg-yellow-lt",
    DeliveryStatus.DEAD: "bg-red-lt",
}


class InboxTable(tables.Table):
    title = tables.Column(verbose_name=_("消息"), orderable=False)
    event = tables.Column(verbose_name=_("类型"), orderable=False)
    created_at = tables.DateTimeColumn(verbose_name=_("时间"), format="Y-m-d H:i", orderable=False)
    actions = tables.TemplateColumn(
        template_name="notifications/_mark_read_button.html", verbose_name="", accessor="pk", orderable=False
    )

    class Meta:
        model = Notification
        fields = ("title", "event", "created_at")
        orderable = False
        attrs = {"class": "table table-vcenter card-table"}
        row_attrs = {"data-unread": lambda record: "1" if record.read_at is None else "0"}
        empty_text = _("没有消息。")

    def render_title(self, value, record):
        body = (
            format_html('<div class="text-secondary small">{}</div>', record.body[:120])
            if record.body
            else ""
        )
        label = format_html("<strong>{}</strong>", value) if record.read_at is None else value
        if record.url:
            label = format_html('<a href="{}">{}</a>', record.url, label)
        return format_html("{}{}", label, body)


class ChannelTable(tables.Table):
    name = tables.Column(verbose_name=_("名称"))
    kind = tables.Column(verbose_name=_("类型"))
    scope = tables.Column(verbose_name=_("单位/台账"), accessor="pk", orderable=False)
    host = tables.Column(verbose_name=_("地址"), accessor="pk", orderable=False)
    is_active = tables.Column(verbose_name=_("状态"))

    class Meta:
        model = Channel
        fields = ("name", "kind", "scope", "host", "is_active")
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("还没有推送渠道。")

    def render_name(self, value, record):
        return format_html(
            '<a href="{}">{}</a>', reverse("notifications:channel_edit", args=[record.pk]), value
        )

    def render_scope(self, record):
        return str(record.scope)

    def render_host(self, record):
        return record.host

    def render_is_active(self, value):
        return active_badge(value)


class DeliveryTable(tables.Table):
    title = tables.Column(verbose_name=_("消息"), orderable=False)
    kind = tables.Column(verbose_name=_("渠道"), orderable=False)
    target = tables.Column(verbose_name=_("发往"), accessor="pk", orderable=False)
    status = tables.Column(verbose_name=_("状态"), orderable=False)
    attempts = tables.Column(verbose_name=_("尝试次数"), orderable=False)
    last_error = tables.Column(verbose_name=_("最近错误"), orderable=False)
    next_attempt_at = tables.DateTimeColumn(verbose_name=_("下次尝试"), format="Y-m-d H:i", orderable=False)
    actions = tables.TemplateColumn(
        template_name="notifications/_retry_button.html", verbose_name="", accessor="pk", orderable=False
    )

    class Meta:
        model = Delivery
        fields = ("title", "kind", "target", "status", "attempts", "last_error", "next_attempt_at")
        orderable = False
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("没有失败的投递。")

    def render_target(self, record):
        return record.target

    def render_status(self, value, record):
        return format_html('<span class="badge {}">{}</span>', STATUS_BADGES[record.status], value)

    def render_next_attempt_at(self, value, record):
        return (
            "—"
            if record.status == DeliveryStatus.DEAD
            else timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        )
