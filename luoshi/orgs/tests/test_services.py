import pytest
from django.core.exceptions import ValidationError

from luoshi.orgs import services
from luoshi.orgs.models import PATH_STEP, LeaderCharge, Membership, Organisation, Role
from luoshi.orgs.selectors import access_profile, organisation_list
from luoshi.orgs.tests.factories import OrganisationFactory, UserFactory, fresh, grant

pytestmark = pytest.mark.django_db


def _seg(org):
    return f"{org.pk:0{PATH_STEP}d}/"


def test_create_organisation_sets_path_and_depth():
    root = OrganisationFactory(name="区人民政府")
    child = OrganisationFactory(name="区发展和改革局", parent=root)
    grandchild = OrganisationFactory(name="投资科", parent=child)
    assert (root.path, root.depth) == (_seg(root), 0)
    assert (child.path, child.depth) == (_seg(root) + _seg(child), 1)
    stored = Organisation.objects.get(pk=grandchild.pk)
    assert stored.path == _seg(root) + _seg(child) + _seg(grandchild)
    assert stored.depth == 2
    assert grandchild.is_within(root) and not root.is_within(child)


def test_create_organisation_requires_a_name():
    with pytest.raises(ValidationError) as error:
        services.create_organisation(name="  ")
    assert "请填写单位全称" in str(error.value.message_dict["name"])


def test_name_unique_under_a_parent_only():
    gov = OrganisationFactory(name="区人民政府")
    other = OrganisationFactory(name="县人民政府")
    OrganisationFactory(name="办公室", parent=gov)
    with pytest.raises(ValidationError) as error:
        OrganisationFactory(name="办公室", parent=gov)
    assert "已有名为「办公室」的单位" in error.value.message_dict["name"][0]
    assert OrganisationFactory(name="办公室", parent=other).pk  # another parent is fine


def test_pinyin_fields():
    org = OrganisationFactory(name="区发展和改革局")
    assert org.pinyin == "qufazhanhegaigeju"
    assert org.pinyin_initials == "qfzhggj"
    short = OrganisationFactory(name="区财政局", short_name="财政局")
    assert short.pinyin_initials == "czj"  # initials follow the short name users type
    assert list(organisation_list(search="qfz")) == [org]


def test_update_organisation_moves_subtree():
    gov = OrganisationFactory(name="区人民政府")
    party = OrganisationFactory(name="区委")
    unit = OrganisationFactory(name="区发展和改革局", parent=gov)
    section = OrganisationFactory(name="投资科", parent=unit)
    team = OrganisationFactory(name="项目组", parent=section)
    moved = services.update_organisation(org=Organisation.objects.get(pk=unit.pk), parent=party)
    assert moved.path == _seg(party) + _seg(unit)
    assert moved.depth == 1
    section = Organisation.objects.get(pk=section.pk)
    team = Organisation.objects.get(pk=team.pk)
    assert section.path == _seg(party) + _seg(unit) + _seg(section)
    assert team.path == section.path + _seg(team)
    assert team.depth == 3
    assert not Organisation.objects.filter(path__startswith=gov.path).exclude(pk=gov.pk).exists()


def test_update_organisation_to_root_and_deeper():
    gov = OrganisationFactory(name="区人民政府")
    unit = OrganisationFactory(name="区发展和改革局", parent=gov)
    section = OrganisationFactory(name="投资科", parent=unit)
    moved = services.update_organisation(org=Organisation.objects.get(pk=unit.pk), parent=None)
    assert (moved.path, moved.depth) == (_seg(unit), 0)
    assert Organisation.objects.get(pk=section.pk).depth == 1


def test_update_organisation_refuses_move_under_own_descendant():
    gov = OrganisationFactory(name="区人民政府")
    unit = OrganisationFactory(name="区发展和改革局", parent=gov)
    section = OrganisationFactory(name="投资科", parent=unit)
    for target in (section, unit):
        with pytest.raises(ValidationError) as error:
            services.update_organisation(org=Organisation.objects.get(pk=unit.pk), parent=target)
        assert "不能把单位移到它自己或它的下级单位之下" in error.value.message_dict["parent"][0]
    assert Organisation.objects.get(pk=unit.pk).parent_id == gov.pk


def test_update_organisation_without_move_keeps_path():
    unit = OrganisationFactory(name="区发展和改革局")
    edited = services.update_organisation(
        org=Organisation.objects.get(pk=unit.pk), parent=None, short_name="发改局"
    )
    assert edited.path == unit.path
    assert Organisation.objects.get(pk=unit.pk).short_name == "发改局"


def test_create_user_hashes_password_and_refuses_duplicate_username():
    user = services.create_user(username="zhangsan", full_name="张三", password="Luoshi-test-2026")
    assert user.check_password("Luoshi-test-2026")
    assert user.pinyin_initials == "zs"
    with pytest.raises(ValidationError) as error:
        services.create_user(username="zhangsan", full_name="张三丰")
    assert "已被使用" in error.value.message_dict["username"][0]
    assert not services.create_user(username="lisi", full_name="李四").has_usable_password()


def test_grant_role_refuses_a_second_admin_duty():
    org = OrganisationFactory()
    admin = UserFactory()
    grant(admin, org, Role.SYSTEM_ADMIN)
    for role in (Role.SECURITY_ADMIN, Role.AUDIT_ADMIN):
        with pytest.raises(ValidationError) as error:
            grant(admin, org, role)
        assert "须由不同的人担任" in error.value.message_dict["role"][0]
    # The same duty in another unit is fine; a business role on an admin account is not, nor the reverse.
    grant(admin, OrganisationFactory(), Role.SYSTEM_ADMIN)
    with pytest.raises(ValidationError) as error:
        grant(admin, org, Role.LIAISON)
    assert "不能兼任业务角色" in error.value.message_dict["role"][0]
    liaison = UserFactory()
    grant(liaison, org, Role.LIAISON)
    with pytest.raises(ValidationError):
        grant(liaison, org, Role.AUDIT_ADMIN)
    assert set(Membership.objects.filter(user=admin).values_list("role", flat=True)) == {Role.SYSTEM_ADMIN}
    assert set(Membership.objects.filter(user=liaison).values_list("role", flat=True)) == {Role.LIAISON}


def test_grant_role_refuses_unknown_role_and_updates_title():
    org, user = OrganisationFactory(), UserFactory()
    with pytest.raises(ValidationError):
        grant(user, org, "king")
    grant(user, org, Role.LIAISON, title="科员")
    grant(user, org, Role.LIAISON, title="副科长")
    membership = Membership.objects.get(user=user)
    assert membership.title == "副科长"
    services.revoke_role(membership=membership)
    assert not Membership.objects.filter(user=user).exists()


def test_set_leader_charges_replaces_the_set():
    gov = OrganisationFactory(name="区人民政府")
    a, b, c = (OrganisationFactory(parent=gov) for _ in range(3))
    leader = UserFactory()
    with pytest.raises(ValidationError) as error:
        services.set_leader_charges(leader=leader, organisations=[a])
    assert "不是领导" in error.value.messages[0]
    grant(leader, gov, Role.LEADER)
    services.set_leader_charges(leader=leader, organisations=[a, b])
    services.set_leader_charges(leader=leader, organisations=[b, c])
    assert set(LeaderCharge.objects.filter(leader=leader).values_list("organisation_id", flat=True)) == {
        b.pk,
        c.pk,
    }
    services.set_leader_charges(leader=leader, organisations=[])
    assert not LeaderCharge.objects.filter(leader=leader).exists()


def test_access_profile_per_role(world):
    w = world
    p = access_profile(w.supervisor)
    assert p.roles == {Role.SUPERVISOR} and p.supervisor_org_ids == {w.office.pk}
    assert p.is_business_user and not p.is_admin

    p = access_profile(w.leader)
    assert p.has(Role.LEADER) and p.charge_paths == (w.lead_unit.path,)
    assert p.unit_paths == () and p.supervisor_org_ids == frozenset()

    p = access_profile(w.lead_liaison)
    assert p.unit_paths == (w.lead_unit.path,) and p.liaison_paths == (w.lead_unit.path,)
    assert p.unit_org_ids == {w.lead_unit.pk}

    p = access_profile(w.handler)
    assert p.unit_paths == (w.lead_unit.path,) and p.liaison_paths == ()

    for admin in w.admins.values():
        p = access_profile(admin)
        assert p.is_admin and not p.is_business_user


def test_access_profile_anonymous_and_inactive_unit():
    from django.contrib.auth.models import AnonymousUser

    anon = access_profile(AnonymousUser())
    assert anon.user_id is None and anon.roles == frozenset()
    unit = OrganisationFactory()
    user = UserFactory()
    grant(user, unit, Role.LIAISON)
    Organisation.objects.filter(pk=unit.pk).update(is_active=False)
    assert access_profile(fresh(user)).roles == frozenset()


def test_access_profile_is_cached_on_the_user():
    unit = OrganisationFactory()
    user = fresh(UserFactory())
    assert access_profile(user).roles == frozenset()
    services.grant_role(user=user, organisation=unit, role=Role.LIAISON)
    assert access_profile(user).roles == frozenset()  # cached for the request
    assert access_profile(fresh(user)).roles == {Role.LIAISON}
