"""``insert_rows``: plain rows inserted as ``bulk_create`` would store them, each distinct value prepared once."""

import datetime as dt

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone

from luoshi.core.bulk import insert_rows, update_rows
from luoshi.ledgers.models import EventKind, Item, ItemEvent

# Every column of a timeline entry: insert_rows gives no defaults.
EVENTS = [
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


def test_rows_are_stored_as_the_orm_stores_them(world):
    at = timezone.make_aware(dt.datetime(2026, 5, 20, 9, 30, 15, 123456))
    shared = {"source": "台账.xlsx", "n": [1, 2]}
    other = world.make_item(title="另一项")

    count = insert_rows(
        ItemEvent,
        EVENTS,
        [
            (world.item.pk, EventKind.CREATED, world.supervisor.pk, at, "", "", "", "", None, shared),
            (other.pk, EventKind.EDITED, None, at, "", "", "", "引号'与\"", None, shared),
        ],
    )

    assert count == 2
    first = ItemEvent.objects.get(item=world.item, kind=EventKind.CREATED, created_at=at)
    assert (first.actor, first.data) == (world.supervisor, shared)
    second = ItemEvent.objects.get(item=other, kind=EventKind.EDITED)
    assert second.actor is None and second.comment == "引号'与\"" and second.created_at == at


def test_text_that_means_something_to_copy_or_sql_is_stored_as_given(world):
    """PostgreSQL takes the rows by COPY: tabs, newlines, backslashes and \\N stay text, None is NULL."""
    text = "制表\t换行\n反斜杠\\ \\N 引号'\"；"
    at = timezone.now()
    insert_rows(
        ItemEvent, EVENTS, [(world.item.pk, EventKind.COMMENT, None, at, "", "", "", text, None, {"k": text})]
    )
    stored = ItemEvent.objects.get(item=world.item, kind=EventKind.COMMENT, created_at=at)
    assert (stored.comment, stored.data, stored.actor_id, stored.report_id) == (text, {"k": text}, None, None)


def test_link_rows_and_an_empty_call(world):
    through = Item.co_orgs.through
    assert insert_rows(through, ["item", "organisation"], []) == 0

    insert_rows(through, ["item", "organisation"], [(world.item.pk, world.unrelated_unit.pk)])

    assert set(world.item.co_orgs.all()) == {world.co_unit, world.unrelated_unit}


def test_values_that_compare_equal_keep_their_own_form(world):
    """0, False and "" are distinct cache keys: each column gets exactly what was given."""
    at = timezone.now()
    insert_rows(
        ItemEvent,
        EVENTS,
        [(world.item.pk, EventKind.COMMENT, None, at, "", "", "", "0", None, {"value": 0})],
    )

    event = ItemEvent.objects.get(kind=EventKind.COMMENT, item=world.item)
    assert event.comment == "0" and event.data == {"value": 0}


def test_an_unknown_field_is_refused_before_anything_is_sent(world):
    with pytest.raises(FieldDoesNotExist):
        insert_rows(ItemEvent, ["item", "nonexistent"], [(world.item.pk, 1)])


def test_documents_made_row_by_row_keep_their_own_values(world):
    # A generator makes one short-lived dict per row; a freed dict's id is reused by the next one, so
    # a cache keyed by id alone stored the first row's document on every later row.
    at = timezone.now()
    days = [f"2026-11-{day:02d}" for day in range(1, 21)]
    insert_rows(
        ItemEvent,
        EVENTS,
        (
            (world.item.pk, EventKind.COMMENT, None, at, "", "", "", "", None, {"deadline": day})
            for day in days
        ),
    )
    stored = ItemEvent.objects.filter(item=world.item, kind=EventKind.COMMENT).order_by("pk")
    assert [event.data["deadline"] for event in stored] == days


def test_update_rows_sets_the_named_fields_of_each_row_only(world):
    other = world.make_item(title="另一项")
    day = dt.date(2026, 11, 23)
    version = Item.objects.get(pk=world.item.pk).version
    fields = ["warning_color", "warning_reason_args", "warning_as_of"]

    count = update_rows(
        Item,
        fields,
        [("red", {"gap": 35}, day, world.item.pk), ("yellow", {"引号": "'\""}, day, other.pk)],
    )

    assert count == 2
    assert list(
        Item.objects.filter(pk__in=[world.item.pk, other.pk]).order_by("pk").values_list(*fields)
    ) == [
        ("red", {"gap": 35}, day),
        ("yellow", {"引号": "'\""}, day),
    ]
    stored = Item.objects.get(pk=world.item.pk)
    assert (stored.title, stored.version) == (world.item.title, version)
    assert update_rows(Item, fields, []) == 0
