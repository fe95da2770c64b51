"""``luoshi verify_files``: check every stored file against the SM3 digest taken at upload (after a restore)."""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from luoshi.core.models import StoredFile
from luoshi.core.uploads import integrity_problem


def stored_file_models() -> list:
    return [model for model in apps.get_models() if issubclass(model, StoredFile)]


def bad_files():
    """(model label, pk, original name, file name, problem) for every stored file that fails its check."""
    for model in stored_file_models():
        # A row that never received a file (a background export still queued, or failed) has neither a
        # name nor a digest; a row with a digest but no file is still reported.
        stored_rows = model._base_manager.exclude(file="", sha256="")
        for stored in stored_rows.order_by("pk").iterator(chunk_size=500):
            problem = integrity_problem(stored)
            if problem is not None:
                yield model._meta.label, stored.pk, stored.original_name, stored.file.name, problem


class Command(BaseCommand):
    help = "Check every evidence file and attachment against its SM3 digest; exit 1 listing the bad ones."

    def handle(self, *args, **options):
        checked = sum(
            model._base_manager.exclude(file="", sha256="").count() for model in stored_file_models()
        )
        bad = list(bad_files())
        for label, pk, name, path, problem in bad:
            self.stdout.write(f"{label} #{pk} 「{name}」 {path}: {problem}")
        if bad:
            raise CommandError(f"{len(bad)} / {checked} 个文件未通过 SM3 校验 / files failed the SM3 check")
        self.stdout.write(
            self.style.SUCCESS(f"{checked} 个文件全部通过 SM3 校验 / all files passed the SM3 check")
        )
