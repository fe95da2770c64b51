"""Measures: what the record says of each unit over a period, by name, for scoring rules to use.

A rule names measures (``按时办结_牵头``, ``漏报`` …) in a formula or alone; ``take`` computes the ones a
scheme needs for all its units at once — a few queries per family, however many units — and keeps the
items each measure counted, so that a unit's breakdown can list them.

Conventions, so that a rule reads the same everywhere:

- Items are those of the scheme's ledgers (all the office's ledgers when it names none), assigned and
  not suspended. Their deadline is the *assessed* one (``Item.assessed_deadline``): the original date,
  unless an extension was approved as excused.
- An item is judged in the period its assessed deadline falls in, once that day has passed (``as_of``
  is the first day not judged): on time when completed on or before it, overdue otherwise.
- "_牵头" counts the items a unit leads; "_配合" those it works on as a co-unit.
- A rate is a share between 0 and 1; with nothing to count it is 1 (nothing failed).
- Reports: a late report is counted in the period it was submitted; a missing one is a report period of
  an item the unit leads, ended in the period and past its grace (``Ledger.report_grace_days``) by
  ``as_of``, for which the unit has submitted nothing, while the item was open.
- Urges, orders, interviews, accountability and inspection findings count those of the scheme's office
  dated in the period; 通报批评 counts the accountability records whose form is a notice of criticism.
  Praise in a notice (通报表扬) has no record of its own yet: a manual bonus indicator or an adjustment
  (with its reason) carries it.
"""

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, DateField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from luoshi.ledgers.models import DONE_STATUSES, OPEN_STATUSES, Item, Ledger, ProgressReport, ReportStatus
from luoshi.ledgers.periods import latest_overdue_period, period_containing
from luoshi.supervision.models import (
    Accountability,
    AccountabilityForm,
    Finding,
    Interview,
    SupervisionOrder,
    Urge,
)

RATE_PLACES = Decimal("0.0001")
ONE_DAY = dt.timedelta(days=1)
# Assigned and not suspended: a draft is not yet anyone's, a suspended item is nobody's fault.
COUNTED_STATUSES = (*OPEN_STATUSES, *DONE_STATUSES)


@dataclass(frozen=True)
class Window:
    """The period scored, and the first day whose events are not yet judged."""

    start: dt.date
    end: dt.date
    as_of: dt.date

    @property
    def last_judged(self) -> dt.date:
        return min(self.end, self.as_of - dt.timedelta(days=1))

    def aware_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as instants, local days: [start 00:00, the day after end 00:00)."""
        zone = timezone.get_current_timezone()
        return (
            dt.datetime.combine(self.start, dt.time.min, tzinfo=zone),
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
        )


@dataclass(frozen=True)
class Measure:
    name: str
    description: str
    family: str


@dataclass
class Taken:
    """Measure values by unit id and name; the items counted, by unit id and name."""

    values: dict[int, dict[str, Decimal]] = field(default_factory=dict)
    items: dict[int, dict[str, list[int]]] = field(default_factory=lambda: defaultdict(dict))

    def put(self, unit: int, name: str, value: int | Decimal, items: Iterable[int] = ()) -> None:
        self.values[unit][name] = Decimal(value)
        items = sorted(items)
        if items:
            self.items[unit][name] = items

    def put_items(self, unit: int, name: str, items: list[int]) -> None:
        """A count of items, and the items."""
        self.put(unit, name, len(items), items)


def _m(name, description, family):
    return Measure(name, description, family)


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        _m("到期事项_牵头", _("本期到期的牵头事项数"), "items"),
        _m("按时办结_牵头", _("本期到期、按时办结的牵头事项数"), "items"),
        _m("超期_牵头", _("本期到期、未按时办结的牵头事项数"), "items"),
        _m("按时办结率_牵头", _("牵头事项按时办结率（0–1）"), "items"),
        _m("到期事项_配合", _("本期到期的配合事项数"), "items"),
        _m("按时办结_配合", _("本期到期、按时办结的配合事项数"), "items"),
        _m("超期_配合", _("本期到期、未按时办结的配合事项数"), "items"),
        _m("按时办结率_配合", _("配合事项按时办结率（0–1）"), "items"),
        _m("办结_牵头", _("本期办结的牵头事项数"), "items"),
        _m("迟报", _("本期逾期报送的进展次数"), "reports"),
        _m("漏报", _("本期应报未报的进展次数（牵头事项）"), "missing_reports"),
        _m("催办", _("本期被催办次数"), "urges"),
        _m("督办单", _("本期收到的督办单（含催办单、督办通知单、督查单）数"), "orders"),
        _m("约谈", _("本期被约谈次数"), "interviews"),
        _m("问责", _("本期问责次数"), "accountability"),
        _m("通报批评", _("本期被通报批评次数（问责方式为通报批评）"), "accountability"),
        _m("发现问题", _("本期督查发现问题数"), "findings"),
        _m("整改完成", _("本期发现、已验收销号的问题数"), "findings"),
        _m("整改完成率", _("本期发现问题的整改完成率（0–1）"), "findings"),
    )
}


def measure_names() -> list[str]:
    return list(MEASURES)


def _rate(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal(1)
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES)


def scheme_items(scheme):
    ledgers = list(scheme.ledgers.values_list("pk", flat=True)) if scheme.pk else []
    if not ledgers:
        ledgers = list(Ledger.objects.filter(owner_office_id=scheme.office_id).values_list("pk", flat=True))
    return Item.objects.filter(ledger_id__in=ledgers, status__in=COUNTED_STATUSES)


def _items(scheme, units: set[int], window: Window, taken: Taken) -> None:
    judged = scheme_items(scheme).filter(
        assessed_deadline__gte=window.start, assessed_deadline__lte=window.last_judged
    )
    rows = list(judged.values_list("pk", "lead_org_id", "assessed_deadline", "completed_on", "status"))
    on_time = {
        pk
        for pk, _lead, deadline, done, status in rows
        if status in DONE_STATUSES and done and done <= deadline
    }
    co_units = defaultdict(list)
    through = Item.co_orgs.through
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 20000):
        for item_id, unit in through.objects.filter(item_id__in=ids[start : start + 20000]).values_list(
            "item_id", "organisation_id"
        ):
            if unit in units:
                co_units[unit].append(item_id)
    lead_units = defaultdict(list)
    for pk, lead, *_rest in rows:
        if lead in units:
            lead_units[lead].append(pk)
    for suffix, by_unit in (("牵头", lead_units), ("配合", co_units)):
        for unit in units:
            due = by_unit.get(unit, [])
            timely = [pk for pk in due if pk in on_time]
            taken.put(unit, f"到期事项_{suffix}", len(due))
            taken.put_items(unit, f"按时办结_{suffix}", timely)
            taken.put_items(unit, f"超期_{suffix}", [pk for pk in due if pk not in on_time])
            taken.put(unit, f"按时办结率_{suffix}", _rate(len(timely), len(due)))
    completed = defaultdict(list)
    for pk, lead in (
        scheme_items(scheme)
        .filter(status__in=DONE_STATUSES, completed_on__gte=window.start, completed_on__lte=window.end)
        .values_list("pk", "lead_org_id")
    ):
        if lead in units:
            completed[lead].append(pk)
    for unit in units:
        taken.put_items(unit, "办结_牵头", completed.get(unit, []))


def _reports(scheme, units: set[int], window: Window, taken: Taken) -> None:
    since, until = window.aware_bounds()
    late = defaultdict(list)
    for item_id, unit in (
        ProgressReport.objects.filter(
            item__in=scheme_items(scheme),
            is_late=True,
            submitted_at__gte=since,
            submitted_at__lt=until,
            organisation_id__in=units,
        )
        .exclude(status=ReportStatus.DRAFT)
        .values_list("item_id", "organisation_id")
    ):
        late[unit].append(item_id)
    for unit in units:
        taken.put_items(unit, "迟报", late.get(unit, []))


def _owed_period_ends(cycle: str, grace: int, window: Window) -> list[dt.date]:
    """The ends, in order, of the report periods of ``cycle`` that end within the window and are past
    their grace (``Ledger.report_grace_days``) on ``as_of``: the reports owed by then."""
    cutoff = min(window.end, latest_overdue_period(window.as_of, cycle, grace).end)
    ends = []
    period = period_containing(cutoff, cycle)
    while period.end >= window.start:
        if period.end <= cutoff:
            ends.append(period.end)
        period = period.previous(cycle)
    return sorted(ends)


def _missing_reports(scheme, units: set[int], window: Window, taken: Taken) -> None:
    """Report periods owed and not reported, per lead unit. An item owes a report for each period that
    ends from its start until the day before its completion, within the window and past its grace.

    The database counts each item's reports in those periods (a report is one per item, unit and
    period); Python counts the periods owed with a bisection in each cycle's list of period ends. No
    report row leaves the database.
    """
    items = (
        scheme_items(scheme)
        .filter(lead_org_id__in=units, start_date__lte=window.end)
        .filter(Q(completed_on__isnull=True) | Q(completed_on__gte=window.start))
    )
    owed = {
        (cycle, grace): _owed_period_ends(cycle, grace, window)
        for cycle, grace in items.order_by()
        .values_list("report_cycle", "ledger__report_grace_days")
        .distinct()
    }
    # Reports of periods not yet owed (still within their grace) do not make up for a missing one.
    owed_until = Case(
        *(
            When(report_cycle=cycle, ledger__report_grace_days=grace, then=Value(ends[-1]))
            for (cycle, grace), ends in owed.items()
            if ends
        ),
        default=Value(window.start - ONE_DAY),
        output_field=DateField(),
    )
    reports = (
        ProgressReport.objects.filter(
            item_id=OuterRef("pk"),
            organisation_id=OuterRef("lead_org_id"),
            period_end__gte=window.start,
            period_end__lte=OuterRef("owed_until"),
            # Before the completion date: the period an item completed in owes no report.
            period_end__lt=Coalesce(
                OuterRef("completed_on"), Value(window.end + ONE_DAY), output_field=DateField()
            ),
        )
        .filter(period_end__gte=OuterRef("start_date"))
        .exclude(status=ReportStatus.DRAFT)
        .order_by()
        .values("item_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    rows = (
        items.annotate(owed_until=owed_until)
        .annotate(reported=Coalesce(Subquery(reports), 0))
        .values_list(
            "pk",
            "lead_org_id",
            "report_cycle",
            "start_date",
            "completed_on",
            "ledger__report_grace_days",
            "reported",
        )
    )
    missing = defaultdict(list)
    for pk, unit, cycle, start, completed, grace, reported in rows:
        ends = owed[(cycle, grace)]
        first = max(start, window.start)
        last = window.end if completed is None else completed - ONE_DAY
        gaps = bisect_right(ends, last) - bisect_left(ends, first) - reported
        if gaps > 0:
            missing[unit].extend([pk] * gaps)
    for unit in units:
        taken.put_items(unit, "漏报", missing.get(unit, []))


def _count_by_unit(rows, units: set[int], taken: Taken, name: str, *, items: bool) -> None:
    """``rows`` of (key, unit): counted per unit; the keys are kept as the items counted when ``items``."""
    counted = defaultdict(list)
    for key, unit in rows:
        counted[unit].append(key)
    for unit in units:
        keys = counted.get(unit, [])
        taken.put(unit, name, len(keys), keys if items else ())


def _urges(scheme, units, window, taken):
    since, until = window.aware_bounds()
    rows = Urge.objects.filter(
        item__in=scheme_items(scheme), organisation_id__in=units, created_at__gte=since, created_at__lt=until
    ).values_list("item_id", "organisation_id")
    _count_by_unit(rows, units, taken, "催办", items=True)


def _orders(scheme, units, window, taken):
    rows = SupervisionOrder.objects.filter(
        office_id=scheme.office_id,
        organisation_id__in=units,
        issued_on__gte=window.start,
        issued_on__lte=window.end,
    ).values_list("pk", "organisation_id")
    _count_by_unit(rows, units, taken, "督办单", items=False)


def _interviews(scheme, units, window, taken):
    rows = Interview.objects.filter(
        office_id=scheme.office_id,
        organisation_id__in=units,
        held_on__gte=window.start,
        held_on__lte=window.end,
    ).values_list("pk", "organisation_id")
    _count_by_unit(rows, units, taken, "约谈", items=False)


def _accountability(scheme, units, window, taken):
    rows = list(
        Accountability.objects.filter(
            office_id=scheme.office_id,
            organisation_id__in=units,
            decided_on__gte=window.start,
            decided_on__lte=window.end,
        ).values_list("pk", "organisation_id", "form")
    )
    _count_by_unit(((pk, unit) for pk, unit, _form in rows), units, taken, "问责", items=False)
    criticised = ((pk, unit) for pk, unit, form in rows if form == AccountabilityForm.CRITICISM)
    _count_by_unit(criticised, units, taken, "通报批评", items=False)


def _findings(scheme, units, window, taken):
    found = defaultdict(list)
    closed = defaultdict(list)
    for unit, problem, verified_at in Finding.objects.filter(
        inspection__office_id=scheme.office_id,
        organisation_id__in=units,
        found_on__gte=window.start,
        found_on__lte=window.end,
    ).values_list("organisation_id", "problem_id", "verified_at"):
        found[unit].append(problem)
        if verified_at is not None and timezone.localdate(verified_at) < window.as_of:
            closed[unit].append(problem)
    for unit in units:
        problems, done = found.get(unit, []), closed.get(unit, [])
        # A finding not yet assigned has no problem item: counted, with nothing to list.
        taken.put(unit, "发现问题", len(problems), filter(None, problems))
        taken.put(unit, "整改完成", len(done), filter(None, done))
        taken.put(unit, "整改完成率", _rate(len(done), len(problems)))


FAMILIES: dict[str, Callable] = {
    "items": _items,
    "reports": _reports,
    "missing_reports": _missing_reports,
    "urges": _urges,
    "orders": _orders,
    "interviews": _interviews,
    "accountability": _accountability,
    "findings": _findings,
}


def take(names: Iterable[str], *, scheme, units: Iterable[int], window: Window) -> Taken:
    """The values of ``names`` for each of ``units`` over ``window`` (each family's queries run once)."""
    units = set(units)
    taken = Taken(values={unit: {} for unit in units})
    for family in sorted({MEASURES[name].family for name in names}):
        FAMILIES[family](scheme, units, window, taken)
    return taken
