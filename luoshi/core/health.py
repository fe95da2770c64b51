"""What ``/healthz`` checks: the database answers, the jobs beside the web server still run, disks have room.

Each check returns a status word and never personal data: the answer is public, for load balancers.
"""

import shutil
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from luoshi.core.models import Heartbeat

OK, FAIL, STALE, MISSING = "ok", "fail", "stale", "missing"


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return {"status": FAIL}
    return {"status": OK}


def check_worker(now=None) -> dict:
    """Each job of ``HEALTHZ_HEARTBEATS`` (name → seconds between beats at most) is ok, stale or missing.

    A job that stopped fails the check only with ``HEALTHZ_REQUIRE_WORKER``, set where ``luoshi worker``
    runs (it beats ``worker`` every round): an office that still runs ``refresh_warnings`` from cron
    should not lose its web servers from the load balancer over a late cron run.
    """
    now = now or timezone.now()
    try:
        beats = dict(
            Heartbeat.objects.filter(name__in=settings.HEALTHZ_HEARTBEATS).values_list("name", "beat_at")
        )
    except DatabaseError:
        return {"status": FAIL, "jobs": {}}
    jobs = {}
    for name, max_age in settings.HEALTHZ_HEARTBEATS.items():
        beat_at = beats.get(name)
        if beat_at is None:
            jobs[name] = MISSING
        else:
            jobs[name] = OK if (now - beat_at).total_seconds() <= max_age else STALE
    healthy = all(state == OK for state in jobs.values())
    status = OK if healthy or not settings.HEALTHZ_REQUIRE_WORKER else FAIL
    return {"status": status, "jobs": jobs}


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (the media folder is made on the first upload)."""
    path = Path(path).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def volumes() -> dict[str, Path]:
    """The folders whose disks must have room: the media files, and the SQLite file if the database is one."""
    found = {"media": _existing(settings.MEDIA_ROOT)}
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        if name != ":memory:" and "mode=memory" not in name:
            found["database"] = _existing(Path(name).parent)
    return found


def check_disk() -> dict:
    minimum = settings.HEALTHZ_MIN_FREE_BYTES
    states = {
        name: OK if shutil.disk_usage(path).free >= minimum else FAIL for name, path in volumes().items()
    }
    return {"status": OK if all(s == OK for s in states.values()) else FAIL, "volumes": states}


def health() -> dict:
    checks = {"database": check_database(), "worker": check_worker(), "disk": check_disk()}
    status = OK if all(check["status"] == OK for check in checks.values()) else FAIL
    return {"status": status, "checks": checks}
