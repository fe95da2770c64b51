"""Outline drafts: made from a text or a document, edited node by node, saved into the ledger once."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from docx import Document

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core.exceptions import StaleObjectError
from luoshi.exchange import drafts, selectors, services
from luoshi.exchange.models import OutlineDraft
from luoshi.exchange.resolve import LeaderDirectory, UnitDirectory
from luoshi.ledgers.models import Item, ItemEvent, ReportCycle
from luoshi.orgs.tests.factories import OrganisationFactory

PLAN = """2026年重点工作方案
一、推进项目建设
（一）加快项目审批。压缩审批时限。牵头单位：区发改局；配合单位：区财政局、各镇（街道）；牵头领导：王副区长；完成时限：6月底前
（二）强化资金保障。（牵头单位：区财政局；完成时限：长期坚持）
二、办好民生实事
（一）改善办学条件。牵头单位：区教育局；完成时限：9月底前
"""


@pytest.fixture
def draft(world):
    return services.start_outline(ledger=world.ledger, user=world.supervisor, text=PLAN)


def titles(tree):
    """The tree as (depth, title) pairs, in document order."""
    return [(level, node["title"]) for node, level in drafts.walk(tree)]


def node(draft, title):
    return next(node for node, _depth in drafts.walk(draft.tree) if node["title"] == title)


# Starting ------------------------------------------------------------------------------------------


def test_a_pasted_plan_becomes_a_draft_with_numbered_nodes(world, draft):
    assert draft.created_by == world.supervisor
    assert draft.title == "2026年重点工作方案"
    assert draft.source_name == "粘贴的文本"
    assert titles(draft.tree) == [
        (0, "推进项目建设"),
        (1, "加快项目审批"),
        (1, "强化资金保障"),
        (0, "办好民生实事"),
        (1, "改善办学条件"),
    ]
    assert [node["id"] for node, _depth in drafts.walk(draft.tree)] == [1, 2, 3, 4, 5]
    first = node(draft, "加快项目审批")
    assert first["lead_org"] == "区发改局"
    assert first["co_orgs"] == ["区财政局", "各镇（街道）"]
    assert first["lead_leader"] == "王副区长"
    assert first["deadline"] == "2026-06-30"
    assert first["description"] == "压缩审批时限。"
    assert node(draft, "强化资金保障")["standing"] is True
    assert draft.saved_at is None


def _docx(*paragraphs) -> SimpleUploadedFile:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    stream = io.BytesIO()
    document.save(stream)
    return SimpleUploadedFile("工作方案.docx", stream.getvalue())


def test_an_uploaded_word_document_becomes_a_draft(world):
    upload = _docx("2026年工作方案", "一、改善办学条件。牵头单位：区教育局；完成时限：9月底前")
    draft = services.start_outline(ledger=world.ledger, user=world.supervisor, upload=upload)
    assert draft.source_name == "工作方案.docx"
    assert titles(draft.tree) == [(0, "改善办学条件")]


def test_an_uploaded_text_file_becomes_a_draft(world):
    upload = SimpleUploadedFile("方案.txt", PLAN.encode("gb18030"))
    draft = services.start_outline(ledger=world.ledger, user=world.supervisor, upload=upload)
    assert draft.source_name == "方案.txt"
    assert len(titles(draft.tree)) == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": "   "}, "请粘贴正文或选择文件"),
        ({"text": "今天天气很好。"}, "没有找到编号的事项"),
        ({"text": PLAN, "upload": SimpleUploadedFile("a.txt", b"x")}, "二者选一"),
        ({"upload": SimpleUploadedFile("a.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)}, ".docx"),
        ({"upload": SimpleUploadedFile("a.txt", b"")}, "是空的"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_makes_no_draft(world, kwargs, message):
    with pytest.raises(ValidationError) as error:
        services.start_outline(ledger=world.ledger, user=world.supervisor, **kwargs)
    assert message in " ".join(error.value.messages)
    assert not OutlineDraft.objects.exists()


def test_an_upload_over_the_limit_is_refused(world, settings):
    settings.EXCHANGE_IMPORT_MAX_BYTES = 100
    upload = SimpleUploadedFile("大文件.txt", PLAN.encode())
    with pytest.raises(ValidationError) as error:
        services.start_outline(ledger=world.ledger, user=world.supervisor, upload=upload)
    assert "超过" in error.value.message_dict["upload"][0]


def test_only_the_ledgers_supervisors_start_an_outline(world):
    for user in (world.other_supervisor, world.lead_liaison, world.leader):
        with pytest.raises(ValidationError, match="督办员"):
            services.start_outline(ledger=world.ledger, user=user, text=PLAN)
    assert not OutlineDraft.objects.exists()


# Editing -------------------------------------------------------------------------------------------


def test_rename(world, draft):
    draft = services.rename_node(draft=draft, user=world.supervisor, node=2, title="  加快 重大项目审批 ")
    assert node(draft, "加快 重大项目审批")["id"] == 2
    assert OutlineDraft.objects.get(pk=draft.pk).version == 2


def test_edits_to_the_tree_are_not_each_an_audit_row(world, draft):
    """A draft is scratch work: its content reaches the trail when it is saved into the ledger."""
    before = AuditEvent.objects.count()

    services.rename_node(draft=draft, user=world.supervisor, node=2, title="加快重大项目审批")

    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(("title", "message"), [(" ", "不能为空"), ("长" * 301, "不能超过 300 个字")])
def test_rename_refuses_a_bad_title(world, draft, title, message):
    with pytest.raises(ValidationError) as error:
        services.rename_node(draft=draft, user=world.supervisor, node=2, title=title)
    assert message in error.value.message_dict["title"][0]
    assert OutlineDraft.objects.get(pk=draft.pk).tree == draft.tree


@pytest.mark.parametrize("unknown", [99, "2", None])
def test_an_unknown_node_is_refused(world, draft, unknown):
    with pytest.raises(ValidationError, match="找不到这一条"):
        services.drop_node(draft=draft, user=world.supervisor, node=unknown)


def test_set_fields_reads_names_and_the_deadline_as_offices_write_them(world, draft):
    draft = services.set_node_fields(
        draft=draft,
        user=world.supervisor,
        node=5,
        title="改善农村办学条件",
        description="新建校舍两所。",
        lead_org="區教育局",
        co_orgs="区财政局、区发改局，区财政局",
        lead_leader="王副区长（副区长）",
        deadline="三季度末",
        cycle="",
    )
    changed = node(draft, "改善农村办学条件")
    assert changed["lead_org"] == "区教育局"
    assert changed["co_orgs"] == ["区财政局", "区发改局"]
    assert changed["lead_leader"] == "王副区长（副区长）"
    assert changed["deadline"] == "2026-09-30"
    assert changed["standing"] is False
    assert changed["cycle"] is None


def test_set_fields_standing_and_cycles(world, draft):
    draft = services.set_node_fields(
        draft=draft,
        user=world.supervisor,
        node=5,
        title="改善办学条件",
        lead_org="区教育局",
        deadline="每季度",
    )
    assert (node(draft, "改善办学条件")["standing"], node(draft, "改善办学条件")["cycle"]) == (
        True,
        "quarterly",
    )
    draft = services.set_node_fields(
        draft=draft,
        user=world.supervisor,
        node=5,
        title="改善办学条件",
        lead_org="区教育局",
        deadline="2026-10-31",
        standing=True,
        cycle=ReportCycle.WEEKLY,
    )
    changed = node(draft, "改善办学条件")
    assert (changed["deadline"], changed["standing"], changed["cycle"]) == (None, True, "weekly")


def test_set_fields_settles_the_parsers_notes(world):
    text = "2026年方案\n一、改善办学条件。牵头领导：王副区长、李副区长；牵头单位：区教育局；完成时限：9月底前"
    draft = services.start_outline(ledger=world.ledger, user=world.supervisor, text=text)
    assert draft.tree[0]["errors"]
    draft = services.set_node_fields(
        draft=draft,
        user=world.supervisor,
        node=1,
        title="改善办学条件",
        lead_org="区教育局",
        deadline="9月底前",
    )
    assert draft.tree[0]["errors"] == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"deadline": "明年再说"}, "deadline", "明年再说"),
        ({"cycle": "daily"}, "cycle", "调度频次"),
        ({"title": ""}, "title", "不能为空"),
    ],
)
def test_set_fields_refuses_bad_input(world, draft, fields, field, message):
    with pytest.raises(ValidationError) as error:
        services.set_node_fields(
            draft=draft, user=world.supervisor, node=5, **{"title": "改善办学条件", **fields}
        )
    assert message in error.value.message_dict[field][0]
    assert OutlineDraft.objects.get(pk=draft.pk).version == draft.version


def test_move_up_and_down_among_siblings(world, draft):
    draft = services.move_node(draft=draft, user=world.supervisor, node=3, direction="up")
    assert titles(draft.tree)[1:3] == [(1, "强化资金保障"), (1, "加快项目审批")]
    draft = services.move_node(draft=draft, user=world.supervisor, node=3, direction="down")
    assert titles(draft.tree)[1:3] == [(1, "加快项目审批"), (1, "强化资金保障")]


def test_indent_makes_the_last_child_of_the_previous_sibling(world, draft):
    draft = services.move_node(draft=draft, user=world.supervisor, node=3, direction="indent")
    assert titles(draft.tree)[:3] == [(0, "推进项目建设"), (1, "加快项目审批"), (2, "强化资金保障")]
    draft = services.move_node(draft=draft, user=world.supervisor, node=4, direction="indent")
    assert titles(draft.tree)[3:] == [(1, "办好民生实事"), (2, "改善办学条件")]


def test_outdent_makes_the_next_sibling_of_the_parent(world, draft):
    draft = services.move_node(draft=draft, user=world.supervisor, node=2, direction="outdent")
    assert titles(draft.tree) == [
        (0, "推进项目建设"),
        (1, "强化资金保障"),
        (0, "加快项目审批"),
        (0, "办好民生实事"),
        (1, "改善办学条件"),
    ]


@pytest.mark.parametrize(
    ("node_id_", "direction", "message"),
    [
        (1, "up", "已在最前"),
        (4, "down", "已在最后"),
        (2, "indent", "不能降级"),
        (1, "outdent", "已是最上一级"),
        (2, "sideways", "不支持"),
    ],
)
def test_impossible_moves_are_refused(world, draft, node_id_, direction, message):
    with pytest.raises(ValidationError, match=message):
        services.move_node(draft=draft, user=world.supervisor, node=node_id_, direction=direction)
    assert OutlineDraft.objects.get(pk=draft.pk).tree == draft.tree


def test_merge_into_the_previous_sibling(world, draft):
    draft = services.move_node(draft=draft, user=world.supervisor, node=5, direction="outdent")
    draft = services.merge_node(draft=draft, user=world.supervisor, node=3)
    merged = node(draft, "加快项目审批；强化资金保障")
    assert merged["id"] == 2
    assert merged["description"] == "压缩审批时限。"
    assert merged["lead_org"] == "区发改局"  # its own stays
    draft = services.merge_node(draft=draft, user=world.supervisor, node=5)
    assert titles(draft.tree) == [
        (0, "推进项目建设"),
        (1, "加快项目审批；强化资金保障"),
        (0, "办好民生实事；改善办学条件"),
    ]
    draft = services.merge_node(draft=draft, user=world.supervisor, node=4)
    top = draft.tree[0]
    assert top["title"] == "推进项目建设；办好民生实事；改善办学条件"
    assert top["lead_org"] == "区教育局"  # the first had none
    assert top["deadline"] == "2026-09-30"


def test_merge_keeps_the_children_of_both(world, draft):
    draft = services.merge_node(draft=draft, user=world.supervisor, node=4)
    assert titles(draft.tree) == [
        (0, "推进项目建设；办好民生实事"),
        (1, "加快项目审批"),
        (1, "强化资金保障"),
        (1, "改善办学条件"),
    ]


def test_merge_without_a_previous_sibling_or_over_the_length_is_refused(world, draft):
    with pytest.raises(ValidationError, match="不能合并"):
        services.merge_node(draft=draft, user=world.supervisor, node=2)
    draft = services.rename_node(draft=draft, user=world.supervisor, node=3, title="长" * 295)
    with pytest.raises(ValidationError, match="超过 300 个字"):
        services.merge_node(draft=draft, user=world.supervisor, node=3)


def test_drop_removes_the_node_with_its_children(world, draft):
    draft = services.drop_node(draft=draft, user=world.supervisor, node=1)
    assert titles(draft.tree) == [(0, "办好民生实事"), (1, "改善办学条件")]


def test_a_stale_version_is_refused_and_changes_nothing(world, draft):
    first_tab = OutlineDraft.objects.get(pk=draft.pk)
    services.drop_node(draft=draft, user=world.supervisor, node=4)
    with pytest.raises(StaleObjectError):
        services.rename_node(draft=first_tab, user=world.supervisor, node=2, title="旧页面的改名")
    stored = OutlineDraft.objects.get(pk=draft.pk)
    assert "旧页面的改名" not in str(stored.tree)
    assert stored.version == 2
    with pytest.raises(StaleObjectError):
        services.save_outline(draft=draft, user=world.supervisor, version=1)
    assert not Item.objects.filter(title="加快项目审批").exists()


def test_only_the_author_edits_a_draft(world, draft):
    with pytest.raises(ValidationError, match="找不到这份草稿"):
        services.drop_node(draft=draft, user=world.other_supervisor, node=1)
    assert OutlineDraft.objects.get(pk=draft.pk).version == 1


# Saving --------------------------------------------------------------------------------------------


def test_save_writes_the_tree_with_parents_in_document_order(world, draft):
    before = Item.objects.filter(ledger=world.ledger).count()
    last = Item.objects.filter(ledger=world.ledger).order_by("-sort_order").first().sort_order
    result = services.save_outline(draft=draft, user=world.supervisor)
    assert result.created == 5
    items = {item.title: item for item in Item.objects.filter(ledger=world.ledger).exclude(pk=world.item.pk)}
    assert len(items) == 5 == Item.objects.filter(ledger=world.ledger).count() - before
    section, approval, funds = items["推进项目建设"], items["加快项目审批"], items["强化资金保障"]
    assert section.parent is None
    assert approval.parent == section and funds.parent == section
    assert items["改善办学条件"].parent == items["办好民生实事"]
    assert [items[title].sort_order - last for title in ("推进项目建设", "加快项目审批", "强化资金保障")] == [
        1,
        2,
        3,
    ]
    assert approval.lead_org == world.lead_unit
    assert set(approval.co_orgs.all()) == {world.co_unit}
    assert approval.other_units == "各镇（街道）"
    assert approval.lead_leader == world.leader
    assert approval.deadline == dt.date(2026, 6, 30)
    assert approval.description == "压缩审批时限。"
    assert funds.is_standing and funds.deadline is None
    # A part that names no one takes its tasks': two lead units → the office; the latest deadline,
    # and standing only if every task is.
    assert section.lead_org == world.office
    assert section.deadline == dt.date(2026, 6, 30) and not section.is_standing
    assert items["办好民生实事"].lead_org == world.unrelated_unit
    stored = OutlineDraft.objects.get(pk=draft.pk)
    assert stored.saved_at is not None and stored.saved_count == 5
    event = AuditEvent.objects.filter(action=AuditAction.IMPORT).get()
    assert event.after["source"] == "粘贴的文本" and event.after["created"] == 5
    assert ItemEvent.objects.filter(item__in=items.values(), kind="created").count() == 5


def test_a_saved_draft_cannot_be_saved_or_edited_again(world, draft):
    services.save_outline(draft=draft, user=world.supervisor)
    saved = OutlineDraft.objects.get(pk=draft.pk)
    with pytest.raises(ValidationError, match="不能再修改或重复保存"):
        services.save_outline(draft=saved, user=world.supervisor)
    with pytest.raises(ValidationError, match="不能再修改或重复保存"):
        services.drop_node(draft=saved, user=world.supervisor, node=1)
    assert Item.objects.filter(title="加快项目审批").count() == 1


def test_children_take_their_ancestors_responsibility(world):
    text = (
        "2026年方案\n一、推进项目建设。牵头单位：区发改局；配合单位：区财政局；牵头领导：王副区长；完成时限：10月底前\n"
        "（一）加快项目审批。\n（二）强化资金保障。牵头单位：区财政局"
    )
    draft = services.start_outline(ledger=world.ledger, user=world.supervisor, text=text)
    services.save_outline(draft=draft, user=world.supervisor)
    approval = Item.objects.get(title="加快项目审批")
    assert approval.lead_org == world.lead_unit
    assert list(approval.co_orgs.all()) == [world.co_unit]
    assert approval.lead_leader == world.leader
    assert approval.deadline == dt.date(2026, 10, 31)
    funds = Item.objects.get(title="强化资金保障")
    assert funds.lead_org == world.co_unit and not funds.co_orgs.exists()
    assert funds.deadline == dt.date(2026, 10, 31)


def test_save_with_unresolved_names_writes_nothing_and_names_items_and_suggestions(world, draft):
    draft = services.set_node_fields(
        draft=draft,
        user=world.supervisor,
        node=2,
        title="加快项目审批",
        lead_org="区发改委",
        co_orgs="区财正局",
        lead_leader="赵副区长",
        deadline="6月底前",
    )
    draft = services.set_node_fields(
        draft=draft, user=world.supervisor, node=5, title="改善办学条件", lead_org="各镇（街道）", deadline=""
    )
    items_before = Item.objects.count()
    with pytest.raises(ValidationError) as error:
        services.save_outline(draft=draft, user=world.supervisor)
    messages = error.value.messages
    assert any(
        m.startswith("「加快项目审批」：找不到单位「区发改委」。是否是：区发展和改革局") for m in messages
    )
    assert any(m.startswith("「加快项目审批」：找不到单位「区财正局」。是否是：区财政局") for m in messages)
    assert any(m.startswith("「加快项目审批」：找不到领导「赵副区长」") for m in messages)
    assert "「改善办学条件」：牵头单位「各镇（街道）」不是一个具体单位，请写明由哪个单位牵头。" in messages
    assert "「改善办学条件」：完成时限为空，请填写日期或「长期坚持」。" in messages
    assert Item.objects.count() == items_before
    assert OutlineDraft.objects.get(pk=draft.pk).saved_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORT).exists()


def test_a_task_without_a_lead_unit_blocks_the_save(world):
    draft = services.start_outline(
        ledger=world.ledger, user=world.supervisor, text="2026年方案\n一、加快项目审批。完成时限：6月底前"
    )
    with pytest.raises(ValidationError) as error:
        services.save_outline(draft=draft, user=world.supervisor)
    assert error.value.messages == ["「加快项目审批」：没有牵头单位。"]


def test_the_parsers_notes_block_the_save_until_the_fields_are_set(world):
    text = "2026年方案\n一、改善办学条件。牵头单位：区教育局；完成时限：明年再说"
    draft = services.start_outline(ledger=world.ledger, user=world.supervisor, text=text)
    with pytest.raises(ValidationError) as error:
        services.save_outline(draft=draft, user=world.supervisor)
    assert any("明年再说" in message for message in error.value.messages)
    draft = services.set_node_fields(
        draft=draft,
        user=world.supervisor,
        node=1,
        title="改善办学条件",
        lead_org="区教育局",
        deadline="9月底前",
    )
    assert services.save_outline(draft=draft, user=world.supervisor).created == 1


def test_an_emptied_draft_is_not_saved(world, draft):
    draft = services.drop_node(draft=draft, user=world.supervisor, node=1)
    draft = services.drop_node(draft=draft, user=world.supervisor, node=4)
    with pytest.raises(ValidationError, match="没有事项"):
        services.save_outline(draft=draft, user=world.supervisor)


def test_a_supervisor_who_lost_the_ledger_cannot_save(world, draft):
    world.supervisor.memberships.all().delete()
    world.supervisor.__dict__.pop("_access_profile", None)
    with pytest.raises(ValidationError, match="督办员"):
        services.save_outline(draft=OutlineDraft.objects.get(pk=draft.pk), user=world.supervisor)
    assert not Item.objects.filter(title="加快项目审批").exists()


# The plan and the selectors ------------------------------------------------------------------------


def test_a_unit_named_like_a_group_is_a_unit(world):
    group_unit = OrganisationFactory(name="各镇街道办事处联络组", parent=world.government)
    tree = [
        {
            "id": 1,
            "title": "联络",
            "description": "",
            "lead_org": group_unit.name,
            "co_orgs": ["区直有关部门"],
            "lead_leader": "",
            "deadline": "2026-12-31",
            "standing": False,
            "cycle": "monthly",
            "marker": "一、",
            "errors": [],
            "children": [],
        }
    ]
    plan = drafts.plan(
        tree, ledger=world.ledger, units=UnitDirectory.from_queryset(), leaders=LeaderDirectory([])
    )
    assert plan.errors == {}
    (row,) = plan.rows
    assert row.values["lead_org_id"] == group_unit.pk
    assert row.values["other_units"] == "区直有关部门"
    assert row.values["report_cycle"] == "monthly"
    assert row.values["start_date"] == dt.date(2026, 1, 1)


def test_selectors_show_only_the_authors_drafts_and_their_problems(world, draft):
    assert selectors.outline_draft(world.supervisor, draft.pk) == draft
    with pytest.raises(OutlineDraft.DoesNotExist):
        selectors.outline_draft(world.other_supervisor, draft.pk)
    assert list(selectors.open_outline_drafts(world.supervisor, world.ledger)) == [draft]
    assert not selectors.open_outline_drafts(world.other_supervisor, world.ledger).exists()
    assert selectors.outline_problems(draft) == {}
    draft = services.rename_node(draft=draft, user=world.supervisor, node=5, title="改善办学条件")
    draft = services.set_node_fields(
        draft=draft, user=world.supervisor, node=5, title="改善办学条件", lead_org="区教委"
    )
    problems = selectors.outline_problems(draft)
    assert list(problems) == [5]
    assert problems[5][0].startswith("找不到单位「区教委」")
