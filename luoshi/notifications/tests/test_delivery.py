"""Sending deliveries: failures recorded and retried with back-off, dead letters, never twice."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from luoshi.core.jobs import Every, registered
from luoshi.notifications import services
from luoshi.notifications.jobs import retry_deliveries
from luoshi.notifications.models import ChannelKind, Delivery, DeliveryStatus, Event, Notification
from luoshi.notifications.tests.factories import make_channel


def _notify(world, key="overdue:1", **scope):
    services.notify(
        event=Event.OVERDUE,
        recipients=[world.lead_liaison],
        title=f"事项超期 {key}",
        body="推进重大项目建设已超期",
        url="/ledgers/items/1/",
        key=key,
        **scope,
    )


def test_a_good_robot_is_sent_once(world, robot):
    channel = make_channel(user=world.supervisor, ledger=world.ledger, url=robot.url("dingtalk"))
    _notify(world, ledger=world.ledger)
    delivery = Delivery.objects.get(channel=channel)

    assert services.send_delivery(delivery.pk) == DeliveryStatus.SENT
    assert services.send_delivery(delivery.pk) == ""  # no longer due
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.sent_at and not delivery.last_error
    assert robot.titles["事项超期 overdue:1"] == 1
    assert robot.requests[0]["body"]["markdown"]["text"].endswith("(http://127.0.0.1:8000/ledgers/items/1/)")


def test_wrong_secret_is_retried_with_back_off_then_dead_lettered_once(world, robot, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 6
    channel = make_channel(
        user=world.supervisor,
        ledger=world.ledger,
        url=robot.url("feishu"),
        kind=ChannelKind.FEISHU,
        secret="wrong",
    )
    _notify(world, ledger=world.ledger)
    delivery = Delivery.objects.get(channel=channel)
    now = timezone.now()

    waits = []
    for _ in range(5):
        assert services.retry_due(now=now)["failed"] == 1
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED and "19021" in delivery.last_error
        waits.append(delivery.next_attempt_at - now)
        assert services.retry_due(now=now)["sent"] + services.retry_due(now=now)["failed"] == 0  # not due yet
        now = delivery.next_attempt_at
    assert waits == [dt.timedelta(minutes=m) for m in (1, 5, 30, 120, 360)]

    assert services.retry_due(now=now) == {"sent": 0, "failed": 0, "dead": 1, "skipped": 0}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 6
    [notice] = Notification.objects.filter(event=Event.DELIVERY_FAILED)
    assert notice.recipient == world.supervisor and "19021" in notice.body
    assert notice.url == "/notifications/deliveries/?status=dead"

    # Dead rows are not retried; a manager's retry that dies again is not reported a second time.
    assert services.retry_due(now=now + dt.timedelta(days=1))["dead"] == 0
    services.retry_now(delivery=delivery)
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 1
    assert services.send_delivery(delivery.pk) == DeliveryStatus.DEAD
    assert Notification.objects.filter(event=Event.DELIVERY_FAILED).count() == 1


def test_unreachable_robot_does_not_hold_up_the_others(world, robot, closed_port, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    dead_end = make_channel(user=world.lead_liaison, organisation=world.lead_unit, url=closed_port)
    good = make_channel(user=world.supervisor, ledger=world.ledger, url=robot.url("dingtalk"))
    _notify(world, organisations=[world.lead_unit], ledger=world.ledger)
    _notify(world, key="overdue:2", organisations=[world.lead_unit], ledger=world.ledger)
    now = timezone.now()

    assert retry_deliveries(now=now) == {"sent": 2, "failed": 2, "dead": 0, "skipped": 0}
    assert retry_deliveries(now=now + dt.timedelta(minutes=1)) == {
        "sent": 0,
        "failed": 0,
        "dead": 2,
        "skipped": 0,
    }

    assert set(Delivery.objects.filter(channel=good).values_list("status", flat=True)) == {
        DeliveryStatus.SENT
    }
    failed = Delivery.objects.filter(channel=dead_end)
    assert set(failed.values_list("status", flat=True)) == {DeliveryStatus.DEAD}
    assert all("ConnectError" in error for error in failed.values_list("last_error", flat=True))
    # One notice per dead delivery, to the unit's liaison who keeps its robot.
    notices = Notification.objects.filter(event=Event.DELIVERY_FAILED)
    assert set(notices.values_list("recipient", flat=True)) == {world.lead_liaison.pk}
    assert notices.count() == 2


def test_failed_email_is_reported_to_the_system_admin_inbox_only(world, settings):
    from luoshi.orgs.models import User

    settings.NOTIFICATIONS_MAX_ATTEMPTS = 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    User.objects.filter(pk__in=[world.handler.pk, world.system_admin.pk]).update(email="x@example.gov.cn")
    services.notify(
        event=Event.URGED, recipients=[User.objects.get(pk=world.handler.pk)], title="催办", key="u"
    )

    assert services.retry_due() == {"sent": 0, "failed": 0, "dead": 1, "skipped": 0}
    [notice] = Notification.objects.filter(event=Event.DELIVERY_FAILED)
    assert notice.recipient == world.system_admin
    assert not Delivery.objects.filter(key=notice.key).exists()


def test_a_delivery_is_claimed_by_one_worker_only(world, robot):
    """Two runs that listed the same due rows (the race): each row is sent by whichever claims it first."""
    make_channel(user=world.supervisor, ledger=world.ledger, url=robot.url("dingtalk"))
    for n in range(5):
        _notify(world, key=f"k{n}", ledger=world.ledger)
    now = timezone.now()
    first, second = services.due_delivery_ids(now), services.due_delivery_ids(now)
    assert first == second and len(first) == 5

    statuses = [
        services.send_delivery(pk, now=now) for pair in zip(first, second, strict=True) for pk in pair
    ]
    assert statuses.count(DeliveryStatus.SENT) == 5 and statuses.count("") == 5
    assert sorted(robot.titles.values()) == [1] * 5


def _serialise_writes_on_sqlite(monkeypatch):
    """SQLite takes one writer at a time (production waits on its busy timeout; the in-memory test database
    fails at once instead), so there the database steps take turns while the robot posts overlap."""
    if connection.vendor != "sqlite":
        return
    lock = threading.RLock()
    for name in ("_claim", "_record", "due_delivery_ids"):
        original = getattr(services, name)

        def serialised(*args, _original=original, **kwargs):
            with lock:
                return _original(*args, **kwargs)

        monkeypatch.setattr(services, name, serialised)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_delivery_once(world, robot, monkeypatch):
    _serialise_writes_on_sqlite(monkeypatch)
    make_channel(user=world.supervisor, ledger=world.ledger, url=robot.url("dingtalk"))
    for n in range(20):
        _notify(world, key=f"k{n}", ledger=world.ledger)
    results = []

    def run():
        try:
            results.append(services.retry_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(result["sent"] for result in results) == 20
    assert sorted(robot.titles.values()) == [1] * 20
    assert not Delivery.objects.exclude(status=DeliveryStatus.SENT).exists()


def test_retry_job_runs_every_minute():
    job = registered()["notifications.retry_deliveries"]
    assert job.schedule == Every(minutes=1) and job.func is retry_deliveries
