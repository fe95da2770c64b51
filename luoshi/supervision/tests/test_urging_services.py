"""催办: the service, its refusals (all or nothing, outside scope), and the counts per item and unit."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from luoshi.ledgers.models import EventKind, Item, ItemStatus, Ledger
from luoshi.ledgers.tests.factories import advance
from luoshi.notifications.models import Event, Notification
from luoshi.supervision import selectors, services
from luoshi.supervision.models import Urge


def _open_item(world, **fields):
    fields.setdefault("owner", world.handler)
    return world.advance(world.make_item(**fields), ItemStatus.IN_PROGRESS)


def test_urge_records_counts_notifies_and_copies_the_leader(world):
    item = _open_item(world)
    [urge] = services.urge(items=[item], user=world.supervisor, message="  请本周内报送进展  ")

    assert urge.message == "请本周内报送进展"
    assert (urge.organisation, urge.recipient, urge.urged_by) == (
        world.lead_unit,
        world.handler,
        world.supervisor,
    )
    assert Item.objects.get(pk=item.pk).urge_count == 1
    event = item.events.get(kind=EventKind.URGED)
    assert event.comment == "请本周内报送进展" and event.data == {"urge": urge.pk}
    told = Notification.objects.filter(key=f"urge:{urge.pk}", event=Event.URGED)
    assert set(told.values_list("recipient__username", flat=True)) == {"lead_liaison", "handler", "leader"}


def test_an_empty_message_sends_the_usual_words(world):
    item = _open_item(world)
    [urge] = services.urge(items=[item], user=world.supervisor, message="")
    assert urge.message == "请抓紧推进并按时报送进展。"


def test_bulk_urge_counts_each_item_once_per_urge(world):
    first = _open_item(world)
    second = advance(
        world.make_item(lead_org=world.co_unit),
        ItemStatus.IN_PROGRESS,
        supervisor=world.supervisor,
        liaison=world.co_liaison,
    )
    services.urge(items=[first, second], user=world.supervisor, message="加快")
    services.urge(items=[first], user=world.supervisor, message="再催")

    assert Item.objects.get(pk=first.pk).urge_count == 2
    assert Item.objects.get(pk=second.pk).urge_count == 1
    assert selectors.urge_counts_by_item(world.supervisor) == {first.pk: 2, second.pk: 1}
    by_unit = selectors.urge_counts_by_unit(world.supervisor, ledger=world.ledger)
    assert [(row["organisation__name"], row["count"]) for row in by_unit] == [
        ("区发展和改革局", 2),
        ("区财政局", 1),
    ]
    # The unit's own liaison sees the urges of its items, not those of another unit.
    assert selectors.urge_counts_by_item(world.co_liaison) == {second.pk: 1}
    assert list(selectors.item_urges(first).values_list("message", flat=True)) == ["再催", "加快"]


def test_count_filters_by_date(world):
    item = _open_item(world)
    [urge] = services.urge(items=[item], user=world.supervisor, message="加快")
    # The window is in local days: 23:00 in UTC is already tomorrow in Asia/Shanghai.
    day = timezone.localdate(urge.created_at)
    assert selectors.urge_counts_by_item(world.supervisor, since=day, until=day) == {item.pk: 1}
    assert selectors.urge_counts_by_unit(world.supervisor, since=day.replace(year=day.year + 1)) == []


def test_an_item_outside_the_users_scope_refuses_the_whole_batch_by_name(world):
    mine = _open_item(world)
    ledger = Ledger.objects.create(name="市级台账", year=2026, owner_office=world.other_office)
    foreign = world.make_item(title="外台账事项", ledger=ledger, user=world.other_supervisor)

    with pytest.raises(ValidationError) as caught:
        services.urge(items=[mine, foreign], user=world.supervisor, message="加快")

    assert caught.value.messages == ["「外台账事项」不在您的督办范围内，不能催办；本次没有催办任何事项。"]
    assert not Urge.objects.exists()
    assert Item.objects.get(pk=mine.pk).urge_count == 0
    assert not Notification.objects.filter(event=Event.URGED).exists()


def test_a_reader_who_does_not_supervise_the_ledger_may_not_urge(world):
    item = _open_item(world)
    with pytest.raises(ValidationError, match="不是您所在督办单位的台账事项"):
        services.urge(items=[item], user=world.leader, message="加快")
    assert not Urge.objects.exists()


@pytest.mark.parametrize(
    ("status", "words"),
    [(ItemStatus.COMPLETED, "已办结"), (ItemStatus.DRAFT, "尚未交办"), (ItemStatus.SUSPENDED, "已中止")],
)
def test_items_not_under_way_are_not_urged(world, status, words):
    open_item = _open_item(world)
    other = world.advance(world.make_item(title="另一事项"), status)
    with pytest.raises(ValidationError, match=f"「另一事项」.*{words}"):
        services.urge(items=[open_item, other], user=world.supervisor, message="加快")
    assert not Urge.objects.exists()


def test_nothing_to_urge_is_refused(world):
    with pytest.raises(ValidationError, match="请先勾选"):
        services.urge(items=[], user=world.supervisor, message="加快")


def test_an_overlong_message_is_refused(world):
    with pytest.raises(ValidationError, match="2000"):
        services.urge(items=[_open_item(world)], user=world.supervisor, message="快" * 2001)
