"""Closure rates per inspection, unit and ledger; the inspection list's annotations; scoping."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from luoshi.supervision import selectors, services
from luoshi.supervision.models import Inspection, InspectionKind
from luoshi.supervision.tests.test_inspections_services import TODAY, assign, find, plan, rectify


def closed_problem(world, inspection):
    finding = find(world, inspection)
    problem = assign(world, finding)
    rectify(world, problem)
    services.verify_rectification(finding=finding, user=world.supervisor, comment="合格", passed=True)
    services.close_problem(finding=finding, user=world.supervisor)
    return finding


def test_rates_per_inspection_unit_and_ledger(world):
    inspection = plan(world)
    closed_problem(world, inspection)
    assign(world, find(world, inspection, organisation=world.co_unit))
    find(world, inspection)  # never assigned: not a problem
    by_inspection = selectors.closure_rates(world.supervisor, "inspection")
    assert by_inspection == [
        {
            "id": inspection.pk,
            "label": inspection.title,
            "problems": 2,
            "closed": 1,
            "verified": 1,
            "overdue": 0,
            "rate": 50,
        }
    ]
    by_unit = {row["label"]: row for row in selectors.closure_rates(world.supervisor, "unit")}
    assert by_unit[world.lead_unit.name]["rate"] == 100
    assert by_unit[world.co_unit.name]["rate"] == 0
    (ledger_row,) = selectors.closure_rates(world.supervisor, "ledger")
    assert ledger_row["label"] == f"{TODAY.year}年问题整改台账" and ledger_row["problems"] == 2


def test_overdue_counts_open_problems_past_deadline(world):
    inspection = plan(world)
    assign(world, find(world, inspection))
    later = TODAY + dt.timedelta(days=60)
    (row,) = selectors.closure_rates(world.supervisor, "unit", today=later)
    assert row["overdue"] == 1 and row["rate"] == 0


def test_rates_are_scoped(world):
    inspection = plan(world)
    closed_problem(world, inspection)
    assert selectors.closure_rates(world.other_supervisor, "unit") == []
    assert selectors.closure_rates(world.unrelated_liaison, "ledger") == []
    # The responsible unit sees its own problems.
    assert [row["label"] for row in selectors.closure_rates(world.lead_liaison, "unit")] == [
        world.lead_unit.name
    ]


def test_inspection_list_annotations(world):
    inspection = plan(world)
    closed_problem(world, inspection)
    find(world, inspection)
    row = selectors.inspection_list(world.supervisor).get(pk=inspection.pk)
    assert (row.findings_count, row.problems, row.closed, row.verified) == (2, 1, 1, 1)
    assert selectors.closure_rate(row.closed, row.problems) == 100


def _count_queries(call):
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def test_closure_rate_queries_do_not_grow(world):
    def rates():
        for by in ("inspection", "unit", "ledger"):
            selectors.closure_rates(world.supervisor, by)

    inspection = plan(world)
    assign(world, find(world, inspection))
    rates()  # the user's access profile is read once and cached
    few = _count_queries(rates)
    for unit in (world.co_unit, world.lead_unit):
        assign(world, find(world, plan(world), organisation=unit))
    assert _count_queries(rates) == few == 3


def test_unannounced_inspection_is_invisible_to_targets(world):
    inspection = plan(world, kind=InspectionKind.UNANNOUNCED)
    find(world, inspection)
    for user in (world.lead_liaison, world.handler, world.co_liaison, world.sub_liaison):
        assert not Inspection.objects.visible_to(user).filter(pk=inspection.pk).exists()
        assert not selectors.inspection_list(user).exists()
        assert selectors.closure_rates(user, "unit") == []
    services.mark_inspection_done(inspection=inspection, user=world.supervisor)
    assert not selectors.inspection_list(world.lead_liaison).exists()


def test_team_member_sees_the_inspection(world):
    inspection = plan(world, team=[world.supervisor, world.co_liaison])
    assert selectors.inspection_list(world.co_liaison).filter(pk=inspection.pk).exists()
    assert not selectors.inspection_list(world.unrelated_liaison).exists()
