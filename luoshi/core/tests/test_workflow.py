import pytest

from luoshi.core.exceptions import TransitionNotAllowed
from luoshi.core.workflow import Transition, Workflow
from luoshi.ledgers.models import Item, ItemStatus
from luoshi.ledgers.workflows import ITEM_WORKFLOW

pytestmark = pytest.mark.django_db

ALWAYS = lambda user, obj: True  # noqa: E731
NEVER = lambda user, obj: False  # noqa: E731

FLOW = Workflow(
    state_field="status",
    resolve_target=lambda transition, obj: obj.status_before_suspension or ItemStatus.IN_PROGRESS,
    transitions=[
        Transition("assign", "交办", (ItemStatus.DRAFT,), ItemStatus.ASSIGNED, ALWAYS),
        Transition("forbidden", "禁止", (ItemStatus.DRAFT,), ItemStatus.CLOSED, NEVER),
        Transition(
            "refuse", "退回交办", (ItemStatus.ASSIGNED,), ItemStatus.DRAFT, ALWAYS, comment_required=True
        ),
        Transition("resume", "恢复", (ItemStatus.SUSPENDED,), None, ALWAYS),
    ],
)


def _item(status, before=""):
    return Item(status=status, status_before_suspension=before)


def test_available_lists_allowed_transitions_from_current_state_in_order():
    names = [t.name for t in FLOW.available(_item(ItemStatus.DRAFT), user=None)]
    assert names == ["assign"]
    assert [t.name for t in FLOW.available(_item(ItemStatus.ASSIGNED), None)] == ["refuse"]
    assert FLOW.available(_item(ItemStatus.CLOSED), None) == []


def test_apply_moves_state_and_returns_old_and_new():
    item = _item(ItemStatus.DRAFT)
    old, new, transition = FLOW.apply(item, "assign", None)
    assert (old, new, transition.name) == (ItemStatus.DRAFT, ItemStatus.ASSIGNED, "assign")
    assert item.status == ItemStatus.ASSIGNED


def test_apply_resolves_dynamic_target():
    item = _item(ItemStatus.SUSPENDED, before=ItemStatus.ACCEPTED)
    assert FLOW.apply(item, "resume", None)[1] == ItemStatus.ACCEPTED
    assert FLOW.apply(_item(ItemStatus.SUSPENDED), "resume", None)[1] == ItemStatus.IN_PROGRESS


def test_unknown_transition_refused():
    with pytest.raises(TransitionNotAllowed) as error:
        FLOW.check(_item(ItemStatus.DRAFT), "fly", None)
    assert "没有名为「fly」的操作" in error.value.messages[0]


def test_wrong_state_names_the_state_and_action_and_leaves_obj_alone():
    item = _item(ItemStatus.CLOSED)
    with pytest.raises(TransitionNotAllowed) as error:
        FLOW.apply(item, "assign", None)
    assert "当前状态为「已销号」" in error.value.messages[0]
    assert "不能执行「交办」" in error.value.messages[0]
    assert item.status == ItemStatus.CLOSED


def test_wrong_user_refused():
    with pytest.raises(TransitionNotAllowed) as error:
        FLOW.check(_item(ItemStatus.DRAFT), "forbidden", None)
    assert "您无权执行「禁止」" in error.value.messages[0]


@pytest.mark.parametrize("comment", ["", "   ", None])
def test_missing_comment_refused(comment):
    with pytest.raises(TransitionNotAllowed) as error:
        FLOW.check(_item(ItemStatus.ASSIGNED), "refuse", None, comment)
    assert "须填写理由" in error.value.messages[0]
    assert FLOW.check(_item(ItemStatus.ASSIGNED), "refuse", None, "单位职责不符").name == "refuse"


def test_item_workflow_available_depends_on_role(world):
    item = world.item
    assert [t.name for t in ITEM_WORKFLOW.available(item, world.supervisor)] == ["assign"]
    assert ITEM_WORKFLOW.available(item, world.lead_liaison) == []
    item = world.advance(item, ItemStatus.ASSIGNED)
    assert {t.name for t in ITEM_WORKFLOW.available(item, world.lead_liaison)} == {"accept", "refuse"}
    assert {t.name for t in ITEM_WORKFLOW.available(item, world.supervisor)} == {"suspend"}
    assert ITEM_WORKFLOW.available(item, world.co_liaison) == []
