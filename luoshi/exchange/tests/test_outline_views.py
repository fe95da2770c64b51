"""The outline screens: start from a text or a file, edit the tree with htmx, save into the ledger."""

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from luoshi.exchange import services
from luoshi.exchange.models import OutlineDraft
from luoshi.exchange.tests.test_outline_drafts import PLAN
from luoshi.ledgers.models import Item
from luoshi.orgs.models import Role
from luoshi.orgs.tests.factories import UserFactory, grant

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def supervisor_client(client, world):
    client.force_login(world.supervisor)
    return client


@pytest.fixture
def draft(world):
    return services.start_outline(ledger=world.ledger, user=world.supervisor, text=PLAN)


def editor_url(draft):
    return reverse("exchange:outline_editor", args=[draft.pk])


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# Start ---------------------------------------------------------------------------------------------


def test_start_page_for_the_ledgers_supervisor(supervisor_client, world, draft):
    response = supervisor_client.get(reverse("exchange:outline_start", args=[world.ledger.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="text"' in html and 'name="upload"' in html and 'enctype="multipart/form-data"' in html
    assert editor_url(draft) in html  # the unsaved draft, to take up again


@pytest.mark.parametrize("role", ["other_supervisor", "lead_liaison", "leader", "system_admin"])
def test_start_page_is_404_for_everyone_else(client, world, role):
    client.force_login(getattr(world, role))
    url = reverse("exchange:outline_start", args=[world.ledger.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"text": PLAN}).status_code == 404
    assert not OutlineDraft.objects.exists()


def test_pasting_a_plan_opens_its_editor(supervisor_client, world):
    response = supervisor_client.post(
        reverse("exchange:outline_start", args=[world.ledger.pk]), {"text": PLAN}
    )
    draft = OutlineDraft.objects.get()
    assert response.status_code == 302 and response["Location"] == editor_url(draft)
    assert draft.ledger == world.ledger and draft.created_by == world.supervisor


def test_uploading_a_text_file_opens_its_editor(supervisor_client, world):
    upload = SimpleUploadedFile("方案.txt", PLAN.encode())
    response = supervisor_client.post(
        reverse("exchange:outline_start", args=[world.ledger.pk]), {"upload": upload}
    )
    assert response.status_code == 302
    assert OutlineDraft.objects.get().source_name == "方案.txt"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": ""}, "请粘贴正文或选择文件"),
        ({"text": "没有编号的一段话。"}, "没有找到编号的事项"),
        (
            {"upload": SimpleUploadedFile("旧文件.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)},
            "另存为 .docx",
        ),
    ],
)
def test_start_refusals_are_shown_on_the_form(supervisor_client, world, data, message):
    response = supervisor_client.post(reverse("exchange:outline_start", args=[world.ledger.pk]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not OutlineDraft.objects.exists()


# Editor --------------------------------------------------------------------------------------------


def test_editor_shows_the_tree_with_its_fields_and_buttons(supervisor_client, draft):
    response = supervisor_client.get(editor_url(draft))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "推进项目建设",
        "加快项目审批",
        "区发改局",
        "区财政局、各镇（街道）",
        "王副区长",
        "2026-06-30",
    ):
        assert text in html
    assert html.count('data-operation="indent"') == 5
    assert 'id="node-2-lead_org"' in html and 'id="node-5-lead_org"' in html
    assert reverse("exchange:outline_save", args=[draft.pk]) in html
    assert "可以保存" in html


def test_editor_shows_unresolved_names_beside_their_node(supervisor_client, world, draft):
    services.set_node_fields(
        draft=draft, user=world.supervisor, node=5, lead_org="区教委", deadline="9月底前"
    )
    html = supervisor_client.get(editor_url(draft)).content.decode()
    assert "找不到单位「区教委」" in html
    assert 'data-testid="node-problems"' in html
    assert "有 1 处需要处理" in html


def test_another_supervisors_draft_is_404(client, world, draft):
    colleague = UserFactory(username="colleague", full_name="同室督办")
    grant(colleague, world.office, Role.SUPERVISOR)
    client.force_login(colleague)
    assert client.get(editor_url(draft)).status_code == 404
    assert client.post(editor_url(draft), {"node": 1, "version": 1, "operation": "drop"}).status_code == 404
    save = reverse("exchange:outline_save", args=[draft.pk])
    assert client.post(save, {"version": 1}).status_code == 404
    assert OutlineDraft.objects.get(pk=draft.pk).version == 1
    assert not Item.objects.filter(title="加快项目审批").exists()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"operation": "rename", "node": 2, "title": "加快重大项目审批"}, "加快重大项目审批"),
        ({"operation": "up", "node": 3}, "强化资金保障"),
        ({"operation": "indent", "node": 4}, "办好民生实事"),
        ({"operation": "merge", "node": 3}, "加快项目审批；强化资金保障"),
        ({"operation": "drop", "node": 4}, "推进项目建设"),
        ({"operation": "fields", "node": 5, "lead_org": "区财政局", "deadline": "三季度末"}, "2026-09-30"),
    ],
)
def test_an_htmx_edit_answers_with_the_tree(supervisor_client, draft, data, expected):
    response = supervisor_client.post(editor_url(draft), {**data, "version": 1}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="outline-tree"')
    assert "<html" not in html
    assert expected in html
    assert OutlineDraft.objects.get(pk=draft.pk).version == 2
    assert 'name="version" value="2"' in html


def test_the_edits_land_in_the_stored_tree(supervisor_client, draft):
    supervisor_client.post(editor_url(draft), {"operation": "drop", "node": 4, "version": 1}, **HTMX)
    supervisor_client.post(editor_url(draft), {"operation": "indent", "node": 3, "version": 2}, **HTMX)
    tree = OutlineDraft.objects.get(pk=draft.pk).tree
    assert [node["id"] for node in tree] == [1]
    assert [child["id"] for child in tree[0]["children"]] == [2]
    assert tree[0]["children"][0]["children"][0]["id"] == 3


def test_a_plain_post_edit_redirects_to_the_editor(supervisor_client, draft):
    response = supervisor_client.post(editor_url(draft), {"operation": "drop", "node": 4, "version": 1})
    assert response.status_code == 302 and response["Location"] == editor_url(draft)
    assert len(OutlineDraft.objects.get(pk=draft.pk).tree) == 1


def test_an_impossible_edit_is_told_and_changes_nothing(supervisor_client, draft):
    response = supervisor_client.post(editor_url(draft), {"operation": "up", "node": 1, "version": 1}, **HTMX)
    assert response.status_code == 200
    assert "「推进项目建设」已在最前。" in response.content.decode()
    response = supervisor_client.post(editor_url(draft), {"operation": "up", "node": 1, "version": 1})
    assert response.status_code == 302
    assert texts(response) == ["「推进项目建设」已在最前。"]
    assert OutlineDraft.objects.get(pk=draft.pk).version == 1


@pytest.mark.parametrize("data", [{"operation": "fly", "node": 1}, {"operation": "up"}, {"node": "a"}])
def test_a_malformed_edit_is_refused(supervisor_client, draft, data):
    response = supervisor_client.post(editor_url(draft), {**data, "version": 1}, **HTMX)
    assert response.status_code == 200
    assert "请求不完整" in response.content.decode()
    assert OutlineDraft.objects.get(pk=draft.pk).version == 1


def test_bad_fields_come_back_in_the_open_form_with_the_input(supervisor_client, draft):
    data = {"operation": "fields", "node": 5, "version": 1, "lead_org": "区教委会", "deadline": "明年再说"}
    response = supervisor_client.post(editor_url(draft), data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "明年再说" in html and "区教委会" in html
    assert '<details class="mt-1" open>' in html
    assert 'class="invalid-feedback d-block"' in html
    assert OutlineDraft.objects.get(pk=draft.pk).version == 1


def test_a_stale_edit_answers_409_with_the_stored_tree_and_the_input_kept(supervisor_client, world, draft):
    services.drop_node(draft=draft, user=world.supervisor, node=4)
    data = {"operation": "fields", "node": 2, "version": 1, "lead_org": "区财政局", "deadline": "8月底前"}
    response = supervisor_client.post(editor_url(draft), data, **HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="stale-warning"' in html
    assert "办好民生实事" not in html  # the tree as stored now
    assert "8月底前" in html  # this user's input, in its form …
    assert 'name="version" value="2"' in html  # … which now carries the stored version
    assert node_lead(draft, 2) == "区发改局"
    response = supervisor_client.post(editor_url(draft), {"operation": "drop", "node": 1, "version": 1})
    assert response.status_code == 409
    assert len(OutlineDraft.objects.get(pk=draft.pk).tree) == 1


def node_lead(draft, node_id):
    tree = OutlineDraft.objects.get(pk=draft.pk).tree
    return next(child for child in tree[0]["children"] if child["id"] == node_id)["lead_org"]


# Save ----------------------------------------------------------------------------------------------


def test_save_writes_the_items_and_goes_to_the_ledger(supervisor_client, world, draft):
    response = supervisor_client.post(reverse("exchange:outline_save", args=[draft.pk]), {"version": 1})
    assert response.status_code == 302
    assert response["Location"] == reverse("ledgers:ledger_detail", args=[world.ledger.pk])
    assert texts(response) == ["已从「粘贴的文本」生成 5 项事项。"]
    assert Item.objects.get(title="加快项目审批").parent == Item.objects.get(title="推进项目建设")
    html = supervisor_client.get(editor_url(draft)).content.decode()
    assert 'data-testid="outline-saved"' in html
    assert 'data-operation="up"' not in html


def test_save_with_problems_returns_to_the_editor_and_writes_nothing(supervisor_client, world, draft):
    services.set_node_fields(
        draft=draft, user=world.supervisor, node=5, lead_org="区教委", deadline="9月底前"
    )
    items = Item.objects.count()
    response = supervisor_client.post(reverse("exchange:outline_save", args=[draft.pk]), {"version": 2})
    assert response.status_code == 302 and response["Location"] == editor_url(draft)
    (message,) = texts(response)
    assert message.startswith("「改善办学条件」：找不到单位「区教委」")
    assert Item.objects.count() == items


def test_save_of_a_stale_page_or_without_a_version_is_refused(supervisor_client, world, draft):
    services.drop_node(draft=draft, user=world.supervisor, node=4)
    url = reverse("exchange:outline_save", args=[draft.pk])
    response = supervisor_client.post(url, {"version": 1})
    assert response.status_code == 302
    assert texts(response) == ["这份大纲已在其他页面被修改，请核对当前内容后再保存。"]
    supervisor_client.get(response["Location"])
    response = supervisor_client.post(url, {})
    assert response.status_code == 302
    assert texts(response) == ["请求不完整，请刷新页面后重试。"]
    assert not Item.objects.filter(title="加快项目审批").exists()


def test_the_ledger_offers_the_outline_to_its_supervisors(client, world):
    url = f"{reverse('ledgers:item_list')}?ledger={world.ledger.pk}"
    start = reverse("exchange:outline_start", args=[world.ledger.pk])
    client.force_login(world.supervisor)
    assert start in client.get(url).content.decode()
    client.force_login(world.lead_liaison)
    assert start not in client.get(url).content.decode()
