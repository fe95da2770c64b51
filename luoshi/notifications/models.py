"""The inbox, each user's e-mail choices, the webhook robots of units and ledgers, and outgoing deliveries.

Everything is written by ``services.notify``; a ``key`` names one happening (an urge, a due report of one
period), so the same happening never makes a second inbox row, e-mail or robot post.
"""

from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from luoshi.core.fields import EncryptedField
from luoshi.core.models import TimeStampedModel, VersionedModel
from luoshi.notifications.querysets import ChannelQuerySet, DeliveryQuerySet, NotificationQuerySet


class Event(models.TextChoices):
    REPORT_DUE = "report_due", _("报送提醒")
    DEADLINE_NEAR = "deadline_near", _("临期提醒")
    OVERDUE = "overdue", _("超期")
    URGED = "urged", _("催办")
    ESCALATED = "escalated", _("督办升级")
    ORDER_ISSUED = "order_issued", _("督办单")
    ORDER_REPLIED = "order_replied", _("督办单回复")
    INSTRUCTION = "instruction", _("领导批示")
    INSTRUCTION_ACKNOWLEDGED = "instruction_acknowledged", _("批示已阅")
    INSPECTION_PROBLEM = "inspection_problem", _("督查发现问题")
    DIGEST = "digest", _("工作摘要")
    EXPORT_READY = "export_ready", _("导出完成")
    DELIVERY_FAILED = "delivery_failed", _("投递失败")


# Without a Preference row: e-mail only for what asks the reader to act or is addressed to them in person.
EMAIL_BY_DEFAULT = frozenset(
    {Event.URGED, Event.ESCALATED, Event.ORDER_ISSUED, Event.INSTRUCTION, Event.DIGEST}
)


def validate_site_path(value: str) -> None:
    """A link inside this site: "/ledgers/items/1/", never another host ("//evil", "https://…")."""
    if value and (not value.startswith("/") or value.startswith("//") or "\\" in value):
        raise ValidationError(_("链接必须是本站以“/”开头的路径，不能指向其他网站。"), code="external_url")


class Notification(models.Model):
    """One message in one user's inbox."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="+"
    )
    event = models.CharField(_("类型"), max_length=30, choices=Event.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=500, blank=True, validators=[validate_site_path])
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        constraints = [models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_key")]
        indexes = [
            # The inbox (unread first) and the header's unread count.
            models.Index("recipient", "read_at", models.F("created_at").desc(), name="notification_inbox"),
            models.Index("recipient", "event", models.F("created_at").desc(), name="notification_event"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Preference(models.Model):
    """Whether ``user`` also gets ``event`` by e-mail; the inbox always gets it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=30, choices=Event.choices)
    email = models.BooleanField(_("邮件"))

    class Meta:
        verbose_name = _("通知设置")
        verbose_name_plural = _("通知设置")
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="preference_unique")]

    def __str__(self):
        return f"{self.user_id} {self.event} {self.email}"


class ChannelKind(models.TextChoices):
    DINGTALK = "dingtalk", _("钉钉机器人")
    WECOM = "wecom", _("企业微信机器人")
    FEISHU = "feishu", _("飞书机器人")


# The query parameter that carries the robot's token; its absence means a copied URL lost it.
TOKEN_PARAMETER = {ChannelKind.DINGTALK: "access_token", ChannelKind.WECOM: "key"}


class Channel(VersionedModel):
    """A group robot that gets a unit's or a ledger's notifications (exactly one of the two)."""

    kind = models.CharField(_("类型"), max_length=20, choices=ChannelKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    # The URL carries the robot's access token, so it is kept encrypted like the secret.
    webhook_url = EncryptedField(_("Webhook 地址"), max_length=1000)
    secret = EncryptedField(
        _("加签密钥"),
        max_length=200,
        blank=True,
        help_text=_("钉钉“加签”可选，飞书“签名校验”必填，企业微信不使用。"),
    )
    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("单位"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    ledger = models.ForeignKey(
        "ledgers.Ledger",
        verbose_name=_("台账"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    events = models.JSONField(
        _("推送的消息类型"), default=list, blank=True, help_text=_("不选则推送全部类型。")
    )
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ChannelQuerySet.as_manager()

    class Meta:
        verbose_name = _("推送渠道")
        verbose_name_plural = _("推送渠道")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(organisation__isnull=False, ledger__isnull=True)
                | Q(organisation__isnull=True, ledger__isnull=False),
                name="channel_one_scope",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "is_active"], name="channel_org_active"),
            models.Index(fields=["ledger", "is_active"], name="channel_ledger_active"),
        ]

    def __str__(self):
        return self.name

    @property
    def scope(self):
        return self.organisation or self.ledger

    @property
    def host(self) -> str:
        """Where the robot lives, without the token (what lists show)."""
        return urlsplit(self.webhook_url).netloc

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events

    def clean(self):
        errors = {}
        if (self.organisation_id is None) == (self.ledger_id is None):
            errors["__all__"] = _("请选择单位或台账中的一个（只能选一个）。")
        parts = urlsplit(self.webhook_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors["webhook_url"] = _("Webhook 地址必须是以 http:// 或 https:// 开头的完整网址。")
        elif self.kind in TOKEN_PARAMETER and not parse_qs(parts.query).get(TOKEN_PARAMETER[self.kind]):
            errors["webhook_url"] = _("Webhook 地址缺少 %(name)s 参数，请从机器人设置中完整复制。") % {
                "name": TOKEN_PARAMETER[self.kind]
            }
        if self.kind == ChannelKind.FEISHU and not self.secret:
            errors["secret"] = _("飞书机器人需要填写“签名校验”密钥。")
        if self.kind == ChannelKind.WECOM and self.secret:
            errors["secret"] = _("企业微信群机器人不使用加签密钥，请留空。")
        unknown = set(self.events or ()) - set(Event.values)
        if unknown:
            errors["events"] = _("未知的消息类型：%(events)s。") % {"events": "、".join(sorted(unknown))}
        if errors:
            raise ValidationError(errors)


class DeliveryKind(models.TextChoices):
    EMAIL = "email", _("邮件")
    DINGTALK = ChannelKind.DINGTALK.value, ChannelKind.DINGTALK.label
    WECOM = ChannelKind.WECOM.value, ChannelKind.WECOM.label
    FEISHU = ChannelKind.FEISHU.value, ChannelKind.FEISHU.label


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("失败待重试")
    DEAD = "dead", _("已放弃")


class Delivery(TimeStampedModel):
    """One outgoing e-mail or robot post, retried with back-off until it is sent or given up (dead)."""

    kind = models.CharField(_("渠道类型"), max_length=20, choices=DeliveryKind.choices)
    channel = models.ForeignKey(
        Channel, verbose_name=_("推送渠道"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    address = models.EmailField(_("邮箱"), blank=True)
    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    key = models.CharField(max_length=200)
    event = models.CharField(_("类型"), max_length=30, choices=Event.choices)
    title = models.CharField(_("标题"), max_length=200)
    text = models.TextField(_("内容摘要"), blank=True)
    url = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), default=timezone.now)
    last_error = models.TextField(_("最近错误"), blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("投递")
        verbose_name_plural = _("投递")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "channel"],
                condition=Q(channel__isnull=False),
                name="delivery_once_per_channel",
            ),
            models.UniqueConstraint(
                fields=["key", "address"], condition=Q(channel__isnull=True), name="delivery_once_per_address"
            ),
            models.CheckConstraint(
                condition=Q(channel__isnull=False, address="") | Q(channel__isnull=True, kind="email"),
                name="delivery_channel_or_address",
            ),
        ]
        indexes = [
            # The retry job (due pending/failed rows) and the dead-letter list.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.title}"

    @property
    def target(self) -> str:
        return self.address if self.channel_id is None else str(self.channel)
