"""Reads for the battle map (挂图作战): a handful of GROUP BY queries over the items a user may see.

Every figure is computed in the database over ``Item.objects.visible_to(user)``; no query is made
per unit, per month or per item, so the page costs the same for 50 items or 50,000.
"""

import calendar
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import Cast, TruncMonth

from luoshi.ledgers.models import (
    DONE_STATUSES,
    Item,
    Ledger,
    ScheduleCategory,
)
from luoshi.ledgers.selectors import ensure_warnings_current

TOP_UNITS = 20

# The four categories offices report in, in the order they report them.
SCHEDULE_CATEGORIES = (
    ScheduleCategory.DONE,
    ScheduleCategory.ON_SCHEDULE,
    ScheduleCategory.BEHIND,
    ScheduleCategory.NOT_STARTED,
)


@dataclass
class UnitRow:
    org_id: int
    name: str
    done: int
    on_time: int

    @property
    def late(self) -> int:
        return self.done - self.on_time

    @property
    def rate(self) -> float:
        return round(100 * self.on_time / self.done, 1) if self.done else 0.0


@dataclass
class MonthRow:
    month: dt.date
    by_color: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_color.values())

    @property
    def last_day(self) -> dt.date:
        return self.month.replace(day=calendar.monthrange(self.month.year, self.month.month)[1])


@dataclass
class BattleMap:
    total: int
    by_color: dict[str, int]
    by_status: dict[str, int]
    by_schedule: dict[str, int]
    units: list[UnitRow]
    months: list[MonthRow]
    year: int
    # Leaders' instructions still open (Item.open_instructions) and the items that have any.
    open_instructions: int = 0
    items_with_instructions: int = 0


def battle_map_ledgers(user):
    return Ledger.objects.visible_to(user).order_by("-year", "name").only("id", "name", "year")


def battle_map_items(user, ledger: Ledger | None = None):
    items = Item.objects.visible_to(user)
    if ledger is not None:
        items = items.filter(ledger=ledger)
    return items


def _breakdowns(items) -> dict[str, Counter]:
    """Counts by colour, by status and by schedule category from one GROUP BY over the three.

    The same query sums the open-instruction counters kept on each item (``totals["instructions"]``).
    """
    fields = ("warning_color", "status", "schedule_category")
    totals = {name: Counter() for name in (*fields, "instructions")}
    rows = (
        items.order_by()
        .values(*fields)
        .annotate(
            n=Count("id"),
            instructions_open=Sum("open_instructions"),
            with_instructions=Count("id", filter=Q(open_instructions__gt=0)),
        )
    )
    for row in rows:
        for name in fields:
            totals[name][row[name]] += row["n"]
        totals["instructions"]["open"] += row["instructions_open"] or 0
        totals["instructions"]["items"] += row["with_instructions"]
    return totals


def unit_ranking(items, limit: int = TOP_UNITS) -> list[UnitRow]:
    """Lead units ranked by the share of their finished items finished by the assessed deadline.

    Only finished items with a deadline count (a standing item cannot be late); ties go to the
    unit with more items finished on time.
    """
    done = items.filter(status__in=DONE_STATUSES, assessed_deadline__isnull=False)
    rows = (
        done.order_by()
        .values("lead_org_id", "lead_org__name", "lead_org__short_name")
        .annotate(
            done=Count("id"),
            on_time=Count("id", filter=Q(completed_on__lte=F("assessed_deadline"))),
        )
        .annotate(rate=Cast("on_time", FloatField()) / Cast("done", FloatField()))
        .order_by("-rate", "-on_time", "lead_org__name")[:limit]
    )
    return [
        UnitRow(
            org_id=row["lead_org_id"],
            name=row["lead_org__short_name"] or row["lead_org__name"],
            done=row["done"],
            on_time=row["on_time"],
        )
        for row in rows
    ]


def deadline_months(items, year: int) -> list[MonthRow]:
    """Items falling due in each month of ``year``, by warning colour (one GROUP BY)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    rows = (
        items.filter(deadline__range=(start, end))
        .order_by()
        .annotate(month=TruncMonth("deadline"))
        .values("month", "warning_color")
        .annotate(n=Count("id"))
    )
    months = {m: MonthRow(month=dt.date(year, m, 1)) for m in range(1, 13)}
    for row in rows:
        month = row["month"]
        months[month.month].by_color[row["warning_color"]] = row["n"]
    return list(months.values())


def battle_map(user, *, ledger: Ledger | None = None, year: int) -> BattleMap:
    ensure_warnings_current()
    items = battle_map_items(user, ledger)
    counts = _breakdowns(items)
    return BattleMap(
        total=counts["warning_color"].total(),
        by_color=dict(counts["warning_color"]),
        by_status=dict(counts["status"]),
        by_schedule=dict(counts["schedule_category"]),
        units=unit_ranking(items),
        months=deadline_months(items, year),
        year=year,
        open_instructions=counts["instructions"]["open"],
        items_with_instructions=counts["instructions"]["items"],
    )
