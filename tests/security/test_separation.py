"""三员分立 (等保 2.0 §8.1.4.2): three admins, three duties, no superuser, and every admin act on the trail.

system admin: units and accounts. security admin: roles, charges, policy, sessions.
audit admin: reads and exports the audit trail, nothing else.
"""

import csv
import io
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.audit.services import record
from luoshi.demo.generator import generate_demo
from luoshi.orgs import services
from luoshi.orgs.models import ADMIN_ROLES, Membership, Organisation, Role, User
from luoshi.orgs.tests.factories import fresh, grant
from luoshi.security.models import AccountState

ADMINS = ("system_admin", "security_admin", "audit_admin")


@dataclass(frozen=True)
class Act:
    """One admin action: its request, and the admin whose duty it is (everyone else gets 404)."""

    label: str
    duty: str
    method: str
    url: callable
    data: callable = lambda w: {}
    status: int = 200


def _membership(w):
    return Membership.objects.get(user=w.handler, role=Role.HANDLER)


ACTS = [
    Act("单位列表", "system_admin", "get", lambda w: reverse("orgs:organisation_list")),
    Act(
        "新建单位",
        "system_admin",
        "post",
        lambda w: reverse("orgs:organisation_create"),
        lambda w: {"name": "区审计局", "kind": "department", "sort_order": 0, "is_active": "on"},
        302,
    ),
    Act("新建用户", "system_admin", "get", lambda w: reverse("orgs:user_create")),
    Act(
        "编辑账号",
        "system_admin",
        "post",
        lambda w: reverse("orgs:user_edit", args=[w.handler.pk]),
        lambda w: {"full_name": "钱小承", "username": "handler", "is_active": "on"},
        302,
    ),
    Act("角色页", "security_admin", "get", lambda w: reverse("orgs:user_roles", args=[w.handler.pk])),
    Act(
        "授予角色",
        "security_admin",
        "post",
        lambda w: reverse("orgs:user_roles", args=[w.handler.pk]),
        lambda w: {"form": "grant", "organisation": w.co_unit.pk, "role": Role.LIAISON},
        302,
    ),
    Act(
        "设置分管",
        "security_admin",
        "post",
        lambda w: reverse("orgs:user_roles", args=[w.leader.pk]),
        lambda w: {"form": "charges", "organisations": [w.co_unit.pk]},
        302,
    ),
    Act(
        "撤销角色",
        "security_admin",
        "post",
        lambda w: reverse("orgs:membership_revoke", args=[_membership(w).pk]),
        status=302,
    ),
    Act("安全策略", "security_admin", "get", lambda w: reverse("security:policy")),
    Act("在线会话", "security_admin", "get", lambda w: reverse("security:session_list")),
    Act("审计日志", "audit_admin", "get", lambda w: reverse("audit:event_list")),
    Act("导出审计日志", "audit_admin", "get", lambda w: reverse("audit:event_export")),
]


def _state(w) -> tuple:
    """What any of the write actions would change."""
    return (
        Organisation.objects.filter(name="区审计局").exists(),
        fresh(w.handler).full_name,
        sorted(Membership.objects.filter(user=w.handler).values_list("role", "organisation_id")),
        sorted(w.leader.charges.values_list("organisation_id", flat=True)),
    )


@pytest.mark.parametrize("act", ACTS, ids=[act.label for act in ACTS])
@pytest.mark.parametrize("admin", ADMINS)
def test_each_admin_may_do_their_own_duty_only(client, world, admin, act):
    client.force_login(getattr(world, admin))
    before = _state(world)
    response = getattr(client, act.method)(act.url(world), act.data(world))
    if admin == act.duty:
        assert response.status_code == act.status, (admin, act.label)
    else:
        assert response.status_code == 404, (admin, act.label)
        assert _state(world) == before, f"{admin} changed something with {act.label}"


def test_every_admin_action_is_on_the_trail_under_its_author(client, world):
    client.force_login(world.system_admin)
    client.post(
        reverse("orgs:organisation_create"),
        {"name": "区审计局", "kind": "department", "sort_order": 0, "is_active": "on"},
    )
    created = AuditEvent.objects.get(action=AuditAction.CREATE, object_repr="区审计局")
    assert created.username == "sysadmin"
    client.force_login(world.security_admin)
    client.post(
        reverse("orgs:user_roles", args=[world.handler.pk]),
        {"form": "grant", "organisation": world.co_unit.pk, "role": Role.LIAISON},
    )
    granted = AuditEvent.objects.filter(action=AuditAction.PERMISSION).order_by("-sequence").first()
    assert granted.username == "secadmin" and granted.after["role"] == Role.LIAISON
    client.force_login(world.audit_admin)
    client.get(reverse("audit:event_list"))
    assert AuditEvent.objects.filter(action=AuditAction.VIEW, username="auditadmin").exists()


# No two duties, and no business role on an admin account --------------------------------------------


def test_no_account_holds_two_admin_duties_or_an_admin_duty_and_a_business_role(world):
    for admin in world.admins.values():
        for role in sorted(ADMIN_ROLES | {Role.SUPERVISOR, Role.LIAISON}):
            held = Membership.objects.get(user=admin).role
            if role == held:
                continue
            with pytest.raises(ValidationError):
                grant(admin, world.government, role)
    with pytest.raises(ValidationError, match="不能兼任业务角色"):
        grant(world.supervisor, world.office, Role.AUDIT_ADMIN)
    for admin in world.admins.values():
        assert Membership.objects.filter(user=admin).count() == 1


# No superuser ---------------------------------------------------------------------------------------


def test_createsuperuser_is_refused_and_points_to_bootstrap(db):
    with pytest.raises(CommandError, match="luoshi bootstrap"):
        call_command("createsuperuser", "--noinput", "--username", "root")
    with pytest.raises(CommandError, match="luoshi bootstrap"):
        call_command("createsuperuser")
    assert not User.objects.exists()


def test_services_refuse_a_superuser_or_staff_account(db):
    for flag in ("is_superuser", "is_staff"):
        with pytest.raises(ValidationError, match="不设超级用户"):
            services.create_user(username=f"root_{flag}", full_name="根", **{flag: True})
    assert not User.objects.exists()


def test_the_test_world_makes_no_superuser(world):
    assert User.objects.count() > 10
    assert not User.objects.filter(is_superuser=True).exists()
    assert not User.objects.filter(is_staff=True).exists()


def test_the_demo_makes_no_superuser(db):
    generate_demo(seed=3, n_items=5)
    assert User.objects.count() > 20
    assert not User.objects.filter(is_superuser=True).exists()
    assert not User.objects.filter(is_staff=True).exists()


# Bootstrap ---------------------------------------------------------------------------------------------


def _bootstrap(*args) -> dict[str, str]:
    out = io.StringIO()
    call_command("bootstrap", *args, stdout=out)
    lines = [line.split() for line in out.getvalue().splitlines() if line.startswith("  ")]
    return {words[0]: words[-1] for words in lines}


def test_bootstrap_makes_three_separated_admins_once(db, client):
    passwords = _bootstrap("--organisation", "某区人民政府")
    assert set(passwords) == {"sysadmin", "secadmin", "auditadmin"}
    assert len(set(passwords.values())) == 3
    roles = dict(Membership.objects.values_list("user__username", "role"))
    assert roles == {
        "sysadmin": Role.SYSTEM_ADMIN,
        "secadmin": Role.SECURITY_ADMIN,
        "auditadmin": Role.AUDIT_ADMIN,
    }
    assert Organisation.objects.get().name == "某区人民政府"
    for username, password in passwords.items():
        user = User.objects.get(username=username)
        assert user.check_password(password) and not user.is_superuser and not user.is_staff
        assert AccountState.objects.get(user=user).must_change_password
    # The run is on the trail: the accounts and roles it made, by the operator's account.
    made = AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="orgs.User")
    assert made.count() == 3 and all(e.username.startswith("cli:") for e in made)
    assert AuditEvent.objects.filter(action=AuditAction.PERMISSION).count() == 3

    with pytest.raises(CommandError, match="不能再次初始化"):
        _bootstrap()
    assert User.objects.count() == 3


def test_bootstrap_refuses_a_system_that_has_users(world):
    with pytest.raises(CommandError, match="不能再次初始化"):
        _bootstrap()


# The audit export resists formula injection -----------------------------------------------------------


def test_the_audit_export_never_hands_excel_a_formula(client, world):
    for text in ('=HYPERLINK("http://evil","点我")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "正常"):
        record(action=AuditAction.EXPORT, username="probe", object_repr=text)
    client.force_login(world.audit_admin)
    response = client.get(reverse("audit:event_export"), {"username": "probe"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff序号,时间,账号")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    names = {row[7] for row in rows[1:]}
    assert names == {
        '\'=HYPERLINK("http://evil","点我")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTAB",
        "'\rCR",
        "正常",
    }
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
