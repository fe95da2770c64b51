"""Measures taken from the record: each family counted per unit, with the items it counted."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from luoshi.assessment.measures import MEASURES, Window, take
from luoshi.assessment.tests.factories import Q3_AS_OF, Q3_END, Q3_START, office_scheme, shaped_item
from luoshi.ledgers.models import ProgressReport, ReportCycle, ReportStatus
from luoshi.supervision.models import Accountability, Finding, Inspection, Interview, SupervisionOrder

Q3 = Window(Q3_START, Q3_END, Q3_AS_OF)


def taken_for(world, names, window=Q3):
    scheme = getattr(world, "scheme", None) or office_scheme(world)
    world.scheme = scheme
    units = [world.lead_unit.pk, world.co_unit.pk, world.unrelated_unit.pk]
    return take(names, scheme=scheme, units=units, window=window)


def test_items_are_judged_against_their_assessed_deadline_as_lead_and_co_unit(world):
    on_time = shaped_item(
        world, co=[world.co_unit], deadline=dt.date(2026, 8, 31), completed_on=dt.date(2026, 8, 30)
    )
    late = shaped_item(
        world, co=[world.co_unit], deadline=dt.date(2026, 9, 10), completed_on=dt.date(2026, 9, 12)
    )
    open_ = shaped_item(world, deadline=dt.date(2026, 7, 31))
    # Extended without excuse: judged against the original date, so completing by the new one is late.
    extended = shaped_item(
        world,
        deadline=dt.date(2026, 11, 30),
        assessed_deadline=dt.date(2026, 9, 1),
        completed_on=dt.date(2026, 9, 20),
    )
    shaped_item(world, deadline=dt.date(2026, 10, 31))  # next quarter
    shaped_item(world, deadline=dt.date(2026, 6, 30), completed_on=dt.date(2026, 7, 2))  # last quarter's
    taken = taken_for(world, [name for name in MEASURES if MEASURES[name].family == "items"])
    lead, co = taken.values[world.lead_unit.pk], taken.values[world.co_unit.pk]
    assert lead["到期事项_牵头"] == 4
    assert lead["按时办结_牵头"] == 1
    assert lead["超期_牵头"] == 3
    assert lead["按时办结率_牵头"] == Decimal("0.25")
    assert lead["办结_牵头"] == 4
    assert (co["到期事项_配合"], co["按时办结_配合"], co["超期_配合"]) == (2, 1, 1)
    assert co["按时办结率_牵头"] == 1  # nothing led, nothing failed
    assert taken.items[world.lead_unit.pk]["超期_牵头"] == sorted([late.pk, open_.pk, extended.pk])
    assert taken.items[world.co_unit.pk]["按时办结_配合"] == [on_time.pk]
    assert taken.values[world.unrelated_unit.pk]["到期事项_牵头"] == 0


def test_a_deadline_is_judged_only_once_it_has_passed(world):
    shaped_item(world, deadline=dt.date(2026, 9, 30))
    early = Window(Q3_START, Q3_END, dt.date(2026, 9, 30))
    assert taken_for(world, ["超期_牵头"], early).values[world.lead_unit.pk]["超期_牵头"] == 0


def test_suspended_and_draft_items_are_not_counted(world):
    shaped_item(world, deadline=dt.date(2026, 8, 1), status="suspended")
    shaped_item(world, deadline=dt.date(2026, 8, 1), status="draft")
    assert taken_for(world, ["到期事项_牵头"]).values[world.lead_unit.pk]["到期事项_牵头"] == 0


def _report(item, unit, start, end, *, author, late=False, status=ReportStatus.SUBMITTED, submitted=None):
    return ProgressReport.objects.create(
        item=item,
        organisation=unit,
        period_start=start,
        period_end=end,
        text="进展",
        percent_complete=50,
        status=status,
        author=author,
        submitted_at=submitted,
        is_late=late,
    )


def test_late_and_missing_reports(world):
    # Monthly reports from July: July reported late, August not at all, September in time.
    item = shaped_item(world, deadline=dt.date(2026, 12, 31), report_cycle=ReportCycle.MONTHLY)
    at = timezone.make_aware(dt.datetime(2026, 8, 10, 9))
    _report(
        item,
        world.lead_unit,
        dt.date(2026, 7, 1),
        dt.date(2026, 7, 31),
        late=True,
        submitted=at,
        author=world.lead_liaison,
    )
    _report(
        item,
        world.lead_unit,
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 30),
        submitted=at,
        author=world.lead_liaison,
    )
    # A co-unit's report does not stand in for the lead unit's.
    _report(
        item, world.co_unit, dt.date(2026, 8, 1), dt.date(2026, 8, 31), submitted=at, author=world.co_liaison
    )
    # Completed in August: owes July only.
    done = shaped_item(world, deadline=dt.date(2026, 12, 31), completed_on=dt.date(2026, 8, 20))
    # A draft saved but never submitted is not a report.
    _report(
        done,
        world.lead_unit,
        dt.date(2026, 7, 1),
        dt.date(2026, 7, 31),
        status=ReportStatus.DRAFT,
        author=world.lead_liaison,
    )
    taken = taken_for(world, ["迟报", "漏报"])
    lead = taken.values[world.lead_unit.pk]
    assert lead["迟报"] == 1
    assert lead["漏报"] == 2  # August of the first item, July of the second
    assert taken.items[world.lead_unit.pk]["漏报"] == sorted([item.pk, done.pk])
    # On 09-01 August's report is still within its grace (due 08-31, two working days): not yet missing.
    early = taken_for(world, ["漏报"], Window(Q3_START, Q3_END, dt.date(2026, 9, 1)))
    assert early.values[world.lead_unit.pk]["漏报"] == 1


def test_office_records_of_the_period(world):
    item = shaped_item(world, deadline=dt.date(2026, 12, 31))
    common = {"office": world.office, "created_by": world.supervisor}
    for day in (dt.date(2026, 7, 5), dt.date(2026, 9, 30), dt.date(2026, 10, 1)):
        order = SupervisionOrder.objects.create(
            office=world.office,
            organisation=world.lead_unit,
            subject="督办",
            content="请抓紧",
            year=2026,
            serial=day.toordinal(),
            reply_deadline=day,
            issued_by=world.supervisor,
            issued_on=day,
        )
        order.items.add(item)
    Interview.objects.create(
        held_on=dt.date(2026, 8, 1),
        interviewer=world.leader,
        organisation=world.lead_unit,
        interviewee="局长",
        reason="进度滞后",
        **common,
    )
    Accountability.objects.create(
        form="criticism", organisation=world.co_unit, decided_on=dt.date(2026, 8, 2), reason="失职", **common
    )
    Accountability.objects.create(
        form="admonition", organisation=world.co_unit, decided_on=dt.date(2026, 9, 2), reason="失职", **common
    )
    inspection = Inspection.objects.create(
        title="明察暗访", kind="unannounced", planned_on=dt.date(2026, 7, 20), **common
    )
    fixed = shaped_item(world, deadline=dt.date(2026, 12, 31))
    Finding.objects.create(
        inspection=inspection,
        description="台账不全",
        organisation=world.lead_unit,
        found_on=dt.date(2026, 7, 20),
        problem=fixed,
        verified_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
        created_by=world.supervisor,
    )
    Finding.objects.create(
        inspection=inspection,
        description="未公示",
        organisation=world.lead_unit,
        found_on=dt.date(2026, 7, 20),
        created_by=world.supervisor,
    )
    taken = taken_for(
        world, ["督办单", "约谈", "问责", "通报批评", "发现问题", "整改完成", "整改完成率", "催办"]
    )
    lead, co = taken.values[world.lead_unit.pk], taken.values[world.co_unit.pk]
    assert (lead["督办单"], lead["约谈"], lead["问责"], co["问责"], co["通报批评"]) == (2, 1, 0, 2, 1)
    assert (lead["发现问题"], lead["整改完成"], lead["整改完成率"]) == (2, 1, Decimal("0.5"))
    assert taken.items[world.lead_unit.pk]["整改完成"] == [fixed.pk]
    assert co["整改完成率"] == 1
    assert lead["催办"] == 0
