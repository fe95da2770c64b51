"""Replaces Django's ``createsuperuser``: under 三员分立 no account may hold every power."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Refused: Luoshi has no superuser. Use `luoshi bootstrap` on an empty system."

    def add_arguments(self, parser):
        # Accept whatever Django's own command takes, so every call gets the explanation below.
        parser.add_argument("args", nargs="*")
        parser.add_argument("--username")
        parser.add_argument("--email")
        parser.add_argument("--database")
        parser.add_argument("--noinput", "--no-input", action="store_true")

    def handle(self, *args, **options):
        raise CommandError(
            "Luoshi has no superuser (三员分立: the system, security and audit admins are three people). "
            "On an empty system run `luoshi bootstrap` to create the three admin accounts."
        )
