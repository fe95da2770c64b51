"""A bounded load run: the demo on PostgreSQL under gunicorn, a mixed workload from locust, memory watched.

    scripts/with-postgres .venv/bin/python bench/load.py              # 10 minutes, 12 people
    scripts/with-postgres .venv/bin/python bench/load.py --minutes 1  # a quick look

It creates the demo in the database of ``DATABASE_URL`` (which must be empty), serves it with
gunicorn on a free loopback port (``DEBUG=0``, data and keys in a temp dir), runs
``bench/locustfile.py`` headless for the given time (locust stops by itself), samples the resident
memory of the gunicorn processes every ``--sample`` seconds, then stops everything and prints:
requests, failures, median and p95 per request kind, and memory per minute. Exit status 1 when a
request failed or the server's memory grew by more than ``--max-growth`` percent between the end
of the first minute and the end of the run.
"""

import argparse
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_tree_rss_kib(root_pid: int) -> int:
    """Resident memory of ``root_pid`` and its children (gunicorn's master and workers), in KiB."""
    total = 0
    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(root_pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for pid in [root_pid, *map(int, children)]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer {url} within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--users", type=int, default=12, help="simulated people (default 12)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--sample", type=float, default=10, help="seconds between memory samples")
    parser.add_argument("--max-growth", type=float, default=10, help="allowed memory growth, percent")
    parser.add_argument("--allow-sqlite", action="store_true", help="run without DATABASE_URL")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL") and not args.allow_sqlite:
        raise SystemExit("DATABASE_URL is not set: run under scripts/with-postgres (or --allow-sqlite)")

    work = Path(tempfile.mkdtemp(prefix="luoshi-load-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "luoshi.settings",
        "DEBUG": "0",
        "LUOSHI_VAR_DIR": str(work),
        "LUOSHI_TWO_FACTOR": "off",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "ERROR",
    }
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    server = None
    try:
        print("creating the demo…", flush=True)
        subprocess.run([BIN / "luoshi", "demo"], env=env, check=True, stdout=subprocess.DEVNULL)
        server = subprocess.Popen(
            [
                BIN / "gunicorn",
                "luoshi.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--capture-output",
                "--error-logfile",
                str(work / "gunicorn.log"),
            ],
            env=env,
            cwd=ROOT,
        )
        wait_until_up(f"{host}/accounts/login/")

        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample_memory():
            start = time.monotonic()
            while not stop.wait(args.sample):
                samples.append((time.monotonic() - start, process_tree_rss_kib(server.pid)))

        sampler = threading.Thread(target=sample_memory, daemon=True)
        sampler.start()
        print(f"load: {args.users} people for {args.minutes:g} min against {host}", flush=True)
        locust = subprocess.run(
            [
                BIN / "locust",
                "-f",
                ROOT / "bench" / "locustfile.py",
                "--headless",
                "--host",
                host,
                "--users",
                str(args.users),
                "--spawn-rate",
                str(max(1, args.users // 4)),
                "--run-time",
                f"{int(args.minutes * 60)}s",
                "--stop-timeout",
                "10",
                "--csv",
                str(work / "load"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env=env,
            cwd=ROOT,
            check=False,
        )
        stop.set()
        sampler.join()
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    failures = report(work, samples, args)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failures or locust.returncode else 0


def report(work: Path, samples, args) -> bool:
    """Print the figures; true when the run failed (request errors, or memory that kept growing)."""
    with open(work / "load_stats.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    print("\n| request | count | failures | median ms | p95 ms |\n|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | "
            f"{row['50%']} | {row['95%']} |"
        )
    total = next(row for row in rows if row["Name"] == "Aggregated")
    failed = int(total["Failure Count"]) > 0
    if failed and (work / "load_failures.csv").exists():
        print("\nfailures:\n" + (work / "load_failures.csv").read_text())

    print("\nserver memory (gunicorn master + workers, RSS):")
    per_minute = {}
    for seconds, kib in samples:
        per_minute[int(seconds // 60)] = kib
    for minute, kib in sorted(per_minute.items()):
        print(f"  end of minute {minute + 1:>2}: {kib / 1024:7.1f} MiB")
    growing = False
    if len(per_minute) >= 2:
        first, last = per_minute[min(per_minute)], per_minute[max(per_minute)]
        growth = (last - first) / first * 100
        growing = growth > args.max_growth
        print(f"  growth after the first minute: {growth:+.1f} % (limit {args.max_growth:g} %)")
    exceptions = work / "load_exceptions.csv"
    raised = len(exceptions.read_text().splitlines()) - 1 if exceptions.exists() else 0
    if raised > 0:
        print("\nexceptions in the simulated people:\n" + exceptions.read_text())
    errors = (work / "gunicorn.log").read_text().count("Traceback")
    print(f"server tracebacks in the error log: {errors}")
    rate = int(total["Request Count"]) / (args.minutes * 60)
    print(f"\n{total['Request Count']} requests ({rate:.1f}/s), {total['Failure Count']} failed")
    return failed or growing or errors > 0 or raised > 0


if __name__ == "__main__":
    sys.exit(main())
