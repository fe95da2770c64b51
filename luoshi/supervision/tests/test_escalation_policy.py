"""A ledger's ladder: the common defaults, saving with validation, and its edit screen."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from luoshi.supervision import services
from luoshi.supervision.models import EscalationAction, EscalationPolicy, EscalationStyle

A = EscalationAction
STANDARD = [(A.REMIND, -3), (A.URGE_NOTICE, 1), (A.SUPERVISION_NOTICE, 5), (A.LEADERS_MEETING, 10)]


def _save(world, **overrides):
    fields = {
        "ledger": world.ledger,
        "user": world.supervisor,
        "style": EscalationStyle.STANDARD,
        "is_active": True,
        "urgent_start": A.SUPERVISION_NOTICE,
        "rungs": STANDARD,
        "on_yellow": A.URGE,
        "on_red": A.SUPERVISION_NOTICE,
    }
    fields.update(overrides)
    return services.save_policy(**fields)


def test_default_ladders_are_not_saved_until_edited(world):
    policy, rungs = services.policy_for(world.ledger)
    assert policy.pk is None and policy.is_active
    assert [(rung.action, rung.offset_days) for rung in rungs] == STANDARD
    colours = services.default_policy(world.ledger, EscalationStyle.THREE_COLOUR)
    assert [(rung.action, rung.offset_days) for rung in colours.default_rungs] == [
        (A.REMIND, -3),
        (A.BLUE_NOTICE, 1),
        (A.ORANGE_NOTICE, 3),
        (A.RED_NOTICE, 5),
        (A.INTERVIEW, 10),
    ]
    assert colours.urgent_start == A.ORANGE_NOTICE
    # A lagging item is urged on yellow and sent the style's first notice on red.
    assert (policy.on_yellow, policy.on_red) == (A.URGE, A.SUPERVISION_NOTICE)
    assert (colours.on_yellow, colours.on_red) == (A.URGE, A.BLUE_NOTICE)
    assert not EscalationPolicy.objects.exists()


def test_save_creates_then_updates_the_rungs(world):
    policy = _save(world)
    assert [(rule.action, rule.offset_days) for rule in policy.rules.order_by("sort_order")] == STANDARD
    assert (policy.on_yellow, policy.on_red) == (A.URGE, A.SUPERVISION_NOTICE)
    policy = _save(
        world,
        rungs=[(A.REMIND, -5), (A.URGE_NOTICE, 2), (A.SUPERVISION_NOTICE, 4)],
        is_active=False,
        on_yellow="",
        on_red=A.URGE_NOTICE,
        version=policy.version,
    )
    assert not policy.is_active
    stored = EscalationPolicy.objects.get(pk=policy.pk)
    assert (stored.on_yellow, stored.on_red) == ("", A.URGE_NOTICE)
    assert dict(policy.rules.values_list("action", "offset_days")) == {
        A.REMIND: -5,
        A.URGE_NOTICE: 2,
        A.SUPERVISION_NOTICE: 4,
    }
    _policy, rungs = services.policy_for(world.ledger)
    assert [rung.action for rung in rungs] == [A.REMIND, A.URGE_NOTICE, A.SUPERVISION_NOTICE]


def test_a_stale_version_is_refused(world):
    policy = _save(world)
    _save(world, version=policy.version)
    with pytest.raises(ValidationError, match="已被其他人修改"):
        _save(world, version=policy.version)


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"rungs": [(A.REMIND, -3), (A.URGE_NOTICE, 5), (A.SUPERVISION_NOTICE, 5)]}, "必须大于「催办单」"),
        ({"rungs": [(A.REMIND, -3), (A.URGE_NOTICE, 1), (A.URGE_NOTICE, 2)]}, "只能设置一次"),
        ({"rungs": [(A.REMIND, -3), (A.RED_NOTICE, 2)], "urgent_start": A.RED_NOTICE}, "不属于"),
        ({"urgent_start": A.ORANGE_NOTICE}, "紧急事项起始等级"),
        ({"rungs": []}, "至少设置一个"),
        ({"rungs": [(A.REMIND, -300), (A.SUPERVISION_NOTICE, 1)]}, "-60 到 250"),
        ({"user": "other_supervisor"}, "只有本台账督办单位的督办员"),
        ({"on_yellow": A.SUPERVISION_NOTICE, "on_red": A.URGE}, "红色预警时的督办动作不能轻于黄色预警时的"),
        ({"on_red": A.RED_NOTICE}, "红色预警时的「红色督查单」不属于"),
        ({"on_yellow": A.REMIND}, "黄色预警时的督办动作不正确"),
        ({"on_yellow": "nonsense"}, "黄色预警时的督办动作不正确"),
    ],
)
def test_bad_ladders_are_refused_in_chinese(world, overrides, words):
    if overrides.get("user") == "other_supervisor":
        overrides["user"] = world.other_supervisor
    with pytest.raises(ValidationError) as caught:
        _save(world, **overrides)
    assert any(words in message for message in caught.value.messages)
    assert not EscalationPolicy.objects.exists()


def test_edit_screen_shows_defaults_saves_and_refuses_bad_input(client, world):
    client.force_login(world.supervisor)
    url = reverse("supervision:escalation_policy", args=[world.ledger.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"]["offset_urge_notice"].value() == 1
    assert page.context["form"]["on_yellow"].value() == A.URGE
    assert page.context["form"]["on_red"].value() == A.SUPERVISION_NOTICE
    assert "尚未单独设置" in page.content.decode()
    assert "预警督办（完成时限前）" in page.content.decode()

    data = {
        "style": "standard",
        "is_active": "on",
        "urgent_start": "supervision_notice",
        "on_yellow": "urge",
        "on_red": "",
        "offset_remind": "-3",
        "offset_urge_notice": "2",
        "offset_supervision_notice": "1",
    }
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "必须大于「催办单」" in refused.content.decode()
    assert not EscalationPolicy.objects.exists()

    data["offset_supervision_notice"] = "6"
    saved = client.post(url, data)
    assert saved.status_code == 302
    policy = EscalationPolicy.objects.get(ledger=world.ledger)
    assert dict(policy.rules.values_list("action", "offset_days")) == {
        A.REMIND: -3,
        A.URGE_NOTICE: 2,
        A.SUPERVISION_NOTICE: 6,
    }
    assert (policy.on_yellow, policy.on_red) == (A.URGE, "")
    assert client.get(url).context["form"]["version"].value() == policy.version


def test_edit_screen_is_the_offices_alone(client, world):
    url = reverse("supervision:escalation_policy", args=[world.ledger.pk])
    for user in (world.other_supervisor, world.leader, world.lead_liaison):
        client.force_login(user)
        assert client.get(url).status_code == 404
