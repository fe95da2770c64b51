"""``luoshi worker``: schedule the periodic jobs and run the queued tasks, on as many machines as wanted."""

import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from luoshi.core.jobs import run_queued_tasks, schedule_due_jobs
from luoshi.core.services import beat


class Command(BaseCommand):
    help = (
        "Run the background worker: claim due periodic jobs, run queued tasks, sleep, repeat. "
        "SIGTERM or Ctrl+C stops it after the task at hand."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=5.0, help="seconds to sleep when the queue is empty (default 5)"
        )
        parser.add_argument(
            "--once", action="store_true", help="one round, until the queue is empty, then exit"
        )

    def handle(self, *args, interval: float, once: bool, **options):
        stop = threading.Event()

        def request_stop(signum, frame):
            self.stdout.write(f"{signal.strsignal(signum)}: stopping after the task at hand")
            stop.set()

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stop.is_set():
                # A connection left idle while sleeping may have been closed by the server.
                close_old_connections()
                for run in schedule_due_jobs():
                    self.stdout.write(f"scheduled {run.name} for {run.slot.isoformat()}")
                beat("worker")
                run_queued_tasks(stop)
                if once:
                    break
                stop.wait(interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
