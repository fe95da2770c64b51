"""The supervision module's periodic jobs (declared with ``luoshi.core.jobs.periodic``)."""

import datetime as dt

from django.utils import timezone

from luoshi.core.jobs import Daily, Weekly, periodic
from luoshi.supervision import services

# Urging and escalation ---------------------------------------------------------------------------------


@periodic("supervision.escalate", Daily(7))
def escalate(*, now: dt.datetime) -> dict:
    """Climb each item near or past its deadline, or lagging before it, up its ledger's ladder (reminders,
    urges, notices, referrals), once per rung and deadline; after the warnings are refreshed at 00:10."""
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
