from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "luoshi.supervision"
    verbose_name = _("督查督办")

    def ready(self):
        # Listens to ledgers' published signals (report_submitted answers leaders' instructions).
        from luoshi.supervision import receivers  # noqa: F401
