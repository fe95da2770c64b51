"""Every write of the notifications module: ``notify`` (the one entry point other modules call), the inbox,
preferences, robots, and sending deliveries with retries.

Exactly once: a happening is named by its ``key``. Inbox rows are unique per (recipient, key), e-mails per
(key, address), robot posts per (key, channel); all are inserted ignoring conflicts, so calling ``notify``
again, or from two workers at once, adds nothing. A delivery is claimed by a conditional UPDATE before it
is sent, so two workers never send the same one.
"""

import dataclasses
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


@dataclasses.dataclass(frozen=True, eq=False)
class Message:
    """One happening to tell people of: what ``notify`` takes, and ``notify_many`` takes by the hundred."""

    event: str
    recipients: Iterable[User]
    title: str
    key: str
    body: str = ""
    url: str = ""
    organisations: Iterable[Organisation] = ()
    ledger: Ledger | None = None
    actor: User | None = None
    email: bool = True


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
    return notify_many(
        [
            Message(
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
        ]
    )


# Messages written with one set of queries: a morning's escalation tells thousands of units at once.
NOTIFY_CHUNK = 500


@transaction.atomic
def notify_many(messages: Iterable[Message]) -> int:
    """``notify`` for many messages at once, with a fixed number of queries per 500 of them; every message
    is checked before anything is written. Returns the number of new inbox messages."""
    messages = list(messages)
    for message in messages:
        Event(message.event)
        validate_site_path(message.url)
        if not message.key or len(message.key) > 200:
            raise ValidationError(_("通知缺少标识（key），或标识超过 200 个字符。"))
    created = 0
    for start in range(0, len(messages), NOTIFY_CHUNK):
        created += _notify_chunk(messages[start : start + NOTIFY_CHUNK])
    return created


def _notify_chunk(messages: list[Message]) -> int:
    people_of = {}
    for message in messages:
        people = {user.pk: user for user in message.recipients if user.is_active}
        if message.actor is not None:
            people.pop(message.actor.pk, None)
        people_of[message.key] = people_of.get(message.key, {}) | people
    keys = list(people_of)
    wanted = {(key, pk) for key, people in people_of.items() for pk in people}
    everyone = {user.pk: user for people in people_of.values() for user in people.values()}

    inbox = Notification.objects.filter(key__in=keys, recipient_id__in=list(everyone))
    before = set(inbox.values_list("key", "recipient_id")) & wanted
    now = timezone.now()
    first_of = {message.key: message for message in reversed(messages)}
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=pk,
                event=first_of[key].event,
                title=first_of[key].title[:200],
                body=first_of[key].body,
                url=first_of[key].url,
                key=key,
                created_at=now,
            )
            for key, pk in sorted(wanted - before)
        ],
        ignore_conflicts=True,
    )
    stored = {
        (key, pk): notification
        for key, pk, notification in inbox.values_list("key", "recipient_id", "pk")
        if (key, pk) in wanted
    }

    deliveries = []
    email_of = _email_choices(everyone, {message.event for message in messages if message.email})
    channels = _channels(messages)
    for message in messages:
        summary = {
            "key": message.key,
            "event": message.event,
            "title": message.title[:200],
            "text": message.body[:TEXT_LIMIT],
            "url": message.url,
        }
        if message.email:
            deliveries += [
                Delivery(
                    kind=DeliveryKind.EMAIL,
                    address=user.email,
                    notification_id=stored.get((message.key, user.pk)),
                    **summary,
                )
                for user in people_of[message.key].values()
                if user.email and email_of(user.pk, message.event)
            ]
        deliveries += [
            Delivery(kind=channel.kind, channel=channel, **summary) for channel in channels(message)
        ]
    if deliveries:
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        targets = {(d.key, d.channel_id, "" if d.channel_id else d.address) for d in deliveries}
        fresh = [
            pk
            for pk, key, channel_id, address in Delivery.objects.filter(
                key__in=keys, attempts=0, status=DeliveryStatus.PENDING
            ).values_list("pk", "key", "channel_id", "address")
            if (key, channel_id, "" if channel_id else address) in targets
        ]
        transaction.on_commit(lambda: _enqueue(fresh))
    return len(stored) - len(before)


def _email_choices(people: dict[int, User], events: set[str]):
    """(user pk, event) → whether that person gets that event by e-mail: their choice, or the default."""
    chosen = {
        (user_id, event): email
        for user_id, event, email in Preference.objects.filter(
            user_id__in=[pk for pk, user in people.items() if user.email], event__in=list(events)
        ).values_list("user_id", "event", "email")
    }
    return lambda pk, event: chosen.get((pk, event), event in EMAIL_BY_DEFAULT)


def _channels(messages: list[Message]):
    """Message → the active robots of its units or ledger that want its event, one query for all."""
    organisations = {org.pk for message in messages for org in message.organisations}
    ledgers = {message.ledger.pk for message in messages if message.ledger is not None}
    found = list(
        Channel.objects.filter(
            Q(organisation_id__in=organisations) | Q(ledger_id__in=ledgers), is_active=True
        )
    )

    def of(message: Message) -> list[Channel]:
        units = {org.pk for org in message.organisations}
        ledger = message.ledger.pk if message.ledger is not None else None
        return [
            channel
            for channel in found
            if (channel.organisation_id in units or (ledger is not None and channel.ledger_id == ledger))
            and channel.wants(message.event)
        ]

    return of


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
    notify_many(
        [
            Message(
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
        ]
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
