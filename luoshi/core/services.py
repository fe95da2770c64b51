"""Writes of the core module: heartbeats of the jobs that run beside the web server."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from luoshi.core.models import Heartbeat


@transaction.atomic
def beat(name: str, *, now: dt.datetime | None = None) -> Heartbeat:
    """Record that the job ``name`` ran just now; ``/healthz`` reports it stale when the beats stop."""
    heartbeat, _created = Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": now or timezone.now()}
    )
    return heartbeat
