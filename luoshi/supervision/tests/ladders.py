"""Ladders the escalation tests share."""

from luoshi.supervision import services
from luoshi.supervision.models import EscalationAction


def deadline_ladder_only(world):
    """The standard ladder without its warning rungs, for tests of the working-day offsets alone: their
    items, never reported on, are red from the start (test_escalation_warnings walks the warnings)."""
    services.save_policy(
        ledger=world.ledger,
        user=world.supervisor,
        style="standard",
        is_active=True,
        urgent_start=EscalationAction.SUPERVISION_NOTICE,
        rungs=services.STANDARD_LADDER,
        on_yellow="",
        on_red="",
    )
