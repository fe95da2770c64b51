"""A database file for tests that write from several threads at once, as production does.

On SQLite the test database lives in memory, shared between connections through SQLite's shared cache,
whose table locks fail at once instead of waiting. That is not what production sees. ``file_database``
copies the test database (schema and rows so far) into a file with SQLite's online backup and points
every new connection at it, with the OPTIONS of settings (WAL, IMMEDIATE, busy timeout). On PostgreSQL
the test database is a real server already, and nothing changes.

Use it in a ``transaction=True`` test (a test transaction would hide the other threads' writes), and
close each thread's connection when the thread ends; ``at_once`` does both for the usual race.
"""

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connection, connections


@contextmanager
def file_database(directory: Path):
    memory = connections[DEFAULT_DB_ALIAS]
    if memory.vendor != "sqlite":
        yield
        return
    saved = connections.settings[DEFAULT_DB_ALIAS]
    path = Path(directory) / "luoshi.sqlite3"
    memory.ensure_connection()
    target = sqlite3.connect(path)
    try:
        memory.connection.backup(target)
    finally:
        target.close()
    connections.settings[DEFAULT_DB_ALIAS] = {**saved, "NAME": str(path)}
    connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS].close()
        connections.settings[DEFAULT_DB_ALIAS] = saved
        connections[DEFAULT_DB_ALIAS] = memory


def at_once(call, *, threads: int = 2, timeout: float = 120) -> tuple[list, list[Exception]]:
    """Run ``call()`` in ``threads`` threads released together, as workers or users on other machines
    would, each on its own connection; returns what the calls returned and what they raised."""
    start = threading.Barrier(threads)
    results, errors = [], []

    def run():
        try:
            start.wait()
            results.append(call())
        except Exception as error:  # returned to the test, which asserts on it
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout)
    if any(worker.is_alive() for worker in workers):
        errors.append(TimeoutError(f"a thread was still running after {timeout} s"))
    return results, errors
