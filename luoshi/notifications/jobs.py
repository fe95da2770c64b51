"""Periodic jobs of the notifications module (registered with ``luoshi.core.jobs``)."""

from luoshi.core.jobs import Every, periodic
from luoshi.notifications import services


@periodic("notifications.retry_deliveries", Every(minutes=1))
def retry_deliveries(*, now) -> dict:
    """Send what is due: new deliveries whose task was lost, and failed ones whose back-off has passed.

    Idempotent: each delivery is claimed by a conditional UPDATE before it is sent, so this run, the
    ``deliver`` tasks and another worker never send the same one twice.
    """
    return services.retry_due(now=now)
