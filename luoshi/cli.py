"""The ``luoshi`` console command: Django's manage.py, plus the verbs ``serve`` and ``demo``."""

import os
import signal
import subprocess  # nosec B404 # starts only `luoshi worker`, with a fixed argument list
import sys

# Set by Django's autoreloader in the server process it restarts on code changes.
RELOADED_CHILD = "RUN_MAIN"


def start_worker() -> subprocess.Popen:
    """``luoshi worker`` as a child process, beside the demo server."""
    return subprocess.Popen([sys.executable, "-m", "luoshi.cli", "worker"])  # nosec B603 # our own command


def stop_worker(worker: subprocess.Popen) -> None:
    worker.terminate()  # SIGTERM: it stops after the task at hand
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def serve(prog: str, args: list[str]) -> None:
    """The demo server: migrate, start the background worker, serve on loopback until stopped.

    Production uses a WSGI server and runs ``luoshi worker`` as its own service (README,
    docs/background-work.md). ``--no-worker`` serves without one.
    """
    from django.core.management import execute_from_command_line

    with_worker = "--no-worker" not in args
    args = [arg for arg in args if arg != "--no-worker"]
    # The autoreloader runs this again in its child: the parent has migrated and started the worker.
    first = os.environ.get(RELOADED_CHILD) != "true"
    if first:
        execute_from_command_line([prog, "migrate", "--no-input", "-v", "0"])
    worker = start_worker() if with_worker and first else None
    # Stopped by SIGTERM too (not only Ctrl+C), the server still stops its worker on the way out.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        execute_from_command_line([prog, "runserver", *(args or ["127.0.0.1:8000"])])
    finally:
        signal.signal(signal.SIGTERM, previous)
        if worker is not None:
            stop_worker(worker)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "luoshi.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    if len(args) > 1 and args[1] == "serve":
        serve(args[0], args[2:])
        return
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
