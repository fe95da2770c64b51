import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core.exceptions import StaleObjectError, TransitionNotAllowed
from luoshi.ledgers import services
from luoshi.ledgers.models import (
    EventKind,
    FieldTarget,
    FieldType,
    Item,
    ItemEvent,
    ItemStatus,
    LedgerField,
    Milestone,
    WarningColor,
)
from luoshi.ledgers.tests.factories import ItemFactory, LedgerFactory, LedgerFieldFactory
from luoshi.ledgers.warnings import compute_warning
from luoshi.orgs.models import Organisation

D = dt.date


def _messages(error) -> str:
    return " ".join(error.value.messages)


def _today():
    return timezone.localdate()


# create_item ----------------------------------------------------------------------------------


def test_create_item_records_deadlines_warning_and_event(world):
    item = world.item
    assert item.status == ItemStatus.DRAFT
    assert item.original_deadline == item.assessed_deadline == item.deadline
    assert item.warning_as_of == _today()
    expected = compute_warning(item, _today(), has_children=False)
    assert (item.warning_color, item.warning_reason) == (expected.color, expected.reason)
    assert list(item.co_orgs.all()) == [world.co_unit]
    assert ItemEvent.objects.filter(item=item, kind=EventKind.CREATED, actor=world.supervisor).count() == 1


def test_create_item_defaults_cycle_and_kind_from_ledger(world):
    item = world.make_item()
    assert item.report_cycle == world.ledger.default_report_cycle
    assert item.kind == world.ledger.item_kind


def test_deadline_before_start_refused(world):
    with pytest.raises(ValidationError) as error:
        world.make_item(start_date=D(2026, 6, 1), deadline=D(2026, 5, 1))
    assert "不能早于开始日期" in error.value.message_dict["deadline"][0]


def test_missing_deadline_refused_unless_standing(world):
    with pytest.raises(ValidationError) as error:
        world.make_item(deadline=None)
    assert "请填写完成时限" in error.value.message_dict["deadline"][0]
    standing = world.make_item(is_standing=True, deadline=D(2026, 12, 31))
    assert standing.deadline is None and standing.original_deadline is None


def test_inactive_lead_org_refused(world):
    Organisation.objects.filter(pk=world.unrelated_unit.pk).update(is_active=False)
    with pytest.raises(ValidationError) as error:
        world.make_item(lead_org=Organisation.objects.get(pk=world.unrelated_unit.pk))
    assert "牵头单位不存在或已停用" in error.value.message_dict["lead_org"][0]


def test_parent_in_another_ledger_refused(world):
    other_ledger = LedgerFactory(owner_office=world.office)
    foreign = ItemFactory(ledger=other_ledger, lead_org=world.lead_unit, user=world.supervisor)
    with pytest.raises(ValidationError) as error:
        world.make_item(parent=foreign)
    assert "上级事项必须在同一台账中" in error.value.message_dict["parent"][0]
    assert world.make_item(parent=world.item).parent == world.item


@pytest.mark.parametrize("who", ["other_supervisor", "lead_liaison", "leader", "system_admin"])
def test_only_ledger_supervisor_may_create(world, who):
    before = Item.objects.count()
    with pytest.raises(ValidationError) as error:
        world.make_item(user=getattr(world, who))
    assert "只有本台账的督办员可以新建事项" in _messages(error)
    assert Item.objects.count() == before


# custom fields --------------------------------------------------------------------------------


@pytest.fixture
def fielded(world):
    """The world's ledger with one custom item field of each type (``amount`` required)."""
    spec = [
        ("note", FieldType.TEXT, False, []),
        ("amount", FieldType.NUMBER, True, []),
        ("signed_on", FieldType.DATE, False, []),
        ("level", FieldType.CHOICE, False, ["省级", "市级"]),
        ("contact", FieldType.PERSON, False, []),
        ("partner", FieldType.UNIT, False, []),
    ]
    for key, field_type, required, choices in spec:
        LedgerFieldFactory(
            ledger=world.ledger,
            key=key,
            label=f"字段{key}",
            field_type=field_type,
            required=required,
            choices=choices,
        )
    return world


def test_custom_fields_cleaned(fielded):
    w = fielded
    item = w.make_item(
        extra={
            "note": "  备注  ",
            "amount": "1,234.50",
            "signed_on": "2026-03-31",
            "level": "市级",
            "contact": str(w.lead_liaison.pk),
            "partner": w.co_unit.pk,
        }
    )
    assert item.extra == {
        "note": "备注",
        "amount": "1234.50",
        "signed_on": "2026-03-31",
        "level": "市级",
        "contact": w.lead_liaison.pk,
        "partner": w.co_unit.pk,
    }


def test_date_field_accepts_date_objects(fielded):
    item = fielded.make_item(extra={"amount": 1, "signed_on": D(2026, 3, 31)})
    assert item.extra["signed_on"] == "2026-03-31"


@pytest.mark.parametrize(
    ("extra", "key", "fragment"),
    [
        ({}, "amount", "请填写「字段amount」"),
        ({"amount": ""}, "amount", "请填写「字段amount」"),
        ({"amount": "十万"}, "amount", "须为数字"),
        ({"amount": "NaN"}, "amount", "须为数字"),
        ({"amount": "Infinity"}, "amount", "须为数字"),
        ({"amount": 1, "signed_on": "2026-13-01"}, "signed_on", "须为日期"),
        ({"amount": 1, "level": "县级"}, "level", "只能是：省级、市级"),
        ({"amount": 1, "contact": 999999}, "contact", "所选人员不存在"),
        ({"amount": 1, "contact": "张三"}, "contact", "的值无效"),
        ({"amount": 1, "partner": 999999}, "partner", "所选单位不存在"),
        ({"amount": 1, "colour": "red"}, "colour", "台账没有名为「colour」的字段"),
    ],
)
def test_custom_field_errors(fielded, extra, key, fragment):
    with pytest.raises(ValidationError) as error:
        fielded.make_item(extra=extra)
    assert fragment in error.value.message_dict[key][0]


def test_report_target_fields_are_not_item_fields(world):
    LedgerFieldFactory(
        ledger=world.ledger, key="invested", target=FieldTarget.REPORT, field_type=FieldType.NUMBER
    )
    with pytest.raises(ValidationError) as error:
        world.make_item(extra={"invested": 5})
    assert "invested" in error.value.message_dict


# update_item ----------------------------------------------------------------------------------


def test_update_item_records_changes(world):
    item = Item.objects.get(pk=world.item.pk)
    updated = services.update_item(item=item, user=world.supervisor, version=item.version, title="新标题")
    assert updated.title == "新标题"
    event = ItemEvent.objects.get(item=item, kind=EventKind.EDITED)
    assert event.data["changes"]["title"] == ["推进重大项目建设", "新标题"]


def test_update_item_with_stale_version_raises(world):
    loaded = Item.objects.get(pk=world.item.pk)
    other = Item.objects.get(pk=world.item.pk)
    services.update_item(item=other, user=world.supervisor, version=other.version, title="先保存")
    with pytest.raises(StaleObjectError):
        services.update_item(item=loaded, user=world.supervisor, version=loaded.version, title="后保存")
    assert Item.objects.get(pk=world.item.pk).title == "先保存"


def test_update_item_refused_for_non_supervisor(world):
    item = Item.objects.get(pk=world.item.pk)
    with pytest.raises(ValidationError) as error:
        services.update_item(item=item, user=world.lead_liaison, version=item.version, title="x")
    assert "只有本台账的督办员可以修改事项" in _messages(error)


def test_update_item_refuses_parent_cycle(world):
    child = world.make_item(parent=world.item)
    parent = Item.objects.get(pk=world.item.pk)
    with pytest.raises(ValidationError) as error:
        services.update_item(item=parent, user=world.supervisor, version=parent.version, parent=child)
    assert "不能把事项挂到它自己或它的下级事项之下" in error.value.message_dict["parent"][0]


def test_update_item_deadline_keeps_original(world):
    item = Item.objects.get(pk=world.item.pk)
    original = item.deadline
    services.update_item(
        item=item, user=world.supervisor, version=item.version, deadline=original + dt.timedelta(10)
    )
    item.refresh_from_db()
    assert item.original_deadline == original
    assert item.deadline == original + dt.timedelta(10)


# workflow -------------------------------------------------------------------------------------


def _go(item, action, user, comment=""):
    return services.transition_item(item=item, action=action, user=user, comment=comment)


def test_full_workflow_by_the_right_roles(world):
    w = world
    item = _go(w.item, "assign", w.supervisor)
    assert item.status == ItemStatus.ASSIGNED
    item = _go(item, "accept", w.lead_liaison)
    assert item.status == ItemStatus.ACCEPTED
    item = _go(item, "start", w.handler)
    assert item.status == ItemStatus.IN_PROGRESS
    item = _go(item, "request_completion", w.lead_liaison, "已完成全部建设内容")
    assert item.status == ItemStatus.COMPLETION_REQUESTED
    item = _go(item, "return", w.supervisor, "佐证材料不全")
    assert item.status == ItemStatus.IN_PROGRESS
    item = _go(item, "request_completion", w.lead_liaison, "已补充材料")
    item = _go(item, "complete", w.supervisor)
    assert item.status == ItemStatus.COMPLETED
    assert item.completed_on == _today()
    assert item.percent_complete == 100
    assert item.warning_color == WarningColor.DONE
    item = _go(item, "close", w.supervisor)
    assert item.status == ItemStatus.CLOSED
    actions = list(
        ItemEvent.objects.filter(item=item, kind=EventKind.TRANSITION)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "assign",
        "accept",
        "start",
        "request_completion",
        "return",
        "request_completion",
        "complete",
        "close",
    ]
    returned = ItemEvent.objects.get(item=item, action="return")
    assert (returned.comment, returned.actor) == ("佐证材料不全", w.supervisor)


def test_refuse_assignment_needs_reason_and_goes_back_to_draft(world):
    item = world.advance(world.item, ItemStatus.ASSIGNED)
    with pytest.raises(TransitionNotAllowed) as error:
        _go(item, "refuse", world.lead_liaison)
    assert "须填写理由" in _messages(error)
    item = _go(item, "refuse", world.lead_liaison, "不属于本单位职责")
    assert item.status == ItemStatus.DRAFT


def test_reopen_clears_completed_on(world):
    item = world.advance(world.item, ItemStatus.COMPLETED)
    item = _go(item, "reopen", world.supervisor, "群众反映问题反弹")
    assert item.status == ItemStatus.IN_PROGRESS
    assert item.completed_on is None


@pytest.mark.parametrize("status", [ItemStatus.ASSIGNED, ItemStatus.ACCEPTED, ItemStatus.IN_PROGRESS])
def test_suspend_and_resume_returns_to_previous_state(world, status):
    item = world.advance(world.item, status)
    with pytest.raises(TransitionNotAllowed):
        _go(item, "suspend", world.supervisor)  # a reason is required
    item = _go(item, "suspend", world.supervisor, "政策调整，暂缓实施")
    assert item.status == ItemStatus.SUSPENDED
    assert item.warning_color == WarningColor.SUSPENDED
    item = _go(item, "resume", world.supervisor)
    assert item.status == status


@pytest.mark.parametrize(
    ("status", "action", "who", "fragment"),
    [
        (ItemStatus.DRAFT, "assign", "other_supervisor", "您无权执行「交办」"),
        (ItemStatus.DRAFT, "assign", "lead_liaison", "您无权执行「交办」"),
        (ItemStatus.ASSIGNED, "accept", "co_liaison", "您无权执行「签收」"),
        (ItemStatus.ASSIGNED, "accept", "handler", "您无权执行「签收」"),
        (ItemStatus.ASSIGNED, "accept", "sub_liaison", "您无权执行「签收」"),
        (ItemStatus.ASSIGNED, "accept", "supervisor", "您无权执行「签收」"),
        (ItemStatus.ACCEPTED, "start", "co_liaison", "您无权执行「开始推进」"),
        (ItemStatus.IN_PROGRESS, "request_completion", "handler", "您无权执行「申请办结」"),
        (ItemStatus.COMPLETION_REQUESTED, "complete", "lead_liaison", "您无权执行「同意办结」"),
        (ItemStatus.COMPLETION_REQUESTED, "complete", "leader", "您无权执行「同意办结」"),
        (ItemStatus.COMPLETED, "close", "other_supervisor", "您无权执行「销号」"),
        (ItemStatus.IN_PROGRESS, "suspend", "lead_liaison", "您无权执行「中止」"),
        (ItemStatus.DRAFT, "accept", "lead_liaison", "当前状态为「草稿」"),
        (ItemStatus.ASSIGNED, "complete", "supervisor", "当前状态为「已交办」"),
        (ItemStatus.IN_PROGRESS, "close", "supervisor", "不能执行「销号」"),
        (ItemStatus.CLOSED, "suspend", "supervisor", "当前状态为「已销号」"),
        (ItemStatus.IN_PROGRESS, "resume", "supervisor", "不能执行「恢复」"),
    ],
)
def test_refusals(world, status, action, who, fragment):
    item = world.advance(world.item, status)
    comment = "理由"
    with pytest.raises(TransitionNotAllowed) as error:
        _go(item, action, getattr(world, who), comment)
    assert fragment in _messages(error)
    assert Item.objects.get(pk=item.pk).status == status


def test_transition_with_stale_version_raises(world):
    item = Item.objects.get(pk=world.item.pk)
    stale = item.version
    services.update_item(item=item, user=world.supervisor, version=stale, title="改过")
    with pytest.raises(StaleObjectError):
        services.transition_item(item=item, action="assign", user=world.supervisor, version=stale)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.DRAFT


def test_sub_unit_item_may_be_accepted_by_parent_unit_liaison(world):
    item = world.advance(world.make_item(lead_org=world.sub_unit), ItemStatus.ASSIGNED)
    assert _go(item, "accept", world.lead_liaison).status == ItemStatus.ACCEPTED


def test_bulk_transition_is_all_or_nothing(world):
    first = world.make_item(title="第一项")
    second = world.advance(world.make_item(title="第二项"), ItemStatus.ASSIGNED)
    with pytest.raises(ValidationError) as error:
        services.bulk_transition(items=[first, second], action="assign", user=world.supervisor)
    assert "「第二项」" in _messages(error)
    assert "当前状态为「已交办」" in _messages(error)
    assert Item.objects.get(pk=first.pk).status == ItemStatus.DRAFT
    assert not ItemEvent.objects.filter(item=first, action="assign").exists()
    assert services.bulk_transition(items=[first, world.item], action="assign", user=world.supervisor) == 2
    assert set(Item.objects.filter(pk__in=[first.pk, world.item.pk]).values_list("status", flat=True)) == {
        ItemStatus.ASSIGNED
    }


def test_add_comment_requires_text(world):
    with pytest.raises(ValidationError):
        services.add_comment(item=world.item, user=world.lead_liaison, text="  ")
    assert services.add_comment(item=world.item, user=world.lead_liaison, text="收到").comment == "收到"


# milestones -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_backward_schedule_skips_weekends_and_holidays():
    schedule = services.backward_schedule(D(2026, 10, 9), [("调研", 3), ("实施", 2)])
    assert schedule == [
        ("调研", 3, D(2026, 9, 28), D(2026, 9, 30)),
        ("实施", 2, D(2026, 10, 8), D(2026, 10, 9)),
    ]


@pytest.mark.django_db
def test_backward_schedule_deadline_on_holiday_ends_on_last_working_day():
    schedule = services.backward_schedule(D(2026, 10, 5), [("收尾", 1)])
    assert schedule == [("收尾", 1, D(2026, 9, 30), D(2026, 9, 30))]
    weekend = services.backward_schedule(D(2026, 11, 22), [("a", 2), ("b", 5)])
    assert weekend[1][2:] == (D(2026, 11, 16), D(2026, 11, 20))
    assert weekend[0][2:] == (D(2026, 11, 12), D(2026, 11, 13))


@pytest.mark.django_db
def test_backward_schedule_refuses_zero_duration():
    with pytest.raises(ValidationError) as error:
        services.backward_schedule(D(2026, 10, 9), [("空", 0)])
    assert "至少为 1 个工作日" in _messages(error)


def test_schedule_milestones_creates_and_replaces(world):
    item = world.item
    milestones = services.schedule_milestones(
        item=item, user=world.supervisor, phases=[("方案", 5), ("实施", 10)]
    )
    assert [m.name for m in milestones] == ["方案", "实施"]
    stored = list(Milestone.objects.filter(item=item))
    assert stored[-1].due_date <= item.deadline
    assert stored[0].due_date < stored[1].start_date
    services.schedule_milestones(item=item, user=world.supervisor, phases=[("全部", 3)])
    assert list(Milestone.objects.filter(item=item).values_list("name", flat=True)) == ["全部"]


def test_schedule_milestones_refusals(world):
    with pytest.raises(ValidationError) as error:
        services.schedule_milestones(item=world.item, user=world.supervisor, phases=[("太长", 500)])
    assert "超出了开始日期到完成时限之间的工作日" in _messages(error)
    with pytest.raises(ValidationError):
        services.schedule_milestones(item=world.item, user=world.supervisor, phases=[])
    with pytest.raises(ValidationError) as error:
        services.schedule_milestones(item=world.item, user=world.lead_liaison, phases=[("a", 1)])
    assert "只有本台账的督办员" in _messages(error)
    standing = world.make_item(is_standing=True)
    with pytest.raises(ValidationError) as error:
        services.schedule_milestones(item=standing, user=world.supervisor, phases=[("a", 1)])
    assert "长期坚持" in _messages(error)
    assert not Milestone.objects.exists()


def test_update_milestone_refuses_due_before_start(world):
    milestone = services.schedule_milestones(item=world.item, user=world.supervisor, phases=[("a", 3)])[0]
    with pytest.raises(ValidationError):
        services.update_milestone(
            milestone=milestone, user=world.supervisor, due_date=milestone.start_date - dt.timedelta(1)
        )
    milestone = Milestone.objects.get(pk=milestone.pk)
    done = services.update_milestone(milestone=milestone, user=world.supervisor, done_on=_today())
    assert Milestone.objects.get(pk=done.pk).done_on == _today()


def test_milestone_services_refuse_a_stale_version(world):
    item = world.advance(world.item, ItemStatus.ACCEPTED)
    loaded = services.schedule_milestones(item=item, user=world.supervisor, phases=[("方案", 3)])[0]
    services.update_milestone(milestone=loaded, user=world.supervisor, version=loaded.version, name="新方案")
    with pytest.raises(StaleObjectError, match="已被其他人修改"):
        services.update_milestone(milestone=loaded, user=world.supervisor, name="旧副本")
    with pytest.raises(StaleObjectError, match="已被其他人修改"):
        services.complete_milestone(
            milestone=loaded, user=world.lead_liaison, done_on=_today(), version=loaded.version
        )
    stored = Milestone.objects.get(pk=loaded.pk)
    assert (stored.name, stored.done_on, stored.version) == ("新方案", None, loaded.version + 1)
    done = services.complete_milestone(
        milestone=stored, user=world.lead_liaison, done_on=_today(), version=stored.version
    )
    assert (done.done_on, done.version) == (_today(), stored.version + 1)


def test_milestone_changes_reach_the_audit_trail_once(world):
    def logged(action, pk):
        return AuditEvent.objects.filter(action=action, object_type="ledgers.Milestone", object_id=str(pk))

    first = services.schedule_milestones(item=world.item, user=world.supervisor, phases=[("方案", 3)])[0]
    assert logged(AuditAction.CREATE, first.pk).count() == 1
    services.update_milestone(milestone=first, user=world.supervisor, version=first.version, name="新方案")
    (update,) = logged(AuditAction.UPDATE, first.pk)
    assert (update.before, update.after) == ({"name": "方案"}, {"name": "新方案"})
    replacement = services.schedule_milestones(item=world.item, user=world.supervisor, phases=[("全部", 3)])[
        0
    ]
    assert logged(AuditAction.DELETE, first.pk).count() == 1
    assert logged(AuditAction.CREATE, replacement.pk).count() == 1


def test_ledger_field_edit_refuses_a_stale_version(world):
    field = services.save_ledger_field(
        user=world.supervisor, ledger=world.ledger, key="note", label="备注", field_type="text"
    )
    services.save_ledger_field(user=world.supervisor, field=field, version=field.version, label="说明")
    with pytest.raises(StaleObjectError, match="已被其他人修改"):
        services.save_ledger_field(user=world.supervisor, field=field, version=field.version, label="旧副本")
    with pytest.raises(StaleObjectError):
        services.save_ledger_field(user=world.supervisor, field=field, label="未给版本，按传入副本")
    stored = LedgerField.objects.get(pk=field.pk)
    assert (stored.label, stored.version) == ("说明", field.version + 1)


# warnings refresh -----------------------------------------------------------------------------


def test_refresh_stale_warnings(world):
    w = world
    running = w.advance(w.make_item(start_date=_today() - dt.timedelta(days=120)), ItemStatus.IN_PROGRESS)
    done = w.advance(w.make_item(), ItemStatus.COMPLETED)
    yesterday = _today() - dt.timedelta(days=1)
    Item.objects.update(warning_as_of=yesterday, warning_color=WarningColor.GREEN, warning_reason_code="")
    updated = services.refresh_stale_warnings(on=_today())
    assert updated == Item.objects.exclude(pk=done.pk).count()
    assert set(Item.objects.values_list("warning_as_of", flat=True)) == {_today()}
    running.refresh_from_db()
    assert running.warning_color == WarningColor.RED
    assert "逾期未报送进展" in running.warning_reason
    done.refresh_from_db()
    assert done.warning_color == WarningColor.GREEN  # done items are not recomputed, only stamped
    assert services.refresh_stale_warnings(on=_today()) == 0


def test_refresh_warning_does_not_bump_version(world):
    item = Item.objects.get(pk=world.item.pk)
    services.refresh_warning(item, on=_today() + dt.timedelta(days=1))
    stored = Item.objects.get(pk=item.pk)
    assert stored.version == item.version
    assert stored.warning_as_of == _today() + dt.timedelta(days=1)


# warnings of items with children --------------------------------------------------------------


def _overdue_family(world):
    """A parent and its child, both running since 120 days ago, the child reporting this period."""
    w = world
    dates = {"start_date": _today() - dt.timedelta(days=120), "deadline": _today() + dt.timedelta(days=60)}
    parent = w.advance(w.make_item(title="重点工作", **dates), ItemStatus.IN_PROGRESS)
    child = w.advance(w.make_item(title="具体任务", parent=parent, **dates), ItemStatus.IN_PROGRESS)
    services.save_report(item=child, user=w.lead_liaison, text="按计划推进", percent_complete=80)
    return Item.objects.get(pk=parent.pk), Item.objects.get(pk=child.pk)


def _reason(item) -> str:
    return Item.objects.get(pk=item.pk).warning_reason


def test_item_with_children_is_not_red_for_its_own_missing_reports(world):
    parent, _child = _overdue_family(world)
    assert parent.percent_complete == 80  # rolled up
    assert parent.last_report_period_end is None  # it never reported itself
    assert parent.warning_color == WarningColor.GREEN, parent.warning_reason
    # Every path that recomputes warnings knows the parent has children.
    Item.objects.update(warning_as_of=_today() - dt.timedelta(days=1))
    services.refresh_stale_warnings(on=_today())
    assert "逾期未报送" not in _reason(parent)
    services.refresh_warning(parent)
    assert "逾期未报送" not in _reason(parent)
    services.transition_item(item=parent, action="suspend", user=world.supervisor, comment="暂缓")
    resumed = services.transition_item(item=parent, action="resume", user=world.supervisor)
    assert resumed.warning_color == WarningColor.GREEN
    updated = services.update_item(
        item=Item.objects.get(pk=parent.pk),
        user=world.supervisor,
        version=resumed.version,
        title="重点工作（调整）",
    )
    assert updated.warning_color == WarningColor.GREEN


def test_an_item_that_loses_its_last_child_owes_reports_again(world):
    parent, child = _overdue_family(world)
    services.update_item(item=child, user=world.supervisor, version=child.version, parent=None)
    parent.refresh_from_db()
    assert parent.warning_color == WarningColor.RED
    assert "逾期未报送进展" in parent.warning_reason


def test_transition_updates_the_callers_instance(world):
    item = Item.objects.get(pk=world.item.pk)
    returned = services.transition_item(item=item, action="assign", user=world.supervisor)
    assert item.status == returned.status == ItemStatus.ASSIGNED
    assert item.version == returned.version == Item.objects.get(pk=item.pk).version
    item.title = "改名"
    services.update_item(item=item, user=world.supervisor, version=item.version, title="改名")


def test_transition_reads_the_injected_clock(world):
    item = world.advance(world.item, ItemStatus.COMPLETION_REQUESTED)
    at = timezone.make_aware(dt.datetime.combine(_today() - dt.timedelta(days=3), dt.time(10, 30)))
    done = services.transition_item(item=item, action="complete", user=world.supervisor, now=at)
    assert done.completed_on == _today() - dt.timedelta(days=3)
    assert done.warning_as_of == _today() - dt.timedelta(days=3)
    event = ItemEvent.objects.get(item=item, action="complete")
    assert event.created_at == at


def test_edit_does_not_overwrite_progress_rolled_up_meanwhile(world):
    """A report or roll-up writes percent without bumping the version; an edit must not undo it."""
    loaded = Item.objects.get(pk=world.item.pk)
    Item.objects.filter(pk=world.item.pk).update(percent_complete=55)
    services.update_item(item=loaded, user=world.supervisor, version=loaded.version, title="改名后的事项")
    stored = Item.objects.get(pk=world.item.pk)
    assert stored.title == "改名后的事项"
    assert stored.percent_complete == 55
