"""The supervision module's periodic jobs (declared with ``luoshi.core.jobs.periodic``)."""

import datetime as dt

from django.utils import timezone

from luoshi.core.jobs import Daily, Weekly, periodic
from luoshi.supervision import services

# Urging and escalation ---------------------------------------------------------------------------------


@periodic("supervision.escalate", Daily(7))
def escalate(*, now: dt.datetime) -> dict:
    """Climb each overdue item up its ledger's ladder (reminders, notices, referrals), once per rung."""
    return services.escalate(on=timezone.localdate(now))


@periodic("supervision.report_reminders", Daily(8))
def report_reminders(*, now: dt.datetime) -> dict:
    return services.report_reminders(on=timezone.localdate(now))


@periodic("supervision.deadline_reminders", Daily(8))
def deadline_reminders(*, now: dt.datetime) -> dict:
    return services.deadline_reminders(on=timezone.localdate(now))


@periodic("supervision.leader_digest", Daily(7, 30))
def leader_digest(*, now: dt.datetime) -> dict:
    return services.leader_digest(on=timezone.localdate(now))


@periodic("supervision.leader_digest_weekly", Weekly(0, 7, 30))
def leader_digest_weekly(*, now: dt.datetime) -> dict:
    return services.leader_digest(on=timezone.localdate(now), weekly=True)
