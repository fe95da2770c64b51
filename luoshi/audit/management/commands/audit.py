"""``luoshi audit verify [--archive FILE]`` and ``luoshi audit archive --before DATE``."""

import datetime as dt
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from luoshi.audit import chain, services
from luoshi.audit.context import current
from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core.crypto import sm3_file


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--before: {text} is not a date (YYYY-MM-DD)") from error


class Command(BaseCommand):
    help = "Check the audit trail's hash chain, or archive rows older than the retention period."

    def add_arguments(self, parser):
        verbs = parser.add_subparsers(dest="verb", required=True)
        verify = verbs.add_parser("verify", help="walk the chain; exit 1 at the first broken row")
        verify.add_argument("--archive", type=Path, help="check an archive file instead of the database")
        archive = verbs.add_parser(
            "archive", help="move rows recorded before DATE to a file under the var dir"
        )
        archive.add_argument("--before", required=True, type=_day, help="YYYY-MM-DD, at least 184 days ago")
        archive.add_argument("--directory", type=Path, help="where to write (default: VAR_DIR/audit-archive)")

    def handle(self, *args, verb, **options):
        token = current.set(services.command_context())
        try:
            if verb == "verify":
                self.verify(options["archive"])
            else:
                self.archive(options["before"], options["directory"])
        finally:
            current.reset(token)

    def verify(self, archive_path: Path | None):
        started = time.monotonic()
        if archive_path is not None:
            verdict = self.verify_file(archive_path)
        else:
            verdict = chain.verify_trail()
            services.record(
                action=AuditAction.VERIFY,
                object_type=AuditEvent._meta.label,
                object_repr="audit verify",
                success=verdict.ok,
                after={"checked": verdict.checked, "broken_at": verdict.broken_at, "reason": verdict.reason},
            )
        seconds = time.monotonic() - started
        if not verdict.ok:
            raise CommandError(f"audit chain broken at sequence {verdict.broken_at}: {verdict.reason}")
        self.stdout.write(
            f"audit chain intact: {verdict.checked} rows checked up to sequence {verdict.last_sequence}"
            f" in {seconds:.1f} s"
        )

    def verify_file(self, path: Path) -> chain.Verdict:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        digest_file = Path(f"{path}.sm3")
        if not digest_file.exists():
            raise CommandError(f"{digest_file} (the archive's SM3 digest) does not exist")
        with path.open("rb") as handle:
            digest = sm3_file(handle)
        if digest_file.read_text().split()[0] != digest:
            raise CommandError(f"{path}: SM3 digest does not match {digest_file}")
        verdict = chain.verify_archive_file(path)
        if verdict.ok:
            self.stdout.write(f"anchor: sequence {verdict.last_sequence}, mac {verdict.last_mac}")
        return verdict

    def archive(self, before: dt.date, directory: Path | None):
        try:
            result = services.archive(before=before, directory=directory)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        if result is None:
            self.stdout.write(f"nothing recorded before {before} is left to archive")
            return
        self.stdout.write(
            f"archived {result.rows} rows to {result.path} (SM3 {result.digest});"
            f" the chain now starts after sequence {result.anchor_sequence}"
        )
