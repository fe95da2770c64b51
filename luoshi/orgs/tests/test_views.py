import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from luoshi.orgs import services
from luoshi.orgs.models import LeaderCharge, Membership, Organisation, Role, User
from luoshi.orgs.tests.factories import OrganisationFactory, UserFactory, fresh

SYSTEM_ONLY = {"system_admin"}
SECURITY_ONLY = {"security_admin"}  # roles and charges (三员分立)
ROLE_ADMINS = {"system_admin", "security_admin"}


def _everyone(world):
    return {**world.business_users, **world.admins}


def _screens(world):
    """(url, the world's users allowed to GET it)."""
    return [
        (reverse("orgs:organisation_list"), SYSTEM_ONLY),
        (reverse("orgs:organisation_create"), SYSTEM_ONLY),
        (reverse("orgs:organisation_edit", args=[world.lead_unit.pk]), SYSTEM_ONLY),
        (reverse("orgs:user_list"), ROLE_ADMINS),
        (reverse("orgs:user_create"), SYSTEM_ONLY),
        (reverse("orgs:user_edit", args=[world.handler.pk]), SYSTEM_ONLY),
        (reverse("orgs:user_roles", args=[world.handler.pk]), SECURITY_ONLY),
    ]


def test_each_screen_is_for_its_admins_only(client, world):
    for url, allowed in _screens(world):
        for name, user in _everyone(world).items():
            client.force_login(user)
            response = client.get(url)
            expected = 200 if name in allowed else 404
            assert response.status_code == expected, (url, name, response.status_code)
        client.logout()
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_posts_are_refused_to_other_roles(client, world):
    membership = Membership.objects.get(user=world.handler, role=Role.HANDLER)
    posts = [
        (reverse("orgs:organisation_create"), {"name": "新单位", "kind": "department"}, SYSTEM_ONLY),
        (reverse("orgs:user_create"), {"full_name": "新人", "username": "newbie"}, SYSTEM_ONLY),
        (reverse("orgs:membership_revoke", args=[membership.pk]), {}, SECURITY_ONLY),
        (
            reverse("orgs:user_roles", args=[world.handler.pk]),
            {"form": "grant", "organisation": world.co_unit.pk, "role": Role.LIAISON},
            SECURITY_ONLY,
        ),
    ]
    for url, data, allowed in posts:
        for name, user in _everyone(world).items():
            if name in allowed:
                continue
            client.force_login(user)
            assert client.post(url, data).status_code == 404, (url, name)
    assert not Organisation.objects.filter(name="新单位").exists()
    assert not User.objects.filter(username="newbie").exists()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_admin_home_sends_each_admin_to_their_duty(client, world):
    client.force_login(world.system_admin)
    response = client.get(reverse("orgs:home"))
    assert response.status_code == 200
    assert reverse("orgs:organisation_list") in response.content.decode()
    client.force_login(world.security_admin)
    assert client.get(reverse("orgs:home")).url == reverse("orgs:user_list")
    client.force_login(world.audit_admin)
    assert client.get(reverse("orgs:home")).url == reverse("audit:event_list")
    for user in world.business_users.values():
        client.force_login(user)
        assert client.get(reverse("orgs:home")).status_code == 404
    client.logout()
    assert client.get(reverse("orgs:home")).status_code == 302


# Organisations -------------------------------------------------------------------------------


def test_organisation_list_is_a_tree_and_searchable(client, world):
    client.force_login(world.system_admin)
    response = client.get(reverse("orgs:organisation_list"))
    html = response.content.decode()
    assert response.status_code == 200
    # Path order: the sub-unit follows its parent, indented two levels.
    assert html.index("区发展和改革局") < html.index("投资科")
    assert 'class="ps-2"' in html
    for term in ("发改", "区发改局", "qfgj"):
        rows = list(
            client.get(reverse("orgs:organisation_list"), {"q": term}).context["table"].page.object_list
        )
        assert [row.record for row in rows] == [world.lead_unit], term
    # Aliases are searched too.
    services.update_organisation(org=fresh_org(world.co_unit), parent=world.government, aliases="财政")
    rows = client.get(reverse("orgs:organisation_list"), {"q": "财政"}).context["table"].page.object_list
    assert [row.record for row in rows] == [world.co_unit]


def fresh_org(org):
    return Organisation.objects.get(pk=org.pk)


def test_organisation_list_htmx_gets_the_table_only(client, world):
    client.force_login(world.system_admin)
    response = client.get(reverse("orgs:organisation_list"), {"q": "投资"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="results"' in html and "<html" not in html and "投资科" in html


def test_create_organisation_under_a_parent(client, world):
    client.force_login(world.system_admin)
    response = client.post(
        reverse("orgs:organisation_create"),
        {
            "name": "区审计局",
            "short_name": "",
            "kind": "department",
            "parent": world.government.pk,
            "sort_order": 3,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    org = Organisation.objects.get(name="区审计局")
    assert org.parent == world.government and org.depth == 1 and org.path.startswith(world.government.path)


def test_create_organisation_duplicate_name_is_shown_on_the_form(client, world):
    client.force_login(world.system_admin)
    response = client.post(
        reverse("orgs:organisation_create"),
        {"name": "投资科", "kind": "department", "parent": world.lead_unit.pk, "sort_order": 0},
    )
    assert response.status_code == 200
    assert "已有名为「投资科」的单位" in response.content.decode()


def _org_form(org, **changes):
    data = {
        "name": org.name,
        "short_name": org.short_name,
        "aliases": org.aliases,
        "kind": org.kind,
        "parent": org.parent_id or "",
        "sort_order": org.sort_order,
        "is_active": "on" if org.is_active else "",
        "version": org.version,
    }
    data.update(changes)
    return data


def test_moving_an_organisation_moves_its_subtree(client, world):
    client.force_login(world.system_admin)
    unit = fresh_org(world.lead_unit)
    response = client.post(
        reverse("orgs:organisation_edit", args=[unit.pk]), _org_form(unit, parent=world.co_unit.pk)
    )
    assert response.status_code == 302
    moved, sub = fresh_org(world.lead_unit), fresh_org(world.sub_unit)
    co_unit = fresh_org(world.co_unit)
    assert moved.parent == co_unit and moved.path.startswith(co_unit.path) and moved.depth == 2
    assert sub.path.startswith(moved.path) and sub.depth == 3


def test_moving_an_organisation_below_itself_is_refused(client, world):
    client.force_login(world.system_admin)
    unit = fresh_org(world.lead_unit)
    response = client.post(
        reverse("orgs:organisation_edit", args=[unit.pk]), _org_form(unit, parent=world.sub_unit.pk)
    )
    assert response.status_code == 200
    assert "不能把单位移到它自己或它的下级单位之下" in response.content.decode()
    assert fresh_org(world.lead_unit).parent == world.government


def test_stale_organisation_edit_is_told_and_loses_nothing(client, world):
    client.force_login(world.system_admin)
    url = reverse("orgs:organisation_edit", args=[world.co_unit.pk])
    loaded = client.get(url).context["form"]["version"].value()
    # Someone else saves first.
    services.edit_organisation(
        org=fresh_org(world.co_unit), version=loaded, parent=world.government, short_name="财政局"
    )
    mine = _org_form(fresh_org(world.co_unit), short_name="区财政", aliases="钱袋子", version=loaded)
    response = client.post(url, mine)
    html = response.content.decode()
    assert response.status_code == 409
    assert 'data-testid="stale-warning"' in html and "已被其他人修改" in html
    stored = fresh_org(world.co_unit)
    assert stored.short_name == "财政局" and stored.aliases == ""  # the first writer's change stands
    form = response.context["form"]
    assert form["short_name"].value() == "区财政" and form["aliases"].value() == "钱袋子"  # mine is kept
    assert int(form["version"].value()) == stored.version
    # Resubmitting the kept form after review applies it.
    mine["version"] = form["version"].value()
    assert client.post(url, mine).status_code == 302
    stored = fresh_org(world.co_unit)
    assert (stored.short_name, stored.aliases) == ("区财政", "钱袋子")


def test_organisation_list_queries_do_not_grow_with_rows(client, world):
    client.force_login(world.system_admin)
    url = reverse("orgs:organisation_list")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"per_page": 50}).status_code == 200
        return len(queries)

    few = count()  # the world's 7 units
    for i in range(25):
        OrganisationFactory(name=f"街道{i}", parent=world.lead_unit)
    assert Organisation.objects.count() >= 30
    assert count() == few


# Users ---------------------------------------------------------------------------------------


def test_user_list_search_and_role_badges(client, world):
    client.force_login(world.security_admin)
    response = client.get(reverse("orgs:user_list"), {"q": "ZLL"})  # pinyin initials: 赵联络, 周联络
    rows = {row.record for row in response.context["table"].page.object_list}
    assert rows == {world.lead_liaison, world.co_liaison}
    response = client.get(reverse("orgs:user_list"), {"q": "赵"})
    rows = [row.record for row in response.context["table"].page.object_list]
    assert rows == [world.lead_liaison]
    html = response.content.decode()
    assert "区发改局 · 单位联络员" in html
    assert reverse("orgs:user_edit", args=[world.lead_liaison.pk]) not in html  # security admin: roles only
    client.force_login(world.system_admin)
    html = client.get(reverse("orgs:user_list"), {"role": Role.LEADER}).content.decode()
    assert "王副区长" in html and "赵联络" not in html
    assert reverse("orgs:user_edit", args=[world.leader.pk]) in html


def test_user_list_queries_do_not_grow_with_rows(client, world):
    client.force_login(world.security_admin)
    url = reverse("orgs:user_list")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"per_page": 50}).status_code == 200
        return len(queries)

    few = count()
    for i in range(25):
        user = UserFactory(full_name=f"新同志{i}")
        services.grant_role(user=user, organisation=world.co_unit, role=Role.HANDLER)
    assert User.objects.count() >= 30
    assert count() == few


def test_create_user_with_initial_password(client, world):
    client.force_login(world.system_admin)
    data = {
        "full_name": "冯新人",
        "username": "fengxr",
        "phone": "13800000000",
        "is_active": "on",
        "password": "Zhengque-mima-2026",
        "password_confirm": "Zhengque-mima-2026",
    }
    response = client.post(reverse("orgs:user_create"), data)
    user = User.objects.get(username="fengxr")
    assert response.status_code == 302 and response.url == reverse("orgs:user_list")
    assert user.full_name == "冯新人" and user.is_active and user.check_password("Zhengque-mima-2026")
    assert user.pinyin_initials == "fxr"


def test_create_user_bad_input_is_shown_on_the_form(client, world):
    client.force_login(world.system_admin)
    base = {"full_name": "冯新人", "username": "fengxr", "is_active": "on"}
    response = client.post(
        reverse("orgs:user_create"), {**base, "password": "Zhengque-mima-2026", "password_confirm": "x"}
    )
    assert "两次输入的密码不一致" in response.content.decode()
    response = client.post(
        reverse("orgs:user_create"), {**base, "password": "123", "password_confirm": "123"}
    )
    assert response.status_code == 200 and response.context["form"].errors["password"]
    response = client.post(
        reverse("orgs:user_create"),
        {
            **base,
            "username": "handler",
            "password": "Zhengque-mima-2026",
            "password_confirm": "Zhengque-mima-2026",
        },
    )
    assert "用户名「handler」已被使用" in response.content.decode()
    assert not User.objects.filter(full_name="冯新人").exists()


def test_edit_user_and_reset_password(client, world):
    client.force_login(world.system_admin)
    url = reverse("orgs:user_edit", args=[world.handler.pk])
    data = {"full_name": "钱承办", "username": "handler", "phone": "139", "is_active": "on"}
    assert client.post(url, {**data, "password": "", "password_confirm": ""}).status_code == 302
    handler = fresh(world.handler)
    assert handler.phone == "139" and handler.check_password(world.password)
    new = "Xin-mima-2026-abc"
    assert client.post(url, {**data, "password": new, "password_confirm": new}).status_code == 302
    assert fresh(world.handler).check_password(new)
    assert client.post(url, {**data, "is_active": ""}).status_code == 302
    assert not fresh(world.handler).is_active


def test_admin_cannot_deactivate_themselves(client, world):
    client.force_login(world.system_admin)
    url = reverse("orgs:user_edit", args=[world.system_admin.pk])
    response = client.post(url, {"full_name": "系统管理员", "username": "sysadmin", "is_active": ""})
    assert "不能停用自己的账号" in response.content.decode()
    assert fresh(world.system_admin).is_active


# Roles ---------------------------------------------------------------------------------------


def test_grant_and_revoke_a_role(client, world):
    client.force_login(world.security_admin)
    url = reverse("orgs:user_roles", args=[world.handler.pk])
    response = client.post(
        url, {"form": "grant", "organisation": world.co_unit.pk, "role": Role.LIAISON, "title": "副科长"}
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=world.handler, organisation=world.co_unit, role=Role.LIAISON)
    assert membership.title == "副科长"
    assert "区财政局" in client.get(url).content.decode()
    response = client.post(reverse("orgs:membership_revoke", args=[membership.pk]))
    assert response.status_code == 302 and response.url == url
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_separation_of_admin_duties_is_shown_on_the_form(client, world):
    client.force_login(world.security_admin)
    url = reverse("orgs:user_roles", args=[world.system_admin.pk])
    response = client.post(
        url, {"form": "grant", "organisation": world.government.pk, "role": Role.AUDIT_ADMIN}
    )
    assert response.status_code == 200
    assert "须由不同的人担任" in response.content.decode()
    assert not Membership.objects.filter(user=world.system_admin, role=Role.AUDIT_ADMIN).exists()


def test_admins_cannot_change_their_own_roles(client, world):
    client.force_login(world.security_admin)
    url = reverse("orgs:user_roles", args=[world.security_admin.pk])
    client.post(url, {"form": "grant", "organisation": world.office.pk, "role": Role.SUPERVISOR})
    assert not Membership.objects.filter(user=world.security_admin, role=Role.SUPERVISOR).exists()
    own = Membership.objects.get(user=world.security_admin)
    client.post(reverse("orgs:membership_revoke", args=[own.pk]))
    assert Membership.objects.filter(pk=own.pk).exists()


def test_set_leader_charges(client, world):
    client.force_login(world.security_admin)
    url = reverse("orgs:user_roles", args=[world.leader.pk])
    assert "分管单位" in client.get(url).content.decode()
    response = client.post(
        url, {"form": "charges", "organisations": [world.co_unit.pk, world.unrelated_unit.pk]}
    )
    assert response.status_code == 302
    charged = set(LeaderCharge.objects.filter(leader=world.leader).values_list("organisation_id", flat=True))
    assert charged == {world.co_unit.pk, world.unrelated_unit.pk}


def test_charges_for_a_non_leader_are_refused(client, world):
    client.force_login(world.security_admin)
    url = reverse("orgs:user_roles", args=[world.handler.pk])
    response = client.post(url, {"form": "charges", "organisations": [world.co_unit.pk]})
    assert response.status_code == 200
    assert "不是领导" in response.content.decode()
    assert not LeaderCharge.objects.filter(leader=world.handler).exists()


@pytest.mark.parametrize("name", ["org_autocomplete", "user_autocomplete", "leader_autocomplete"])
def test_autocompletes_still_answer_any_signed_in_user(client, world, name):
    client.force_login(world.handler)
    response = client.get(reverse(f"orgs:{name}"), {"q": ""})
    assert response.status_code == 200 and "results" in response.json()
