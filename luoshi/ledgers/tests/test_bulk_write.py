"""``write_items``: the bulk write behind imports and outlines — all or nothing, constant queries."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.ledgers.models import EventKind, Item, ItemEvent, ItemStatus, WarningColor
from luoshi.ledgers.services import ItemRow, write_items
from luoshi.ledgers.tests.factories import LedgerFactory, LedgerFieldFactory

TODAY = dt.date(2026, 5, 20)


def _row(world, title, *, origin="第 1 行", **values):
    values = {
        "title": title,
        "lead_org_id": world.lead_unit.pk,
        "start_date": dt.date(2026, 1, 1),
        "deadline": dt.date(2026, 9, 30),
        **values,
    }
    co_org_ids = values.pop("co_org_ids", [])
    return ItemRow(values=values, origin=origin, co_org_ids=co_org_ids)


def _tree(world, children=2):
    parent = _row(world, "民生领域问题", origin="上级事项")
    rows = [parent]
    for number in range(1, children + 1):
        child = _row(
            world, f"任务{number}", origin=f"第 {number} 行", code=str(number), co_org_ids=[world.co_unit.pk]
        )
        child.parent = parent
        rows.append(child)
    return rows


def test_creates_parents_before_children_with_co_units_events_and_one_audit_row(world):
    before = AuditEvent.objects.count()

    result = write_items(
        ledger=world.ledger, user=world.supervisor, rows=_tree(world), source="台账.xlsx", on=TODAY
    )

    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    parent = Item.objects.get(ledger=world.ledger, title="民生领域问题")
    children = list(parent.children.order_by("code"))
    assert [child.title for child in children] == ["任务1", "任务2"]
    assert all(child.status == ItemStatus.DRAFT for child in children)
    assert [list(child.co_orgs.all()) for child in children] == [[world.co_unit], [world.co_unit]]
    assert children[0].original_deadline == dt.date(2026, 9, 30)
    assert children[0].warning_as_of == TODAY and parent.warning_as_of == TODAY
    assert children[0].warning_color == WarningColor.NOT_STARTED
    assert ItemEvent.objects.filter(item__in=[parent, *children], kind=EventKind.CREATED).count() == 3
    events = AuditEvent.objects.order_by("sequence")[before:]
    assert [event.action for event in events] == [AuditAction.IMPORT]
    assert events[0].after["source"] == "台账.xlsx" and events[0].after["created"] == 3
    ids = sorted(item.pk for item in [parent, *children])
    assert sum(end - start + 1 for start, end in events[0].after["created_ids"]) == len(ids)


def test_a_row_may_set_what_the_ledger_gives_by_default(world):
    row = _row(world, "每周调度", report_cycle="weekly", kind="measure")

    write_items(ledger=world.ledger, user=world.supervisor, rows=[row], source="x.xlsx", on=TODAY)

    item = Item.objects.get(pk=row.pk)
    assert (item.report_cycle, item.kind) == ("weekly", "measure")
    assert world.ledger.default_report_cycle == "monthly"


def test_one_bad_row_writes_nothing_and_names_every_bad_row(world):
    rows = _tree(world)
    rows[1].values["deadline"] = dt.date(2025, 12, 31)  # before the start date
    rows[2].values["lead_org_id"] = None
    items, audit = Item.objects.count(), AuditEvent.objects.count()

    with pytest.raises(ValidationError) as raised:
        write_items(ledger=world.ledger, user=world.supervisor, rows=rows, source="x.xlsx", on=TODAY)

    messages = raised.value.messages
    assert any(message.startswith("第 1 行：完成时限") for message in messages)
    assert any(message.startswith("第 2 行：牵头单位") for message in messages)
    assert Item.objects.count() == items and AuditEvent.objects.count() == audit


def test_custom_fields_are_checked_like_a_form(world):
    LedgerFieldFactory(ledger=world.ledger, key="budget", label="投资额", field_type="number")
    row = _row(world, "项目")
    row.extra = {"budget": "很多"}

    with pytest.raises(ValidationError) as raised:
        write_items(ledger=world.ledger, user=world.supervisor, rows=[row], source="x.xlsx", on=TODAY)

    assert "投资额" in raised.value.messages[0]
    row.extra = {"budget": "12.5"}
    write_items(ledger=world.ledger, user=world.supervisor, rows=[row], source="x.xlsx", on=TODAY)
    assert Item.objects.get(title="项目").extra == {"budget": "12.5"}


def test_an_update_bumps_the_version_records_the_change_and_leaves_unchanged_rows_alone(world):
    item = world.make_item(title="旧标题", deadline=dt.date(2026, 9, 30), start_date=dt.date(2026, 1, 1))
    same = world.make_item(title="不变", deadline=dt.date(2026, 9, 30), start_date=dt.date(2026, 1, 1))
    changed = _row(world, "新标题", co_org_ids=[world.co_unit.pk])
    changed.existing_pk, changed.version = item.pk, item.version
    unchanged = _row(world, "不变", origin="第 2 行")
    unchanged.existing_pk = same.pk
    for name in ("start_date", "deadline"):
        unchanged.values[name] = getattr(same, name)

    result = write_items(
        ledger=world.ledger, user=world.supervisor, rows=[changed, unchanged], source="x.xlsx", on=TODAY
    )

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    item.refresh_from_db()
    same.refresh_from_db()
    assert item.title == "新标题" and item.version == 2 and list(item.co_orgs.all()) == [world.co_unit]
    assert same.version == 1
    edit = ItemEvent.objects.get(item=item, kind=EventKind.EDITED)
    assert edit.data["changes"]["title"] == ["旧标题", "新标题"]


def test_an_item_edited_since_the_export_is_not_overwritten(world):
    item = world.make_item(title="原标题")
    stale = _row(world, "导出时的修改")
    stale.existing_pk, stale.version = item.pk, item.version
    Item.objects.filter(pk=item.pk).update(version=item.version + 1, title="他人修改")

    with pytest.raises(ValidationError, match="在导出后已被修改"):
        write_items(ledger=world.ledger, user=world.supervisor, rows=[stale], source="x.xlsx", on=TODAY)

    item.refresh_from_db()
    assert item.title == "他人修改"


def test_an_item_of_another_ledger_cannot_be_updated_through_this_one(world):
    other = LedgerFactory(owner_office=world.office, name="另一个台账")
    foreign = world.make_item(ledger=other, title="别的台账")
    row = _row(world, "冒充")
    row.existing_pk = foreign.pk

    with pytest.raises(ValidationError, match="不是本台账的事项"):
        write_items(ledger=world.ledger, user=world.supervisor, rows=[row], source="x.xlsx", on=TODAY)
    foreign.refresh_from_db()
    assert foreign.title == "别的台账"


@pytest.mark.parametrize("who", ["lead_liaison", "other_supervisor", "leader"])
def test_only_the_ledgers_supervisors_may_write(world, who):
    with pytest.raises(ValidationError, match="督办员"):
        write_items(ledger=world.ledger, user=getattr(world, who), rows=_tree(world), source="x", on=TODAY)
    assert not Item.objects.filter(title="民生领域问题").exists()


def test_queries_grow_with_batches_not_rows(world):
    """A few queries per batch of inserts (SQLite caps the parameters of one INSERT at 999), never per row."""

    def queries(children):
        with CaptureQueriesContext(connection) as captured:
            write_items(
                ledger=world.ledger, user=world.supervisor, rows=_tree(world, children), source="x", on=TODAY
            )
        return len(captured)

    few, many = queries(5), queries(300)
    assert many - few < 300 / 10
