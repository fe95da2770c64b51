"""The ledgers' periodic jobs (``luoshi.core.jobs``): the daily warning refresh and overdue detection."""

import datetime as dt

from django.utils import timezone

from luoshi.core.bulk import insert_rows
from luoshi.core.jobs import Daily, exclusive, periodic
from luoshi.core.services import beat
from luoshi.ledgers.models import OPEN_STATUSES, EventKind, Item, ItemEvent
from luoshi.ledgers.services import refresh_stale_warnings

EVENT_FIELDS = [
    "item",
    "kind",
    "actor",
    "created_at",
    "from_status",
    "to_status",
    "action",
    "comment",
    "report",
    "data",
]


@periodic("ledgers.refresh_warnings", Daily(0, 10))
def refresh_warnings(*, now: dt.datetime) -> dict:
    """Recompute the warnings computed before the slot's day; a second run finds none stale."""
    on = timezone.localdate(now)
    updated = refresh_stale_warnings(on)
    # /healthz reports the job stale when this stops arriving (settings.HEALTHZ_HEARTBEATS).
    beat("refresh_warnings")
    return {"day": on.isoformat(), "updated": updated}


def detect_overdue(now: dt.datetime | None = None) -> int:
    """Record on each unfinished item whose deadline has passed that it is overdue, once per deadline.

    The timeline entry (``EventKind.OVERDUE``, data ``{"deadline": "YYYY-MM-DD"}``) is written once
    for an item and a deadline: a re-run writes nothing, and an item whose deadline was extended gets
    a new entry when the new one passes. Two queries and one bulk insert, however many items.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    with exclusive("ledgers.detect_overdue"):
        overdue = Item.objects.filter(status__in=OPEN_STATUSES, deadline__lt=today)
        recorded = set(
            ItemEvent.objects.filter(kind=EventKind.OVERDUE, item__in=overdue.values("pk")).values_list(
                "item_id", "data__deadline"
            )
        )
        entries = [
            (pk, deadline.isoformat())
            for pk, deadline in overdue.order_by("pk").values_list("pk", "deadline").iterator(chunk_size=5000)
            if (pk, deadline.isoformat()) not in recorded
        ]
        stamp = timezone.now()
        return insert_rows(
            ItemEvent,
            EVENT_FIELDS,
            (
                (pk, EventKind.OVERDUE, None, stamp, "", "", "", "", None, {"deadline": day})
                for pk, day in entries
            ),
        )


@periodic("ledgers.detect_overdue", Daily(0, 20))
def detect_overdue_job(*, now: dt.datetime) -> dict:
    return {"day": timezone.localdate(now).isoformat(), "recorded": detect_overdue(now)}
