from django.core.management.base import BaseCommand

from luoshi.ledgers.services import refresh_stale_warnings, today


class Command(BaseCommand):
    help = "Recompute every item warning that was computed before today (run daily, shortly after midnight)."

    def handle(self, *args, **options):
        updated = refresh_stale_warnings(today())
        self.stdout.write(f"refreshed {updated} item warnings for {today():%Y-%m-%d}")
