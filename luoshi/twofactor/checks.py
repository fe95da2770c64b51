"""System checks: production never runs with the second factor switched off."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.utils.translation import gettext_lazy as _


@register(Tags.security, deploy=False)
def two_factor_enforced_in_production(app_configs, **kwargs):
    if settings.PRODUCTION and not settings.TWO_FACTOR_ENFORCED:
        return [
            Error(
                _("生产环境不得关闭双因素登录。"),
                hint=_("删除环境变量 LUOSHI_TWO_FACTOR=off（该开关只供演示和测试使用）。"),
                id="twofactor.E001",
            )
        ]
    return []
