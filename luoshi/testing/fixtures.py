"""Shared pytest fixtures for every Luoshi app: a small, realistic world of units, people and items.

Use ``world`` in any test that needs people in roles::

    def test_liaison_sees_own_item(world):
        assert world.item in Item.objects.visible_to(world.lead_liaison)

The world (all created through the services, so paths, pinyin and warnings are real):

    区委督查室 (office)            supervisor                  — owns ``ledger``
    市督查室 (other_office)        other_supervisor            — owns nothing of ours
    区政府 (government)            leader (分管 lead_unit), the three admins
    ├─ 区发展和改革局 (lead_unit)  lead_liaison, handler
    │  └─ 投资科 (sub_unit)        sub_liaison
    ├─ 区财政局 (co_unit)          co_liaison
    └─ 区教育局 (unrelated_unit)   unrelated_liaison

``item`` (draft) is led by lead_unit with co_unit as co-unit, lead leader ``leader``,
monthly reports, started 30 days ago, deadline in 60 days. Every user's password is
``luoshi.orgs.tests.factories.PASSWORD``. Use ``world.advance(item, ItemStatus.X)`` to move an
item along the normal workflow path with the right people.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from luoshi.core import calendar
from luoshi.ledgers.models import Item, Ledger, ReportCycle
from luoshi.ledgers.tests.factories import ItemFactory, LedgerFactory, advance
from luoshi.orgs.models import Organisation, OrgKind, Role, User
from luoshi.orgs.tests.factories import PASSWORD, OrganisationFactory, UserFactory, grant, leader


@dataclass
class World:
    office: Organisation
    other_office: Organisation
    government: Organisation
    lead_unit: Organisation
    sub_unit: Organisation
    co_unit: Organisation
    unrelated_unit: Organisation

    supervisor: User
    other_supervisor: User
    leader: User
    lead_liaison: User
    handler: User
    sub_liaison: User
    co_liaison: User
    unrelated_liaison: User
    system_admin: User
    security_admin: User
    audit_admin: User

    ledger: Ledger
    item: Item
    password: str = PASSWORD

    def advance(self, item: Item, status: str) -> Item:
        """``item`` moved from draft to ``status`` by the supervisor and the lead liaison."""
        return advance(item, status, supervisor=self.supervisor, liaison=self.lead_liaison)

    def make_item(self, **fields) -> Item:
        """Another draft item in ``ledger`` (defaults: led by lead_unit, created by supervisor)."""
        fields.setdefault("ledger", self.ledger)
        fields.setdefault("lead_org", self.lead_unit)
        fields.setdefault("user", self.supervisor)
        return ItemFactory(**fields)

    @property
    def business_users(self) -> dict[str, User]:
        return {
            name: getattr(self, name)
            for name in (
                "supervisor",
                "other_supervisor",
                "leader",
                "lead_liaison",
                "handler",
                "sub_liaison",
                "co_liaison",
                "unrelated_liaison",
            )
        }

    @property
    def admins(self) -> dict[str, User]:
        return {name: getattr(self, name) for name in ("system_admin", "security_admin", "audit_admin")}


def _person(username: str, full_name: str, role: str, organisation: Organisation) -> User:
    user = UserFactory(username=username, full_name=full_name)
    grant(user, organisation, role)
    return user


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """The working-day calendar caches years in memory; never let one test's overrides leak."""
    calendar.clear_cache()
    yield
    calendar.clear_cache()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded files go to a per-test directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(db) -> World:
    office = OrganisationFactory(name="区委督查室", short_name="督查室", kind=OrgKind.PARTY_COMMITTEE)
    other_office = OrganisationFactory(name="市委督查室", kind=OrgKind.PARTY_COMMITTEE)
    government = OrganisationFactory(name="区人民政府", short_name="区政府", kind=OrgKind.GOVERNMENT)
    lead_unit = OrganisationFactory(name="区发展和改革局", short_name="区发改局", parent=government)
    sub_unit = OrganisationFactory(name="投资科", parent=lead_unit)
    co_unit = OrganisationFactory(name="区财政局", parent=government)
    unrelated_unit = OrganisationFactory(name="区教育局", parent=government)

    the_leader = leader(government, charges=[lead_unit], username="leader", full_name="王副区长")
    ledger = LedgerFactory(
        name="2026年重点工作", owner_office=office, default_report_cycle=ReportCycle.MONTHLY
    )
    w = World(
        office=office,
        other_office=other_office,
        government=government,
        lead_unit=lead_unit,
        sub_unit=sub_unit,
        co_unit=co_unit,
        unrelated_unit=unrelated_unit,
        supervisor=_person("supervisor", "张督办", Role.SUPERVISOR, office),
        other_supervisor=_person("other_supervisor", "李督办", Role.SUPERVISOR, other_office),
        leader=the_leader,
        lead_liaison=_person("lead_liaison", "赵联络", Role.LIAISON, lead_unit),
        handler=_person("handler", "钱承办", Role.HANDLER, lead_unit),
        sub_liaison=_person("sub_liaison", "孙联络", Role.LIAISON, sub_unit),
        co_liaison=_person("co_liaison", "周联络", Role.LIAISON, co_unit),
        unrelated_liaison=_person("unrelated_liaison", "吴联络", Role.LIAISON, unrelated_unit),
        system_admin=_person("sysadmin", "系统管理员", Role.SYSTEM_ADMIN, government),
        security_admin=_person("secadmin", "安全管理员", Role.SECURITY_ADMIN, government),
        audit_admin=_person("auditadmin", "审计管理员", Role.AUDIT_ADMIN, government),
        ledger=ledger,
        item=None,  # set below, once the supervisor exists
    )
    today = timezone.localdate()
    w.item = ItemFactory(
        ledger=ledger,
        user=w.supervisor,
        title="推进重大项目建设",
        lead_org=lead_unit,
        co_orgs=[co_unit],
        lead_leader=the_leader,
        start_date=today - dt.timedelta(days=30),
        deadline=today + dt.timedelta(days=60),
        report_cycle=ReportCycle.MONTHLY,
    )
    return w
