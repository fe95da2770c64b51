from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
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
