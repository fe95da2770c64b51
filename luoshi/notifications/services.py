"""Every write of the notifications module: ``notify`` (the one entry point other modules call), the inbox,
preferences, robots, and sending deliveries with retries.

Exactly once: a happening is named by its ``key``. Inbox rows are unique per (recipient, key), e-mails per
(key, address), robot posts per (key, channel); all are inserted ignoring conflicts, so calling ``notify``
again, or from two workers at once, adds nothing. A delivery is claimed by a conditional UPDATE before it
is sent, so two workers never send the same one.
"""

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.ledgers.models import Ledger
from luoshi.notifications import senders
from luoshi.notifications.models import (
    EMAIL_BY_DEFAULT,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Event,
    Notification,
    Preference,
    validate_site_path,
)
from luoshi.orgs.models import Organisation, Role, User
from luoshi.orgs.selectors import people_with_role

# Minutes to wait after the 1st, 2nd, … failure; the last step repeats.
BACKOFF_MINUTES = (1, 5, 30, 120, 360)
# A claimed delivery is not due again for this long: if its worker dies mid-send, another retries it.
CLAIM_LEASE = dt.timedelta(minutes=10)
TEXT_LIMIT = 2000


def notify(
    *,
    event: str,
    recipients: Iterable[User],
    title: str,
    body: str = "",
    url: str = "",
    key: str,
    organisations: Iterable[Organisation] = (),
    ledger: Ledger | None = None,
    actor: User | None = None,
) -> int:
    """Inbox message for every recipient, e-mail per their preferences, and one message to each active webhook
    channel of the given units (organisations) or ledger. `key` makes it exactly-once: the same key never
    makes a second inbox row for a recipient, a second e-mail, or a second webhook post (unique constraints,
    bulk inserts that ignore conflicts). Called inside the caller's transaction; deliveries are enqueued with
    transaction.on_commit. Returns the number of new inbox messages.

    ``actor`` (who caused it) is left out of the recipients: nobody is told of their own action.
    """
    return _notify(
        event=event,
        recipients=recipients,
        title=title,
        body=body,
        url=url,
        key=key,
        organisations=organisations,
        ledger=ledger,
        actor=actor,
    )


@transaction.atomic
def _notify(
    *, event, recipients, title, body, url, key, organisations=(), ledger=None, actor=None, email=True
) -> int:
    event = Event(event)
    validate_site_path(url)
    if not key or len(key) > 200:
        raise ValidationError(_("通知缺少标识（key），或标识超过 200 个字符。"))
    title = title[:200]
    people = {user.pk: user for user in recipients if user.is_active}
    if actor is not None:
        people.pop(actor.pk, None)

    inbox = Notification.objects.filter(key=key, recipient_id__in=list(people))
    before = set(inbox.values_list("recipient_id", flat=True))
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=pk, event=event, title=title, body=body, url=url, key=key, created_at=now
            )
            for pk in people
            if pk not in before
        ],
        ignore_conflicts=True,
    )
    created = inbox.count() - len(before)

    deliveries = []
    summary = {"key": key, "event": event, "title": title, "text": body[:TEXT_LIMIT], "url": url}
    if email:
        wanted = _email_wanted(people.values(), event)
        notification_of = dict(
            Notification.objects.filter(key=key, recipient_id__in=[user.pk for user in wanted]).values_list(
                "recipient_id", "pk"
            )
        )
        deliveries += [
            Delivery(
                kind=DeliveryKind.EMAIL,
                address=user.email,
                notification_id=notification_of.get(user.pk),
                **summary,
            )
            for user in wanted
        ]
    deliveries += [
        Delivery(kind=channel.kind, channel=channel, **summary)
        for channel in _channels(event, organisations, ledger)
    ]
    if deliveries:
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        addresses = [d.address for d in deliveries if d.channel_id is None]
        channel_ids = [d.channel_id for d in deliveries if d.channel_id is not None]
        fresh = list(
            Delivery.objects.filter(key=key, attempts=0, status=DeliveryStatus.PENDING)
            .filter(Q(channel_id__in=channel_ids) | Q(channel__isnull=True, address__in=addresses))
            .values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: _enqueue(fresh))
    return created


def _email_wanted(users: Iterable[User], event: str) -> list[User]:
    users = [user for user in users if user.email]
    chosen = dict(
        Preference.objects.filter(user_id__in=[user.pk for user in users], event=event).values_list(
            "user_id", "email"
        )
    )
    default = event in EMAIL_BY_DEFAULT
    return [user for user in users if chosen.get(user.pk, default)]


def _channels(event: str, organisations: Iterable[Organisation], ledger: Ledger | None) -> list[Channel]:
    scope = Q(organisation_id__in=[org.pk for org in organisations])
    if ledger is not None:
        scope |= Q(ledger_id=ledger.pk)
    return [channel for channel in Channel.objects.filter(scope, is_active=True) if channel.wants(event)]


def _enqueue(delivery_ids: list[int]) -> None:
    from luoshi.notifications.tasks import deliver

    for pk in delivery_ids:
        deliver.enqueue(pk)


# The inbox ---------------------------------------------------------------------------------------------


def mark_read(*, user: User, notification: Notification) -> None:
    Notification.objects.filter(pk=notification.pk, recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


# Preferences ---------------------------------------------------------------------------------------------


def email_preferences(user: User) -> dict[str, bool]:
    """Every event → whether ``user`` gets it by e-mail (their choice, or the default)."""
    chosen = dict(Preference.objects.filter(user=user).values_list("event", "email"))
    return {event: chosen.get(event, event in EMAIL_BY_DEFAULT) for event in Event.values}


@transaction.atomic
def set_email_preferences(*, user: User, email_events: Iterable[str]) -> dict[str, bool]:
    """``user`` gets exactly ``email_events`` by e-mail from now on (the inbox gets everything)."""
    email_events = set(email_events)
    unknown = email_events - set(Event.values)
    if unknown:
        raise ValidationError(_("未知的消息类型：%(events)s。") % {"events": "、".join(sorted(unknown))})
    Preference.objects.filter(user=user).delete()
    Preference.objects.bulk_create(
        [Preference(user=user, event=event, email=event in email_events) for event in Event.values]
    )
    return {event: event in email_events for event in Event.values}


# Robots --------------------------------------------------------------------------------------------------


@transaction.atomic
def save_channel(*, user: User, channel: Channel, version: int | None = None) -> Channel:
    """Create or update a robot; the caller has checked ``user`` manages its unit or ledger. An edit names
    the version it was loaded at (``StaleObjectError`` if someone saved since)."""
    if channel._state.adding:
        channel.created_by = user
    elif version is not None:
        channel.version = version
    channel.full_clean(exclude=["created_by"])
    channel.save()
    return channel


def send_test_message(*, channel: Channel, user: User) -> senders.Result:
    """Send one test message now and return the robot's answer (nothing is stored)."""
    message = senders.Message(
        title=_("【落实】测试消息"),
        text=_("%(user)s 于 %(time)s 发送的测试消息：渠道「%(name)s」配置正确。")
        % {"user": user, "time": timezone.localtime().strftime("%Y-%m-%d %H:%M"), "name": channel.name},
        link=settings.SITE_URL + reverse("notifications:inbox"),
    )
    return senders.send_webhook(channel.kind, channel.webhook_url, channel.secret, message)


# Sending ---------------------------------------------------------------------------------------------------


def _claim(delivery_id: int, now: dt.datetime) -> Delivery | None:
    """Take a due delivery for this worker, or ``None`` if it is not due or another worker took it.

    The UPDATE only matches while the row is still due; it moves ``next_attempt_at`` a lease ahead, so
    a second worker's identical UPDATE matches nothing.
    """
    due = Q(
        pk=delivery_id, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED], next_attempt_at__lte=now
    )
    if not Delivery.objects.filter(due).update(next_attempt_at=now + CLAIM_LEASE, attempts=F("attempts") + 1):
        return None
    return Delivery.objects.select_related("channel").get(pk=delivery_id)


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])


def send_delivery(delivery_id: int, *, now: dt.datetime | None = None) -> str:
    """Send one delivery if it is due; returns its status afterwards ("" if it was not ours to send)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return ""
    message = senders.Message(
        title=delivery.title,
        text=delivery.text,
        link=settings.SITE_URL + delivery.url if delivery.url else "",
    )
    if delivery.channel_id is None:
        result = senders.send_email(delivery.address, message)
    elif not delivery.channel.is_active:
        result = senders.Result(False, _("渠道已停用"))
    else:
        channel = delivery.channel
        result = senders.send_webhook(channel.kind, channel.webhook_url, channel.secret, message)
    return _record(delivery, result, now)


@transaction.atomic
def _record(delivery: Delivery, result: senders.Result, now: dt.datetime) -> str:
    if result.ok:
        status, changes = DeliveryStatus.SENT, {"sent_at": timezone.now(), "last_error": ""}
    elif delivery.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
        status, changes = DeliveryStatus.DEAD, {"last_error": result.answer}
    else:
        status = DeliveryStatus.FAILED
        changes = {"last_error": result.answer, "next_attempt_at": now + backoff(delivery.attempts)}
    Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(status=status, **changes)
    if status == DeliveryStatus.DEAD:
        _tell_managers(delivery)
    return status


def _managers(delivery: Delivery) -> list[User]:
    """Who hears that a delivery was given up: a robot's managers, for an e-mail the system admins."""
    channel = delivery.channel
    if channel is None:
        return list(people_with_role(Role.SYSTEM_ADMIN))
    if channel.ledger_id is not None:
        return list(people_with_role(Role.SUPERVISOR, channel.ledger.owner_office))
    people = User.objects.filter(
        is_active=True,
        memberships__organisation_id=channel.organisation_id,
        memberships__role__in=[Role.SUPERVISOR, Role.LIAISON],
    )
    return list(people.distinct())


def _tell_managers(delivery: Delivery) -> None:
    where = delivery.target
    _notify(
        event=Event.DELIVERY_FAILED,
        recipients=_managers(delivery),
        title=_("消息投递失败：%(title)s") % {"title": delivery.title},
        body=_("发往「%(where)s」的消息在 %(attempts)s 次尝试后仍未送达。最近错误：%(error)s")
        % {"where": where, "attempts": delivery.attempts, "error": delivery.last_error or "—"},
        url=reverse("notifications:delivery_list") + "?status=dead",
        key=f"delivery-failed:{delivery.pk}",
        # A failed e-mail is not reported by e-mail, which would fail the same way.
        email=delivery.channel_id is not None,
    )


def due_delivery_ids(now: dt.datetime, limit: int = 500) -> list[int]:
    """Pending and failed deliveries whose time has come, oldest first."""
    due = Delivery.objects.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED], next_attempt_at__lte=now
    ).order_by("next_attempt_at")
    with transaction.atomic():
        # On PostgreSQL, rows another worker is claiming right now are skipped, not waited for.
        return list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])


def retry_due(*, now: dt.datetime | None = None) -> dict:
    """Send every due delivery once; an unreachable robot delays nothing but its own deliveries."""
    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0, "dead": 0, "skipped": 0}
    for pk in due_delivery_ids(now):
        status = send_delivery(pk, now=now)
        counts[status or "skipped"] += 1
    return counts


@transaction.atomic
def retry_now(*, delivery: Delivery) -> None:
    """A manager's 重试: a dead or failing delivery is due again, with a fresh set of attempts."""
    if delivery.status == DeliveryStatus.SENT:
        raise ValidationError(_("该消息已发送，无需重试。"))
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    transaction.on_commit(lambda: _enqueue([delivery.pk]))
