"""issue_order: the one way a 督办单 or a notice of the ladder is written, by a person or by a rule."""

import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from luoshi.ledgers.models import EventKind, ItemStatus
from luoshi.notifications.models import Event, Notification
from luoshi.orgs.tests.factories import leader as make_leader
from luoshi.supervision import services
from luoshi.supervision.models import OrderEvent, OrderKind, SupervisionOrder
from luoshi.testing.databases import at_once, file_database

ON = dt.date(2026, 11, 23)


def _issue(world, **overrides):
    fields = {
        "office": world.office,
        "organisation": world.lead_unit,
        "items": [world.item],
        "subject": "关于加快推进重大项目建设的督办单",
        "content": "请于回复时限前报送办理情况。",
        "reply_deadline": ON + dt.timedelta(days=7),
        "user": world.supervisor,
        "on": ON,
    }
    fields.update(overrides)
    return services.issue_order(**fields)


def test_issue_numbers_copies_records_and_notifies(world):
    world.advance(world.item, ItemStatus.IN_PROGRESS)
    first = _issue(world)
    second = _issue(world)
    notice = _issue(world, kind=OrderKind.URGE_NOTICE)

    assert (first.serial, second.serial, notice.serial) == (1, 2, 1)
    assert first.number == "督〔2026〕1号" and notice.number == "催〔2026〕1号"
    assert first.issued_by == world.supervisor and first.issued_on == ON
    # The leader in charge of the unit (who is also the item's lead leader), once.
    assert list(first.copy_to.all()) == [world.leader]
    assert list(first.items.all()) == [world.item]
    assert OrderEvent.objects.get(order=first).action == "issued"
    event = world.item.events.filter(kind=EventKind.ORDER_ISSUED).first()
    assert event.data["number"] == notice.number
    told = set(
        Notification.objects.filter(key=f"order:{first.pk}").values_list("recipient__username", flat=True)
    )
    assert told == {"lead_liaison", "handler", "leader"}
    assert Notification.objects.filter(key=f"order:{first.pk}", event=Event.ORDER_ISSUED).count() == 3


def test_copy_to_given_replaces_the_default_and_rules_issue_without_a_user(world):
    other = make_leader(world.government, charges=[], username="other_leader", full_name="陈副区长")
    order = _issue(world, copy_to=[other], user=None, kind=OrderKind.SUPERVISION_NOTICE)
    assert list(order.copy_to.all()) == [other]
    assert order.issued_by is None and order.number == "督通〔2026〕1号"


def test_leaders_in_charge_of_a_sub_unit_are_those_of_the_nearest_unit_above(world):
    assert services.leaders_in_charge(world.sub_unit) == [world.leader]
    assert services.leaders_in_charge(world.unrelated_unit) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"items": []}, "items"),
        ({"subject": "  "}, "subject"),
        ({"reply_deadline": ON - dt.timedelta(days=1)}, "reply_deadline"),
        ({"colour": "red"}, "colour"),
        ({"kind": OrderKind.INSPECTION_NOTICE, "colour": "purple"}, "colour"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(world, overrides, field):
    with pytest.raises(ValidationError) as caught:
        _issue(world, **overrides)
    assert field in caught.value.message_dict
    assert not SupervisionOrder.objects.exists()


def test_coloured_inspection_notice(world):
    order = _issue(world, kind=OrderKind.INSPECTION_NOTICE, colour="orange")
    assert order.colour == "orange" and order.number == "督查〔2026〕1号"


def test_an_item_outside_the_issuers_scope_is_refused_by_name(world):
    with pytest.raises(ValidationError, match="推进重大项目建设"):
        _issue(world, user=world.other_supervisor, office=world.other_office)
    with pytest.raises(ValidationError, match="督办员"):
        _issue(world, office=world.other_office)
    assert not SupervisionOrder.objects.exists()


def test_a_clash_on_the_number_is_retried_with_the_next(world):
    _issue(world)
    real = services._next_serial
    answers = iter([1])

    def stale_then_real(kind, year):
        return next(answers, None) or real(kind, year)

    with mock.patch.object(services, "_next_serial", side_effect=stale_then_real):
        order = _issue(world)
    assert order.serial == 2


@pytest.mark.django_db(transaction=True)
def test_two_issuers_at_once_get_different_numbers(world, tmp_path):
    with file_database(tmp_path):
        orders, errors = at_once(lambda: _issue(world))

        assert errors == []
        serials = [order.serial for order in orders]
        assert sorted(serials) == [1, 2]
        assert SupervisionOrder.objects.count() == 2
