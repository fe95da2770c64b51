"""The supervision order's workflow, declared as data for ``luoshi.core.workflow``.

已下发 → 签收 → 回复 → 办结; a reply may come without signing first (replying signs), and the office
may send a replied or closed order back to the unit (重新督办) with a new reply deadline.
"""

from django.utils.translation import gettext_lazy as _

from luoshi.core.workflow import Transition, Workflow
from luoshi.orgs.selectors import access_profile
from luoshi.supervision.models import OrderStatus


def is_order_unit_worker(user, order) -> bool:
    """A liaison or handler of the unit the order is issued to (or of a unit above it)."""
    path = order.organisation.path
    return any(path.startswith(prefix) for prefix in access_profile(user).unit_paths)


def is_order_supervisor(user, order) -> bool:
    """A supervisor of the office that issued the order."""
    return order.office_id in access_profile(user).supervisor_org_ids


S = OrderStatus
ORDER_WORKFLOW = Workflow(
    state_field="status",
    transitions=[
        Transition("sign", _("签收"), (S.ISSUED,), S.SIGNED, is_order_unit_worker),
        Transition("reply", _("回复"), (S.ISSUED, S.SIGNED), S.REPLIED, is_order_unit_worker),
        Transition("close", _("办结"), (S.REPLIED,), S.CLOSED, is_order_supervisor),
        Transition(
            "reopen",
            _("重新督办"),
            (S.REPLIED, S.CLOSED),
            S.ISSUED,
            is_order_supervisor,
            comment_required=True,
            style="danger",
        ),
    ],
)
