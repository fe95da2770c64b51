from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# 等保 2.0 §8.1.4.3: keep the trail at least six months; 184 days covers the longest six months.
RETENTION_DAYS = 184


class AuditAction(models.TextChoices):
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    DOWNLOAD = "download", _("下载")
    EXPORT = "export", _("导出")
    IMPORT = "import", _("导入")
    PERMISSION = "permission", _("权限变更")
    PERSONAL_DATA = "personal_data", _("查看个人信息")
    SESSION = "session", _("会话管理")
    VIEW = "view", _("查阅审计日志")
    ARCHIVE = "archive", _("归档审计日志")
    VERIFY = "verify", _("校验审计日志")


class AppendOnlyError(Exception):
    pass


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit events cannot be deleted")


class AuditEvent(models.Model):
    """One line of the append-only audit trail, a link of a keyed hash chain (see ``audit/chain.py``).

    ``mac`` = HMAC-SM3(key ``mac_key``, the previous row's mac ‖ this row's canonical form), so a row
    altered, removed, inserted or moved by SQL breaks the chain at that row.
    """

    sequence = models.PositiveBigIntegerField(_("序号"), unique=True)
    # Set by ``record`` under the chain lock (not auto_now_add) so that it is part of the MAC.
    created_at = models.DateTimeField(_("时间"), default=timezone.now, editable=False, db_index=True)
    # No database constraint and no cascade: the trail must outlive (and never be rewritten by) user changes.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    username = models.CharField(_("账号"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("来源地址"), null=True)
    request_id = models.CharField(max_length=32, blank=True)
    action = models.CharField(_("操作"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    object_id = models.CharField(_("对象"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象名称"), max_length=200, blank=True)
    before = models.JSONField(_("修改前"), null=True, blank=True)
    after = models.JSONField(_("修改后"), null=True, blank=True)
    success = models.BooleanField(_("成功"), default=True)
    mac_key = models.CharField(max_length=16)
    mac = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["user", "created_at"], name="audit_user_time"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.username} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events cannot be deleted")


class AuditChainHead(models.Model):
    """The one row (pk=1) naming the chain's last link and, after archiving, the link it starts from.

    Every append locks it (``select_for_update``), which puts the links in one strict order. ``seal``
    is a MAC over the other fields, so the head cannot be moved back to hide rows cut from the end.
    """

    sequence = models.PositiveBigIntegerField(default=0)
    mac = models.CharField(max_length=64, blank=True)
    anchor_sequence = models.PositiveBigIntegerField(default=0)
    anchor_mac = models.CharField(max_length=64, blank=True)
    mac_key = models.CharField(max_length=16, blank=True)
    seal = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("审计链头")
        verbose_name_plural = _("审计链头")

    def __str__(self):
        return f"{self.anchor_sequence}…{self.sequence}"
