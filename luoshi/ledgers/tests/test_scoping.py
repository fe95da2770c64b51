"""Who sees which ledgers, items, reports, files and extension requests (``visible_to``)."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from luoshi.core.tests import files
from luoshi.core.tests.files import upload
from luoshi.ledgers import services
from luoshi.ledgers.models import Evidence, ExtensionRequest, Item, ItemStatus, Ledger, ProgressReport
from luoshi.ledgers.tests.factories import ItemFactory, LedgerFactory, advance
from luoshi.orgs.models import User


@pytest.fixture
def scene(world):
    """The world plus items placed to tell each scoping rule apart, all assigned (drafts are apart).

    - ``world.item``: lead_unit, co-unit co_unit, lead leader ``leader``
    - ``sub_item``: led by sub_unit (inside lead_unit, and inside the leader's charge)
    - ``unrelated_item``: led by unrelated_unit, no leader
    - ``led_elsewhere``: led by unrelated_unit with ``leader`` as lead leader
    - ``foreign_item``: in another office's ledger, led by lead_unit
    """
    w = world
    w.sub_item = w.make_item(title="子单位事项", lead_org=w.sub_unit)
    w.unrelated_item = w.make_item(title="无关事项", lead_org=w.unrelated_unit)
    w.led_elsewhere = w.make_item(title="领导牵头事项", lead_org=w.unrelated_unit, lead_leader=w.leader)
    w.foreign_ledger = LedgerFactory(name="市级台账", owner_office=w.other_office)
    w.foreign_item = ItemFactory(
        ledger=w.foreign_ledger, title="市级事项", lead_org=w.lead_unit, user=w.other_supervisor
    )
    for name in ("item", "sub_item", "unrelated_item", "led_elsewhere"):
        setattr(w, name, w.advance(getattr(w, name), ItemStatus.ASSIGNED))
    w.foreign_item = advance(
        w.foreign_item, ItemStatus.ASSIGNED, supervisor=w.other_supervisor, liaison=w.lead_liaison
    )
    return w


EXPECTED_ITEMS = {
    "supervisor": {"item", "sub_item", "unrelated_item", "led_elsewhere"},
    "other_supervisor": {"foreign_item"},
    "leader": {"item", "sub_item", "led_elsewhere", "foreign_item"},
    "lead_liaison": {"item", "sub_item", "foreign_item"},
    "handler": {"item", "sub_item", "foreign_item"},
    "sub_liaison": {"sub_item"},
    "co_liaison": {"item"},
    "unrelated_liaison": {"unrelated_item", "led_elsewhere"},
    "system_admin": set(),
    "security_admin": set(),
    "audit_admin": set(),
}
ITEM_NAMES = ("item", "sub_item", "unrelated_item", "led_elsewhere", "foreign_item")


def _fresh(user):
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize(("who", "expected"), sorted(EXPECTED_ITEMS.items()))
def test_items_visible_per_role(scene, who, expected):
    visible = set(Item.objects.visible_to(_fresh(getattr(scene, who))).values_list("pk", flat=True))
    assert visible == {getattr(scene, name).pk for name in expected}


def test_no_duplicates_when_several_rules_match(scene):
    # The leader matches world.item both as lead leader and through the charge.
    rows = list(Item.objects.visible_to(_fresh(scene.leader)).values_list("pk", flat=True))
    assert len(rows) == len(set(rows))


def test_unrelated_liaison_sees_nothing_of_the_world(world):
    assert not Item.objects.visible_to(world.unrelated_liaison).exists()
    assert not Ledger.objects.visible_to(world.unrelated_liaison).exists()


def test_anonymous_and_inactive_see_nothing(scene):
    assert not Item.objects.visible_to(AnonymousUser()).exists()
    assert not Ledger.objects.visible_to(AnonymousUser()).exists()
    User.objects.filter(pk=scene.supervisor.pk).update(is_active=False)
    assert not Item.objects.visible_to(_fresh(scene.supervisor)).exists()


def test_user_without_roles_sees_nothing(scene):
    nobody = User.objects.create_user(username="nobody", full_name="无角色")
    assert not Item.objects.visible_to(nobody).exists()
    assert not Ledger.objects.visible_to(nobody).exists()


EXPECTED_LEDGERS = {
    "supervisor": {"ledger"},  # its office's ledger only
    "other_supervisor": {"foreign_ledger"},
    "leader": {"ledger", "foreign_ledger"},
    "lead_liaison": {"ledger", "foreign_ledger"},
    "co_liaison": {"ledger"},
    "sub_liaison": {"ledger"},
    "unrelated_liaison": {"ledger"},
    "system_admin": set(),
    "audit_admin": set(),
}


@pytest.mark.parametrize(("who", "expected"), sorted(EXPECTED_LEDGERS.items()))
def test_ledgers_visible_per_role(scene, who, expected):
    visible = set(Ledger.objects.visible_to(_fresh(getattr(scene, who))).values_list("pk", flat=True))
    assert visible == {getattr(scene, name).pk for name in expected}


def test_supervisor_sees_own_office_ledger_even_when_empty(world):
    empty = LedgerFactory(name="空台账", owner_office=world.office)
    assert empty in Ledger.objects.visible_to(world.supervisor)
    assert empty not in Ledger.objects.visible_to(world.other_supervisor)
    assert empty not in Ledger.objects.visible_to(world.lead_liaison)


@pytest.fixture
def reported(world):
    """The world's item accepted, with a lead-unit report carrying one file and a pending extension."""
    item = world.advance(world.item, ItemStatus.ACCEPTED)
    report = services.save_report(
        item=item,
        user=world.lead_liaison,
        text="已开工",
        percent_complete=30,
        files=[upload("照片.png", files.PNG)],
    )
    services.request_extension(
        item=item,
        user=world.lead_liaison,
        new_deadline=item.deadline + dt.timedelta(days=20),
        reason="雨季停工",
    )
    world.report = report
    return world


REPORT_VIEWERS = {
    "supervisor": True,
    "leader": True,
    "lead_liaison": True,
    "handler": True,
    "co_liaison": True,
    "sub_liaison": False,
    "unrelated_liaison": False,
    "other_supervisor": False,
    "system_admin": False,
    "security_admin": False,
    "audit_admin": False,
}


@pytest.mark.parametrize(("who", "sees"), sorted(REPORT_VIEWERS.items()))
def test_reports_files_and_extensions_follow_the_item(reported, who, sees):
    user = _fresh(getattr(reported, who))
    assert ProgressReport.objects.visible_to(user).filter(pk=reported.report.pk).exists() is sees
    assert Evidence.objects.visible_to(user).filter(report=reported.report).exists() is sees
    assert ExtensionRequest.objects.visible_to(user).filter(item=reported.item).exists() is sees


def test_anonymous_sees_no_reports(reported):
    assert not ProgressReport.objects.visible_to(AnonymousUser()).exists()
    assert not Evidence.objects.visible_to(AnonymousUser()).exists()
    assert not ExtensionRequest.objects.visible_to(AnonymousUser()).exists()


def test_visibility_follows_a_change_of_lead_unit(world):
    item = world.advance(world.item, ItemStatus.ASSIGNED)
    assert item in Item.objects.visible_to(world.lead_liaison)
    services.update_item(
        item=item, user=world.supervisor, version=item.version, lead_org=world.unrelated_unit
    )
    assert item not in Item.objects.visible_to(_fresh(world.lead_liaison))
    assert item in Item.objects.visible_to(_fresh(world.unrelated_liaison))
    assert item in Item.objects.visible_to(_fresh(world.co_liaison))  # still a co-unit


def test_item_dates_do_not_affect_scope(world):
    future = world.make_item(
        start_date=timezone.localdate() + dt.timedelta(days=100), deadline=None, is_standing=True
    )
    future = world.advance(future, ItemStatus.ASSIGNED)
    assert future in Item.objects.visible_to(world.lead_liaison)


# drafts: the office's working copy ----------------------------------------------------------------


def _owned_draft(world):
    """A draft with every kind of involvement: lead and co-unit, lead leader, and a responsible person."""
    return world.make_item(
        title="草拟事项", co_orgs=[world.co_unit], lead_leader=world.leader, owner=world.handler
    )


@pytest.mark.parametrize("who", sorted(REPORT_VIEWERS))
def test_drafts_are_seen_only_by_the_offices_supervisors(world, who):
    draft = _owned_draft(world)
    user = _fresh(getattr(world, who))
    assert Item.objects.visible_to(user).filter(pk=draft.pk).exists() is (who == "supervisor")
    # Once assigned, the people involved see it.
    world.advance(draft, ItemStatus.ASSIGNED)
    involved = {"supervisor", "leader", "lead_liaison", "handler", "co_liaison"}
    assert Item.objects.visible_to(_fresh(user)).filter(pk=draft.pk).exists() is (who in involved)


def test_a_ledger_of_drafts_only_is_hidden_from_units(world):
    assert world.ledger in Ledger.objects.visible_to(world.supervisor)
    for who in ("lead_liaison", "co_liaison", "leader", "handler"):
        assert world.ledger not in Ledger.objects.visible_to(_fresh(getattr(world, who)))


def test_an_assignment_refused_back_to_draft_leaves_the_units_view_with_its_extension(world):
    item = world.advance(world.item, ItemStatus.ASSIGNED)
    services.request_extension(
        item=item,
        user=world.lead_liaison,
        new_deadline=item.deadline + dt.timedelta(days=20),
        reason="任务量大",
    )
    assert ExtensionRequest.objects.visible_to(_fresh(world.lead_liaison)).filter(item=item).exists()
    services.transition_item(item=item, action="refuse", user=world.lead_liaison, comment="不属于本单位职责")
    for who in ("lead_liaison", "co_liaison", "leader"):
        user = _fresh(getattr(world, who))
        assert not Item.objects.visible_to(user).filter(pk=item.pk).exists()
        assert not ExtensionRequest.objects.visible_to(user).filter(item=item).exists()
    assert ExtensionRequest.objects.visible_to(_fresh(world.supervisor)).filter(item=item).exists()


def test_reports_and_files_of_a_draft_are_hidden_like_the_item(reported):
    # Reports cannot be written on drafts; this guards the rule should an item go back to draft.
    Item.objects.filter(pk=reported.item.pk).update(status=ItemStatus.DRAFT)
    for who, sees in (
        ("supervisor", True),
        ("lead_liaison", False),
        ("co_liaison", False),
        ("leader", False),
    ):
        user = _fresh(getattr(reported, who))
        assert ProgressReport.objects.visible_to(user).filter(pk=reported.report.pk).exists() is sees
        assert Evidence.objects.visible_to(user).filter(report=reported.report).exists() is sees


def test_the_scoping_rule_names_the_real_draft_status():
    from luoshi.ledgers import querysets

    assert querysets.DRAFT == ItemStatus.DRAFT
