from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwoFactorConfig(AppConfig):
    name = "luoshi.twofactor"
    label = "twofactor"
    verbose_name = _("双因素登录")

    def ready(self):
        from luoshi.twofactor import checks, receivers  # noqa: F401  (registers the check and the login hook)
