"""The demo generator keeps the rules: run it small on the test database and check what it made."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from luoshi.demo.generator import generate_demo
from luoshi.demo.plan import DEMO_PASSWORD, LOGINS, build_plan
from luoshi.ledgers.models import (
    ExtensionRequest,
    Item,
    ItemStatus,
    Milestone,
    ProgressReport,
    ReportStatus,
    WarningColor,
)
from luoshi.orgs.models import LeaderCharge, Membership, Organisation, Role, User

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One small demo for the whole module (the generator takes seconds, not milliseconds)."""
    with django_db_blocker.unblock():
        result = generate_demo(seed=7, n_items=120, today=TODAY)
        yield result
        call_command("flush", interactive=False, verbosity=0)


pytestmark = pytest.mark.django_db


def test_units_form_a_tree_of_four_levels(demo):
    assert 90 <= Organisation.objects.count() <= 110
    assert set(Organisation.objects.values_list("depth", flat=True)) == {0, 1, 2, 3}
    for org in Organisation.objects.exclude(parent=None).select_related("parent")[:50]:
        assert org.path.startswith(org.parent.path)
    assert Organisation.objects.filter(short_name="区发改局", name="青川区发展和改革局").exists()


def test_people_per_role(demo):
    def holders(role):
        return Membership.objects.filter(role=role).values("user").distinct().count()

    assert holders(Role.LEADER) == 30
    assert holders(Role.SUPERVISOR) == 3
    for role in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN):
        assert holders(role) == 1
    admins = Membership.objects.filter(role__in=[Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN])
    assert admins.values("user").distinct().count() == 3  # three different people (三员分立)
    assert LeaderCharge.objects.values("leader").distinct().count() >= 25
    # Every department and township has a liaison and one or two handlers.
    for org in Organisation.objects.filter(kind="township"):
        assert org.memberships.filter(role=Role.LIAISON).count() == 1
        assert 1 <= org.memberships.filter(role=Role.HANDLER).count() <= 2


def test_each_role_has_a_login_with_the_demo_password(demo, settings):
    # The module fixture hashed with the default hasher, before the suite switched to a fast one.
    settings.PASSWORD_HASHERS = [
        *settings.PASSWORD_HASHERS,
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    for username, role in LOGINS:
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        assert user.memberships.filter(role=role).exists(), username


def test_items_have_responsibility_and_a_mix_of_states(demo):
    items = Item.objects.all()
    assert 110 <= items.count() <= 130
    assert not items.filter(lead_org=None).exists()
    assert items.filter(parent__isnull=False).exists() and items.filter(children__isnull=False).exists()
    assert items.filter(is_standing=True, deadline=None).exists()
    statuses = set(items.values_list("status", flat=True))
    assert {ItemStatus.IN_PROGRESS, ItemStatus.COMPLETED, ItemStatus.CLOSED} <= statuses
    assert len(statuses) >= 6
    colours = set(items.values_list("warning_color", flat=True))
    assert {WarningColor.RED, WarningColor.GREEN, WarningColor.DONE} <= colours
    # Warnings are current and computed for the anchor day.
    assert not items.exclude(warning_as_of=TODAY).exists()
    assert Milestone.objects.exists()


def test_reports_in_several_states(demo):
    reports = ProgressReport.objects.all()
    assert reports.count() > 300
    states = set(reports.values_list("status", flat=True))
    assert {ReportStatus.ACCEPTED, ReportStatus.SUBMITTED} <= states
    assert reports.filter(is_late=True).exists() and reports.filter(is_late=False).exists()
    # Submission times are in the past and spread over months, not the moment of generation.
    submitted = reports.exclude(submitted_at=None).values_list("submitted_at", flat=True)
    assert min(submitted).date() < TODAY - dt.timedelta(days=150)
    assert ExtensionRequest.objects.filter(status="approved").exists()
    assert ExtensionRequest.objects.filter(status="refused").exists()


def test_same_seed_same_titles(demo):
    first = build_plan(seed=7, n_items=120, today=TODAY)
    second = build_plan(seed=7, n_items=120, today=TODAY)
    assert [i.title for i in first.items] == [i.title for i in second.items]
    assert sorted(Item.objects.values_list("title", flat=True)) == sorted(i.title for i in first.items)
    other = build_plan(seed=8, n_items=120, today=TODAY)
    assert [i.title for i in other.items] != [i.title for i in first.items]


def test_demo_command_refuses_a_database_with_data(demo):
    with pytest.raises(CommandError):
        call_command("demo", verbosity=0)


def test_the_years_assessment_is_scored_from_the_replayed_record(demo):
    from luoshi.assessment.models import GroupMember, ManualScore, Scheme, UnitScore

    scheme = Scheme.objects.get()
    assert set(scheme.groups.values_list("name", flat=True)) == {"区直部门", "镇街"}
    members = GroupMember.objects.filter(scheme=scheme).count()
    assert members >= 20
    periods = list(scheme.periods.order_by("start"))
    # On 11-23 the first three quarters are published; the fourth is scored as of today.
    assert [period.status for period in periods] == ["published", "published", "published", "open"]
    assert all(period.runs.count() == 1 for period in periods)
    assert ManualScore.objects.filter(status="approved").count() == 4 * members
    published = UnitScore.objects.filter(run=periods[2].published_run)
    assert published.count() == members
    totals = set(published.values_list("total", flat=True))
    assert len(totals) > 3, "the record should set the units apart"
    assert {1} <= set(published.values_list("rank", flat=True))
