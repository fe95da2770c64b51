from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "luoshi.security"
    label = "security"
    verbose_name = _("安全策略")

    def ready(self):
        from luoshi.security import receivers  # noqa: F401  (registers sessions at sign-in, ends them at sign-out)
