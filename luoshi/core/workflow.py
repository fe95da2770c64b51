"""The one workflow engine: states, named transitions, and who may take each.

A workflow is data: a list of ``Transition``s over a model's state field. Services
ask it which steps a user may take now and apply one; it refuses anything else with
a message saying why.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from luoshi.core.exceptions import TransitionNotAllowed


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: the target is decided by ``resolve_target`` (e.g. resume → previous state)
    allowed: Callable[[object, object], bool]  # (user, obj) → may this user take this step?
    comment_required: bool = False
    style: str = "primary"  # how the button looks: primary, danger, secondary

    def target_for(self, obj, resolve_target: Callable | None) -> str:
        if self.target is not None:
            return self.target
        return resolve_target(self, obj)


class Workflow:
    def __init__(
        self, *, state_field: str, transitions: list[Transition], resolve_target: Callable | None = None
    ):
        self.state_field = state_field
        self.transitions = {transition.name: transition for transition in transitions}
        self.resolve_target = resolve_target

    def state(self, obj) -> str:
        return getattr(obj, self.state_field)

    def available(self, obj, user) -> list[Transition]:
        """The steps ``user`` may take on ``obj`` now, in declaration order."""
        state = self.state(obj)
        return [t for t in self.transitions.values() if state in t.sources and t.allowed(user, obj)]

    def check(self, obj, name: str, user, comment: str = "") -> Transition:
        """The transition named ``name`` if ``user`` may take it now; otherwise a clear refusal."""
        transition = self.transitions.get(name)
        if transition is None:
            raise TransitionNotAllowed(_("没有名为「%(name)s」的操作。") % {"name": name})
        if self.state(obj) not in transition.sources:
            current = obj._meta.get_field(self.state_field).flatchoices
            label = dict(current).get(self.state(obj), self.state(obj))
            raise TransitionNotAllowed(
                _("当前状态为「%(state)s」，不能执行「%(action)s」。")
                % {"state": label, "action": transition.label}
            )
        if not transition.allowed(user, obj):
            raise TransitionNotAllowed(_("您无权执行「%(action)s」。") % {"action": transition.label})
        if transition.comment_required and not (comment or "").strip():
            raise TransitionNotAllowed(_("执行「%(action)s」须填写理由。") % {"action": transition.label})
        return transition

    def apply(self, obj, name: str, user, comment: str = "") -> tuple[str, str, Transition]:
        """Move ``obj`` along ``name``; returns (old state, new state, transition). The caller saves."""
        transition = self.check(obj, name, user, comment)
        old = self.state(obj)
        new = transition.target_for(obj, self.resolve_target)
        setattr(obj, self.state_field, new)
        return old, new, transition
