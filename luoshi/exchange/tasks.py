"""Background tasks of the exchange: large exports, built by the worker once their request has committed."""

from django_tasks import task

from luoshi.exchange import services


@task()
def render_export(job_id: int) -> str:
    """Build a queued export's workbook (``services.render_export``); returns the job's status."""
    return services.render_export(job_id)
