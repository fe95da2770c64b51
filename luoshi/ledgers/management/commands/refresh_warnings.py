from django.core.management.base import BaseCommand

from luoshi.core.services import beat
from luoshi.ledgers.services import refresh_stale_warnings, today


class Command(BaseCommand):
    help = "Recompute every item warning that was computed before today (run daily, shortly after midnight)."

    def handle(self, *args, **options):
        updated = refresh_stale_warnings(today())
        # /healthz reports the job stale when this stops arriving (settings.HEALTHZ_HEARTBEATS).
        beat("refresh_warnings")
        self.stdout.write(f"refreshed {updated} item warnings for {today():%Y-%m-%d}")
