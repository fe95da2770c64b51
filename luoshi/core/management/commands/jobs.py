"""``luoshi jobs list`` and ``luoshi jobs run NAME``: the periodic jobs, their last runs, a run by hand."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from luoshi.core.jobs import registered, run_job_now
from luoshi.core.models import JobRun, JobStatus


class Command(BaseCommand):
    help = "List the periodic jobs with their schedule and last run, or run one now."

    def add_arguments(self, parser):
        verbs = parser.add_subparsers(dest="verb", required=True)
        verbs.add_parser("list", help="every job, its schedule, its latest slot and how its last run ended")
        run = verbs.add_parser("run", help="run one job now, outside its schedule (it is idempotent)")
        run.add_argument("name")

    def handle(self, *args, verb: str, **options):
        if verb == "list":
            self.list_jobs()
        else:
            self.run(options["name"])

    def list_jobs(self):
        now = timezone.now()
        for name, job in registered().items():
            last = JobRun.objects.filter(name=name).order_by("-created_at", "-pk").first()
            ran = f"{timezone.localtime(last.slot):%Y-%m-%d %H:%M} {last.status}" if last else "never"
            due = timezone.localtime(job.schedule.latest_slot(now))
            self.stdout.write(f"{name}\t{job.schedule}\tlatest slot {due:%Y-%m-%d %H:%M}\tlast run {ran}")

    def run(self, name: str):
        try:
            run = run_job_now(name)
        except LookupError as error:
            raise CommandError(f"{error}; `luoshi jobs list` names them") from error
        if run.status == JobStatus.FAILED:
            self.stderr.write(run.error)
            raise CommandError(f"{name} failed")
        self.stdout.write(f"{name}: {run.status} {run.result or ''}")
