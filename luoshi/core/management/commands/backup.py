from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from luoshi.core.backup import BackupError, make_backup


class Command(BaseCommand):
    help = (
        "Back up the database and the uploaded files into DEST_DIR (new or empty), with a manifest of "
        "SM3 digests. The key file is not included: keep it apart (docs/operations.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("dest_dir", type=Path)

    def handle(self, *args, dest_dir, **options):
        try:
            manifest = make_backup(dest_dir)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"backup of the {manifest['engine']} database and {len(manifest['media'])} files "
            f"written to {dest_dir}"
        )
