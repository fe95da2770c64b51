"""Ledger configuration screens: the shared filter sidebar, custom fields, inline tags, milestones.

For each: the allowed role succeeds with its effect, every other role gets 404 and nothing is
written, and bad input is answered in Chinese next to the field with nothing written.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from luoshi.ledgers import services
from luoshi.ledgers.models import (
    EventKind,
    FieldTarget,
    FieldType,
    Item,
    ItemStatus,
    LedgerField,
    Milestone,
    Tag,
)
from luoshi.ledgers.tests.factories import LedgerFieldFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
NOT_SUPERVISORS = ("other_supervisor", "leader", "lead_liaison", "handler", "co_liaison", "system_admin")


def login(client, user):
    client.force_login(user)
    return client


def page(response) -> str:
    return response.content.decode()


def field_data(**overrides):
    data = {
        "target": FieldTarget.ITEM,
        "key": "invest_total",
        "label": "总投资",
        "field_type": FieldType.NUMBER,
        "unit_label": "万元",
        "sort_order": 1,
        "choices": "",
    }
    return {**data, **overrides}


# The shared filter sidebar ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url_name", "who"),
    [
        ("ledgers:item_list", "supervisor"),
        ("orgs:organisation_list", "system_admin"),
        ("orgs:user_list", "system_admin"),
        ("audit:event_list", "audit_admin"),
    ],
)
def test_every_list_uses_the_shared_filter_sidebar(client, world, url_name, who):
    login(client, getattr(world, who))
    url = reverse(url_name)
    body = page(client.get(url))
    assert body.count('id="filter-form"') == 1
    assert f'hx-get="{url}"' in body
    assert 'hx-target="#results"' in body and 'hx-push-url="true"' in body
    assert f'href="{url}">清除条件' in body
    partial = client.get(url, headers=HTMX)
    assert 'id="results"' in page(partial) and "filter-form" not in page(partial)


# Custom fields ----------------------------------------------------------------------------------


def test_supervisor_sees_settings_and_adds_a_field(client, world):
    login(client, world.supervisor)
    settings_url = reverse("ledgers:ledger_settings", args=[world.ledger.pk])
    assert "尚未定义事项字段" in page(client.get(settings_url))

    response = client.post(
        reverse("ledgers:ledger_field_create", args=[world.ledger.pk]),
        field_data(
            key="stage", label="项目阶段", field_type=FieldType.CHOICE, choices="前期\r\n 在建 \n\n前期\n竣工"
        ),
    )
    assert response.status_code == 302 and response["Location"] == settings_url
    field = world.ledger.fields.get(key="stage")
    assert field.choices == ["前期", "在建", "竣工"]
    assert "项目阶段" in page(client.get(settings_url))
    # The item form now asks for it.
    assert "项目阶段" in page(client.get(reverse("ledgers:item_edit", args=[world.item.pk])))


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"key": "总 投资"}, "key", "键只能由英文字母、数字、下划线或连字符组成"),
        ({"label": "  "}, "label", "这个字段是必填项"),
        ({"field_type": FieldType.CHOICE, "choices": "\n \n"}, "choices", "请至少填写一个可选值"),
        ({"sort_order": -1}, "sort_order", "大于或等于"),
    ],
)
def test_bad_field_input_is_told_next_to_the_field_and_nothing_written(client, world, data, field, message):
    login(client, world.supervisor)
    response = client.post(reverse("ledgers:ledger_field_create", args=[world.ledger.pk]), field_data(**data))
    assert response.status_code == 200
    assert message in page(response)
    assert response.context["form"].errors[field]
    assert not LedgerField.objects.exists()


def test_key_is_unique_per_ledger_and_target(client, world):
    LedgerFieldFactory(ledger=world.ledger, key="invest_total", target=FieldTarget.ITEM)
    login(client, world.supervisor)
    url = reverse("ledgers:ledger_field_create", args=[world.ledger.pk])
    response = client.post(url, field_data())
    assert "本台账的「事项字段」中已有键为「invest_total」的字段" in page(response)
    assert world.ledger.fields.count() == 1
    assert client.post(url, field_data(target=FieldTarget.REPORT)).status_code == 302
    assert world.ledger.fields.count() == 2


def test_edit_keeps_the_key_and_target(client, world):
    field = LedgerFieldFactory(
        ledger=world.ledger, key="invest_total", label="投资", field_type=FieldType.NUMBER
    )
    login(client, world.supervisor)
    url = reverse("ledgers:ledger_field_edit", args=[field.pk])
    form_page = page(client.get(url))
    assert "disabled" in form_page and "invest_total" in form_page
    response = client.post(
        url, field_data(key="renamed", target=FieldTarget.REPORT, label="计划总投资", version=field.version)
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.key, field.target, field.label) == ("invest_total", FieldTarget.ITEM, "计划总投资")


def test_a_field_deleted_meanwhile_is_refused_in_chinese_not_a_crash(world):
    field = LedgerFieldFactory(ledger=world.ledger, key="invest_total", label="投资")
    loaded = LedgerField.objects.get(pk=field.pk)
    services.delete_ledger_field(field=field, user=world.supervisor)
    with pytest.raises(ValidationError, match="已被其他人删除"):
        services.save_ledger_field(user=world.supervisor, field=loaded, label="计划总投资")
    assert not LedgerField.objects.filter(pk=field.pk).exists()


def test_type_of_a_field_in_use_cannot_change(client, world):
    field = LedgerFieldFactory(
        ledger=world.ledger, key="invest_total", label="投资", field_type=FieldType.NUMBER
    )
    Item.objects.filter(pk=world.item.pk).update(extra={"invest_total": "120"})
    login(client, world.supervisor)
    response = client.post(
        reverse("ledgers:ledger_field_edit", args=[field.pk]),
        field_data(field_type=FieldType.TEXT, version=field.version),
    )
    assert response.status_code == 200
    assert "已有记录填写了「总投资」，不能再修改它的类型" in page(response)
    field.refresh_from_db()
    assert (field.field_type, field.label) == (FieldType.NUMBER, "投资")


def test_unused_field_is_deleted(client, world):
    field = LedgerFieldFactory(ledger=world.ledger, key="invest_total")
    Item.objects.filter(pk=world.item.pk).update(extra={"other_key": "x"})
    login(client, world.supervisor)
    response = client.post(reverse("ledgers:ledger_field_delete", args=[field.pk]), follow=True)
    assert "已删除" in page(response)
    assert not LedgerField.objects.filter(pk=field.pk).exists()


def test_field_an_item_stores_a_value_for_is_not_deleted(client, world):
    field = LedgerFieldFactory(ledger=world.ledger, key="invest_total", label="总投资")
    Item.objects.filter(pk=world.item.pk).update(extra={"invest_total": "120"})
    login(client, world.supervisor)
    response = client.post(reverse("ledgers:ledger_field_delete", args=[field.pk]), follow=True)
    assert "已有 1 个事项填写了「总投资」，不能删除" in page(response)
    assert LedgerField.objects.filter(pk=field.pk).exists()


def test_measure_a_report_stores_is_not_deleted(client, world):
    field = LedgerFieldFactory(
        ledger=world.ledger,
        key="invested",
        label="本期完成投资",
        target=FieldTarget.REPORT,
        field_type=FieldType.NUMBER,
    )
    item = world.advance(world.item, ItemStatus.ACCEPTED)
    services.save_report(
        item=item, user=world.lead_liaison, text="开工", percent_complete=10, measures={"invested": "35"}
    )
    login(client, world.supervisor)
    response = client.post(reverse("ledgers:ledger_field_delete", args=[field.pk]), follow=True)
    assert "已有 1 条进展报送填写了「本期完成投资」，不能删除" in page(response)
    assert LedgerField.objects.filter(pk=field.pk).exists()


@pytest.mark.parametrize("who", NOT_SUPERVISORS)
def test_only_the_ledgers_supervisor_configures_it(client, world, who):
    field = LedgerFieldFactory(ledger=world.ledger, key="invest_total", label="投资")
    login(client, getattr(world, who))
    assert client.get(reverse("ledgers:ledger_settings", args=[world.ledger.pk])).status_code == 404
    create = reverse("ledgers:ledger_field_create", args=[world.ledger.pk])
    assert client.get(create).status_code == 404
    assert client.post(create, field_data(key="other")).status_code == 404
    edit = reverse("ledgers:ledger_field_edit", args=[field.pk])
    assert client.post(edit, field_data(label="改名")).status_code == 404
    assert client.post(reverse("ledgers:ledger_field_delete", args=[field.pk])).status_code == 404
    field.refresh_from_db()
    assert field.label == "投资" and world.ledger.fields.count() == 1


def test_settings_are_linked_for_supervisors_only(client, world):
    settings_url = reverse("ledgers:ledger_settings", args=[world.ledger.pk])
    login(client, world.supervisor)
    assert settings_url in page(client.get(reverse("ledgers:ledger_list")))
    assert settings_url in page(client.get(reverse("ledgers:item_list"), {"ledger": world.ledger.pk}))
    assert settings_url in page(
        client.get(reverse("ledgers:item_list"), {"ledger": world.ledger.pk}, headers=HTMX)
    )
    assert settings_url not in page(client.get(reverse("ledgers:item_list")))
    world.advance(world.item, ItemStatus.ASSIGNED)  # so the liaison sees the ledger
    login(client, world.lead_liaison)
    assert settings_url not in page(client.get(reverse("ledgers:ledger_list")))
    listing = page(client.get(reverse("ledgers:item_list"), {"ledger": world.ledger.pk}))
    assert 'data-testid="ledger-bar"' in listing and settings_url not in listing


# Tags -------------------------------------------------------------------------------------------


def test_supervisor_creates_a_tag_from_the_item_form(client, world):
    login(client, world.supervisor)
    url = reverse("ledgers:tag_create")
    assert f'data-create-url="{url}"' in page(client.get(reverse("ledgers:item_edit", args=[world.item.pk])))
    response = client.post(url, {"name": "  重点  项目 "})
    assert response.status_code == 200
    tag = Tag.objects.get()
    assert response.json() == {"value": tag.pk, "text": "重点 项目"}
    assert client.post(url, {"name": "重点 项目"}).json()["value"] == tag.pk
    Tag.objects.create(name="PPP")
    assert client.post(url, {"name": "ppp"}).json()["text"] == "PPP"
    assert Tag.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "message"), [("   ", "标签名称不能为空"), ("长" * 31, "标签名称不能超过 30 个字")]
)
def test_bad_tag_name_is_refused_in_chinese(client, world, name, message):
    login(client, world.supervisor)
    response = client.post(reverse("ledgers:tag_create"), {"name": name})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Tag.objects.exists()


def test_tag_of_thirty_characters_is_fine(client, world):
    login(client, world.supervisor)
    assert client.post(reverse("ledgers:tag_create"), {"name": "长" * 30}).status_code == 200


@pytest.mark.parametrize("who", ("leader", "lead_liaison", "handler", "system_admin"))
def test_only_supervisors_create_tags(client, world, who):
    login(client, getattr(world, who))
    assert client.post(reverse("ledgers:tag_create"), {"name": "重点"}).status_code == 404
    assert not Tag.objects.exists()


def test_tags_created_inline_are_saved_with_the_item(client, world):
    login(client, world.supervisor)
    tag_pk = client.post(reverse("ledgers:tag_create"), {"name": "民生实事"}).json()["value"]
    form = client.get(reverse("ledgers:item_edit", args=[world.item.pk])).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        lead_org=world.lead_unit.pk,
        co_orgs=[world.co_unit.pk],
        lead_leader=world.leader.pk,
        start_date=world.item.start_date.isoformat(),
        deadline=world.item.deadline.isoformat(),
        tags=[tag_pk],
        parent="",
        owner="",
    )
    response = client.post(reverse("ledgers:item_edit", args=[world.item.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    assert list(world.item.tags.values_list("name", flat=True)) == ["民生实事"]


# Milestones -------------------------------------------------------------------------------------


@pytest.fixture
def milestone(world):
    services.schedule_milestones(
        item=world.item, user=world.supervisor, phases=[("方案制定", 5), ("组织实施", 20)]
    )
    return Milestone.objects.filter(item=world.item).order_by("sort_order").first()


def edit_data(milestone, **overrides):
    data = {
        "name": milestone.name,
        "start_date": milestone.start_date.isoformat(),
        "due_date": milestone.due_date.isoformat(),
        "done_on": "",
        "version": milestone.version,
        **overrides,
    }
    return {f"milestone-{milestone.pk}-{key}": value for key, value in data.items()}


def done_data(milestone, done_on):
    return {f"done-{milestone.pk}-done_on": done_on, f"done-{milestone.pk}-version": milestone.version}


def test_supervisor_edits_a_milestone_through_htmx(client, world, milestone):
    login(client, world.supervisor)
    body = page(client.get(reverse("ledgers:item_detail", args=[world.item.pk])))
    assert reverse("ledgers:milestone_edit", args=[milestone.pk]) in body
    due = milestone.due_date + dt.timedelta(days=3)
    response = client.post(
        reverse("ledgers:milestone_edit", args=[milestone.pk]),
        edit_data(milestone, name="方案编制", due_date=due.isoformat()),
        headers=HTMX,
    )
    assert response.status_code == 200
    assert 'id="panels"' in page(response) and "<html" not in page(response)
    assert "节点「方案编制」已保存" in page(response)
    milestone.refresh_from_db()
    assert (milestone.name, milestone.due_date) == ("方案编制", due)


def test_milestone_due_before_start_is_refused_next_to_the_field(client, world, milestone):
    login(client, world.supervisor)
    before = (milestone.name, milestone.start_date, milestone.due_date)
    response = client.post(
        reverse("ledgers:milestone_edit", args=[milestone.pk]),
        edit_data(
            milestone, name="改了名", due_date=(milestone.start_date - dt.timedelta(days=1)).isoformat()
        ),
        headers=HTMX,
    )
    body = page(response)
    assert response.status_code == 200
    assert "节点完成日期不能早于开始日期" in body
    assert '<details class="mt-2" open>' in body
    milestone.refresh_from_db()
    assert (milestone.name, milestone.start_date, milestone.due_date) == before


def test_bad_milestone_date_without_htmx_is_a_message(client, world, milestone):
    login(client, world.supervisor)
    response = client.post(
        reverse("ledgers:milestone_edit", args=[milestone.pk]),
        edit_data(milestone, start_date="明天"),
        follow=True,
    )
    assert "开始日期：输入一个有效的日期" in page(response)
    before = milestone.start_date
    milestone.refresh_from_db()
    assert milestone.start_date == before


def test_lead_liaison_marks_a_milestone_done(client, world, milestone):
    world.advance(world.item, ItemStatus.ACCEPTED)
    login(client, world.lead_liaison)
    body = page(client.get(reverse("ledgers:item_detail", args=[world.item.pk])))
    assert reverse("ledgers:milestone_complete", args=[milestone.pk]) in body
    assert reverse("ledgers:milestone_edit", args=[milestone.pk]) not in body
    today = timezone.localdate()
    response = client.post(
        reverse("ledgers:milestone_complete", args=[milestone.pk]),
        done_data(milestone, today.isoformat()),
        headers=HTMX,
    )
    assert response.status_code == 200 and 'data-testid="milestone-done"' in page(response)
    milestone.refresh_from_db()
    assert milestone.done_on == today
    event = world.item.events.filter(kind=EventKind.EDITED).first()
    assert event.actor == world.lead_liaison and "方案制定" in event.comment


def test_supervisor_may_also_mark_done_and_without_htmx_is_redirected(client, world, milestone):
    world.advance(world.item, ItemStatus.ACCEPTED)
    login(client, world.supervisor)
    response = client.post(
        reverse("ledgers:milestone_complete", args=[milestone.pk]),
        done_data(milestone, timezone.localdate().isoformat()),
    )
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert milestone.done_on == timezone.localdate()


@pytest.mark.parametrize(
    ("done_on", "message"),
    [
        (lambda today, item: today + dt.timedelta(days=1), "实际完成日期不能晚于今天"),
        (lambda today, item: item.start_date - dt.timedelta(days=1), "实际完成日期不能早于事项开始日期"),
        (lambda today, item: "", "这个字段是必填项"),
    ],
)
def test_bad_completion_date_is_refused(client, world, milestone, done_on, message):
    world.advance(world.item, ItemStatus.ACCEPTED)
    login(client, world.lead_liaison)
    value = done_on(timezone.localdate(), world.item)
    response = client.post(
        reverse("ledgers:milestone_complete", args=[milestone.pk]),
        done_data(milestone, value.isoformat() if value else ""),
        headers=HTMX,
    )
    assert response.status_code == 200 and message in page(response)
    milestone.refresh_from_db()
    assert milestone.done_on is None


def test_milestone_of_a_draft_item_cannot_be_marked_done(client, world, milestone):
    login(client, world.supervisor)
    response = client.post(
        reverse("ledgers:milestone_complete", args=[milestone.pk]),
        done_data(milestone, timezone.localdate().isoformat()),
        headers=HTMX,
    )
    assert "事项当前状态为「草稿」，不能标记节点完成" in page(response)
    milestone.refresh_from_db()
    assert milestone.done_on is None


@pytest.mark.parametrize(
    "who", ("other_supervisor", "leader", "lead_liaison", "handler", "co_liaison", "unrelated_liaison")
)
def test_only_the_supervisor_edits_milestones(client, world, milestone, who):
    world.advance(world.item, ItemStatus.ACCEPTED)
    login(client, getattr(world, who))
    response = client.post(
        reverse("ledgers:milestone_edit", args=[milestone.pk]),
        edit_data(milestone, name="改了名"),
        headers=HTMX,
    )
    assert response.status_code == 404
    milestone.refresh_from_db()
    assert milestone.name == "方案制定"


@pytest.mark.parametrize("who", ("other_supervisor", "leader", "handler", "co_liaison", "unrelated_liaison"))
def test_only_lead_liaison_and_supervisor_mark_done(client, world, milestone, who):
    world.advance(world.item, ItemStatus.ACCEPTED)
    login(client, getattr(world, who))
    response = client.post(
        reverse("ledgers:milestone_complete", args=[milestone.pk]),
        done_data(milestone, timezone.localdate().isoformat()),
        headers=HTMX,
    )
    assert response.status_code == 404
    milestone.refresh_from_db()
    assert milestone.done_on is None


def test_unknown_milestone_is_404(client, world):
    login(client, world.supervisor)
    assert client.post(reverse("ledgers:milestone_edit", args=[999999])).status_code == 404
    assert client.post(reverse("ledgers:milestone_complete", args=[999999])).status_code == 404
