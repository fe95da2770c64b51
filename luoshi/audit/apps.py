from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "luoshi.audit"
    label = "audit"
    verbose_name = _("审计")

    def ready(self):
        from luoshi.audit import receivers  # noqa: F401  (connects the change and login receivers)
