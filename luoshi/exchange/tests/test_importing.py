"""The import pipeline: a read table planned row by row, then written all or nothing, re-imports updating."""

import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import ValidationError

from luoshi.exchange.importing import plan_import, year_of
from luoshi.exchange.services import import_plan
from luoshi.exchange.workbook import read_table
from luoshi.ledgers.models import Item
from luoshi.ledgers.tests.factories import LedgerFactory, LedgerFieldFactory
from luoshi.orgs.models import OrgKind
from luoshi.orgs.tests.factories import OrganisationFactory

SAMPLES = Path(__file__).resolve().parent / "samples"  # copies of ../shared/samples


def _sample_table():
    with open(f"{SAMPLES}/ledger_sample.xlsx", "rb") as upload:
        return read_table(upload, name="ledger_sample.xlsx")


def _table(rows, *, merges=(), title="2026年重点工作台账"):
    """A workbook as offices make them: a title row above the header, then ``rows``."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([title])
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    stream = io.BytesIO()
    book.save(stream)
    stream.seek(0)
    return read_table(stream, name="台账.xlsx")


def test_the_sample_ledger_reads_as_expected(sample_district):
    with open(f"{SAMPLES}/ledger_sample.expected.json", encoding="utf-8") as expected_file:
        expected = json.load(expected_file)

    plan = plan_import(_sample_table())

    assert plan.year == 2026
    assert len(plan.rows) == expected["count"]
    for row, wanted in zip(plan.rows, expected["rows"], strict=True):
        assert wanted["title_has"] in row.title
        assert wanted["parent_has"] in row.parent
        assert row.lead_org == wanted["lead_org"]
        assert row.co_orgs == wanted["co_orgs"]
        assert (row.deadline.isoformat() if row.deadline else None) == wanted["deadline"]
        assert row.standing == wanted["standing"]
        assert row.errors == []
    assert [row.lead_leader for row in plan.rows] == ["陈志远", "陈志远", "林海", "林海", "林海", "黄敏"]
    assert plan.rows[0].as_dict()["cycle"] is None
    assert plan.rows[1].cycle is None and plan.rows[1].standing


def test_names_that_match_nothing_are_errors_in_their_cell_and_gathered_once(world):
    plan = plan_import(_sample_table())

    first = plan.rows[0]
    assert any(str(error).startswith("F列（责任单位）：找不到单位「区委办」") for error in first.errors)
    assert any(str(error).startswith("E列（责任领导）：找不到领导「陈志远」") for error in first.errors)
    unresolved = {(entry.kind, entry.name): entry for entry in plan.unresolved}
    assert unresolved[("leader", "林海")].rows == [6, 7, 8]
    assert not plan.ok


def test_a_name_mapped_once_resolves_in_every_row(sample_district):
    OrganisationFactory(name="区住房和城乡建设局", short_name="住建", parent=sample_district.government)
    table = _table(
        [
            ["序号", "重点任务", "牵头单位", "完成时限"],
            [1, "任务一", "住建部门", "2026年6月"],
            [2, "任务二", "住建部门", "2026年7月"],
        ]
    )
    target = OrganisationFactory(name="区住房保障中心", parent=sample_district.government)

    assert not plan_import(table).ok
    plan = plan_import(table, unit_names={"住建部门": target.pk})

    assert plan.ok and {row.lead_org_id for row in plan.rows} == {target.pk}


def test_with_a_lead_column_the_responsible_units_are_co_units(world):
    table = _table(
        [
            ["序号", "重点任务", "牵头单位", "责任单位", "完成时限"],
            [1, "任务", "区发改局", "区财政局、区教育局", "9月底"],
        ]
    )

    row = plan_import(table).rows[0]

    assert row.lead_org_id == world.lead_unit.pk
    assert row.co_org_ids == [world.co_unit.pk, world.unrelated_unit.pk]


def test_without_a_lead_column_the_unit_marked_lead_or_the_first_responsible_one_leads(world):
    table = _table(
        [
            ["序号", "重点任务", "责任单位", "配合单位", "完成时限"],
            [1, "标注牵头", "区财政局、区发改局（牵头）", "区教育局", "9月底"],
            [2, "首个牵头", "区财政局、区发改局", "", "9月底"],
        ]
    )

    marked, first = plan_import(table).rows

    assert marked.lead_org == "区发改局" and marked.lead_org_id == world.lead_unit.pk
    assert marked.co_org_ids == [world.co_unit.pk, world.unrelated_unit.pk]
    assert first.lead_org_id == world.co_unit.pk and first.co_org_ids == [world.lead_unit.pk]


def test_groups_of_units_are_kept_as_written_as_co_units_and_refused_as_the_lead(world):
    table = _table(
        [
            ["序号", "重点任务", "牵头单位", "配合单位", "完成时限"],
            [1, "任务", "区发改局", "各镇（街道）、区财政局、区直有关部门", "长期坚持"],
            [2, "群体牵头", "各镇（街道）", "", "长期坚持"],
        ]
    )

    group_as_co, group_as_lead = plan_import(table).rows

    assert group_as_co.errors == []
    assert group_as_co.co_orgs == ["各镇（街道）", "区财政局", "区直有关部门"]
    assert group_as_co.co_org_ids == [world.co_unit.pk]
    assert group_as_co.other_units == ["各镇（街道）", "区直有关部门"]
    assert [str(error) for error in group_as_lead.errors] == [
        "C列（牵头单位）：牵头单位「各镇（街道）」不是一个具体单位，请写明由哪个单位牵头。"
    ]


def test_deadline_and_cycle_problems_name_their_column(world):
    table = _table(
        [
            ["序号", "重点任务", "牵头单位", "完成时限", "调度频次"],
            [1, "日期不明", "区发改局", "尽快", "每月"],
            [2, "频次不明", "区发改局", "2026年6月30日", "随时"],
            [3, "时限为空", "区发改局", "", ""],
        ]
    )

    unreadable, bad_cycle, empty = plan_import(table).rows

    assert str(unreadable.errors[0]).startswith("D列（完成时限）：无法识别完成时限「尽快」。可填写：")
    assert unreadable.cycle == "monthly"
    assert str(bad_cycle.errors[0]).startswith("E列（调度频次）：调度频次「随时」无法识别")
    assert str(empty.errors[0]) == "D列（完成时限）：完成时限为空，请填写日期或「长期坚持」。"


def test_the_year_comes_from_the_ledger_then_the_title(world):
    table = _table(
        [["重点任务", "牵头单位", "完成时限"], ["任务", "区发改局", "6月30日"]], title="2025年工作台账"
    )
    ledger = LedgerFactory(owner_office=world.office, name="2027年台账", year=2027)

    assert year_of(table) == 2025
    assert plan_import(table).rows[0].deadline == dt.date(2025, 6, 30)
    assert plan_import(table, ledger=ledger).rows[0].deadline == dt.date(2027, 6, 30)
    untitled = _table(
        [["重点任务", "牵头单位", "完成时限"], ["任务", "区发改局", "6月30日"]], title="工作台账"
    )
    assert year_of(untitled, today=dt.date(2031, 1, 5)) == 2031


def test_a_blank_parent_cell_under_a_filled_one_belongs_to_the_same_parent(world):
    table = _table(
        [
            ["序号", "重点工作", "具体任务", "牵头单位", "完成时限"],
            [1, "项目建设", "任务一", "区发改局", "9月"],
            [2, "", "任务二", "区发改局", "9月"],
            [3, "营商环境", "任务三", "区发改局", "9月"],
        ]
    )

    assert [row.parent for row in plan_import(table).rows] == ["项目建设", "项目建设", "营商环境"]


def test_a_key_used_twice_is_an_error(world):
    table = _table(
        [
            ["序号", "重点任务", "牵头单位", "完成时限"],
            [1, "任务一", "区发改局", "9月"],
            [1, "任务二", "区发改局", "9月"],
        ]
    )

    assert [str(error) for error in plan_import(table).rows[1].errors] == [
        "A列（序号）：与第 3 行重复，同一个编号只能出现一次。"
    ]


def test_custom_fields_are_read_into_extra(world):
    LedgerFieldFactory(ledger=world.ledger, key="budget", label="投资额（万元）", field_type="number")
    LedgerFieldFactory(ledger=world.ledger, key="checked", label="验收日期", field_type="date")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["重点任务", "牵头单位", "完成时限", "投资额（万元）", "验收日期"])
    sheet.append(["任务", "区发改局", "9月", 1200, "2026年10月8日"])
    stream = io.BytesIO()
    book.save(stream)
    stream.seek(0)
    table = read_table(
        stream, name="x.xlsx", custom_labels={"投资额（万元）": "budget", "验收日期": "checked"}
    )

    row = plan_import(table, ledger=world.ledger).rows[0]

    assert row.errors == []
    assert row.extra == {"budget": "1200", "checked": "2026-10-08"}


# Writing ------------------------------------------------------------------------------------------


def test_the_sample_is_written_as_parents_and_children_and_a_reimport_updates_it(sample_district):
    world = sample_district
    before = Item.objects.filter(ledger=world.ledger).count()

    first = import_plan(
        plan=plan_import(_sample_table(), ledger=world.ledger),
        ledger=world.ledger,
        user=world.supervisor,
        source="ledger_sample.xlsx",
    )

    assert (first.created, first.updated) == (9, 0)  # three parents, six items
    items = Item.objects.filter(ledger=world.ledger)
    assert items.count() == before + 9
    lift = items.get(code="3")
    assert lift.parent.title == "民生领域问题"
    assert [org.name for org in lift.co_orgs.all()] == ["区财政局"]
    assert lift.other_units == "各街道"
    assert lift.lead_leader.full_name == "林海"
    assert lift.deadline == dt.date(2026, 9, 30)
    formula = items.get(code="6")
    assert formula.title == "=SUM(1,2)样式的单元格内容"
    parent = lift.parent
    assert parent.lead_org.name == "区住建局" or parent.lead_org == world.office
    assert parent.deadline == dt.date(2026, 12, 31)

    again = import_plan(
        plan=plan_import(_sample_table(), ledger=world.ledger),
        ledger=world.ledger,
        user=world.supervisor,
        source="ledger_sample.xlsx",
    )

    assert (again.created, again.updated, again.unchanged) == (0, 0, 9)
    assert Item.objects.filter(ledger=world.ledger).count() == before + 9


def test_a_changed_row_updates_its_item_by_key(world):
    rows = [["序号", "重点任务", "牵头单位", "完成时限"], [1, "任务一", "区发改局", "9月"]]
    import_plan(
        plan=plan_import(_table(rows), ledger=world.ledger),
        ledger=world.ledger,
        user=world.supervisor,
        source="a",
    )
    rows[1] = [1, "任务一（修订）", "区财政局", "10月"]

    result = import_plan(
        plan=plan_import(_table(rows), ledger=world.ledger),
        ledger=world.ledger,
        user=world.supervisor,
        source="b",
    )

    assert (result.created, result.updated) == (0, 1)
    item = Item.objects.get(ledger=world.ledger, code="1")
    assert (item.title, item.lead_org, item.deadline) == (
        "任务一（修订）",
        world.co_unit,
        dt.date(2026, 10, 31),
    )
    assert item.version == 2


def test_the_system_id_of_an_exported_file_matches_the_item_and_guards_its_version(world):
    item = world.item
    rows = [
        ["重点任务", "牵头单位", "完成时限", "系统编号"],
        ["改名", "区发改局", "12月", f"{item.pk}:{item.version}"],
    ]

    result = import_plan(
        plan=plan_import(_table(rows), ledger=world.ledger),
        ledger=world.ledger,
        user=world.supervisor,
        source="export.xlsx",
    )

    assert result.updated == 1
    item.refresh_from_db()
    assert item.title == "改名"
    rows[1][0] = "再改"  # the same file again: its version is now stale
    with pytest.raises(ValidationError, match="在导出后已被修改"):
        import_plan(
            plan=plan_import(_table(rows), ledger=world.ledger),
            ledger=world.ledger,
            user=world.supervisor,
            source="export.xlsx",
        )


def test_a_plan_with_any_error_writes_nothing(world):
    rows = [
        ["序号", "重点任务", "牵头单位", "完成时限"],
        [1, "好的一行", "区发改局", "9月"],
        [2, "坏的一行", "不存在的局", "9月"],
    ]
    before = Item.objects.count()

    with pytest.raises(ValidationError) as raised:
        import_plan(
            plan=plan_import(_table(rows), ledger=world.ledger),
            ledger=world.ledger,
            user=world.supervisor,
            source="x",
        )

    [message] = raised.value.messages
    assert message.startswith("第 4 行：C列（牵头单位）：找不到单位「不存在的局」。")
    assert Item.objects.count() == before


def test_a_group_in_an_office_column_is_not_a_unit_of_that_name(world):
    OrganisationFactory(name="各镇", kind=OrgKind.OTHER, parent=world.government)
    table = _table([["重点任务", "牵头单位", "完成时限"], ["任务", "各镇", "9月"]])

    row = plan_import(table).rows[0]

    assert row.errors == [] and row.lead_org == "各镇"
