from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from luoshi.core.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore the database and the uploaded files from a backup made by `luoshi backup`, after "
        "checking every file against its manifest. Stop the web server and the worker first."
    )

    def add_arguments(self, parser):
        parser.add_argument("src_dir", type=Path)
        parser.add_argument(
            "--force", action="store_true", help="overwrite a database or media folder that holds data"
        )

    def handle(self, *args, src_dir, force, **options):
        try:
            manifest = restore_backup(src_dir, force=force)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"restored the backup of {manifest['created_at']} ({len(manifest['media'])} files); "
            "run `luoshi migrate` if this code is newer than the backup"
        )
