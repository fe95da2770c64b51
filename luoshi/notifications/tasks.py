"""Background tasks: one delivery sent by a worker, enqueued once its notification has committed."""

from django_tasks import task

from luoshi.notifications import services


@task()
def deliver(delivery_id: int) -> str:
    """Send one e-mail or robot post; a failure is recorded and retried by ``notifications.retry_deliveries``."""
    return services.send_delivery(delivery_id)
