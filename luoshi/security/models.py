from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from luoshi.core.models import VersionedModel


class SecurityPolicy(VersionedModel):
    """The one row of identity and session rules the security admin sets (等保 §8.1.4.1)."""

    min_length = models.PositiveSmallIntegerField(
        _("密码最短长度"), default=10, validators=[MinValueValidator(8), MaxValueValidator(64)]
    )
    required_classes = models.PositiveSmallIntegerField(
        _("至少包含的字符种类"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text=_("大写字母、小写字母、数字、符号四类中至少几类"),
    )
    history_count = models.PositiveSmallIntegerField(
        _("不得重复最近几次密码"), default=5, validators=[MaxValueValidator(24)]
    )
    max_age_days = models.PositiveSmallIntegerField(
        _("密码有效期（天）"), default=90, help_text=_("到期后登录须先修改密码；0 表示不过期")
    )
    lockout_attempts = models.PositiveSmallIntegerField(
        _("连续登录失败几次后锁定"), default=5, validators=[MinValueValidator(3), MaxValueValidator(20)]
    )
    lockout_minutes = models.PositiveSmallIntegerField(
        _("锁定时长（分钟）"), default=30, validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    idle_timeout_minutes = models.PositiveSmallIntegerField(
        _("无操作超时（分钟）"), default=30, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    session_lifetime_hours = models.PositiveSmallIntegerField(
        _("会话最长时间（小时）"), default=12, validators=[MinValueValidator(1), MaxValueValidator(72)]
    )
    require_two_factor_for_all = models.BooleanField(
        _("所有用户都须双因素登录"),
        default=False,
        help_text=_("管理员和督办员始终须双因素登录；勾选后其他用户也须如此"),
    )

    class Meta:
        verbose_name = _("安全策略")
        verbose_name_plural = _("安全策略")

    def __str__(self):
        return str(_("安全策略"))


class AccountState(models.Model):
    """Per-person password state, kept here because this app does not own the user table."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="security_state"
    )
    password_changed_at = models.DateTimeField(_("密码设置时间"), null=True)
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=False)

    class Meta:
        verbose_name = _("账号安全状态")
        verbose_name_plural = _("账号安全状态")

    def __str__(self):
        return str(self.user)


class PasswordRecord(models.Model):
    """A password a person has had (its hash only), so the last few cannot be reused."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    password_hash = models.CharField(max_length=128)
    set_at = models.DateTimeField(_("设置时间"), default=timezone.now)
    by_admin = models.BooleanField(_("由管理员设置"), default=False)

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        ordering = ["-set_at", "-id"]
        indexes = [models.Index(fields=["user", "-set_at"], name="password_record_user_time")]

    def __str__(self):
        return f"{self.user} {self.set_at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """A signed-in session, so that all of one person's sessions can be found and ended."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="+"
    )
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(_("登录时间"), default=timezone.now)
    last_seen = models.DateTimeField(_("最近活动"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("来源地址"), null=True)
    user_agent = models.CharField(_("浏览器"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("在线会话")
        verbose_name_plural = _("在线会话")
        ordering = ["-last_seen", "-id"]

    def __str__(self):
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"
