"""``luoshi bootstrap``: the first three accounts of an empty system, one per separated admin duty."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from luoshi.audit.context import current
from luoshi.audit.services import command_context
from luoshi.orgs import services


class Command(BaseCommand):
    help = (
        "On an empty system, create the system, security and audit admin accounts with one-time "
        "passwords (printed once; each must be changed at first sign-in). Refuses to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--organisation", default="本单位", help="the unit the admins belong to (editable later)"
        )

    def handle(self, *args, organisation, **options):
        token = current.set(command_context())
        try:
            accounts = services.bootstrap_admins(organisation_name=organisation)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        finally:
            current.reset(token)
        self.stdout.write("Three admin accounts created. The passwords are shown only now:")
        for user, password in accounts:
            self.stdout.write(f"  {user.username:<12} {user.full_name:<8} {password}")
        self.stdout.write("Each must choose a new password at first sign-in.")
