"""notify: exactly once per key, e-mail per preferences, one post per robot; robots' validation; selectors."""

import dataclasses

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from luoshi.notifications import selectors, services
from luoshi.notifications.models import Channel, ChannelKind, Delivery, DeliveryStatus, Event, Notification
from luoshi.notifications.tests.factories import make_channel
from luoshi.orgs.models import User


@pytest.fixture
def emails(world):
    for user in (world.lead_liaison, world.handler, world.supervisor):
        User.objects.filter(pk=user.pk).update(email=f"{user.username}@example.gov.cn")
        user.refresh_from_db()
    return world


def _urge(world, key="urge:1", **kwargs):
    kwargs.setdefault("recipients", [world.lead_liaison, world.handler])
    kwargs.setdefault("event", Event.URGED)
    return services.notify(
        title="请加快推进重大项目建设",
        body="进度滞后，请于本周内报送进展。",
        url="/ledgers/items/1/",
        key=key,
        **kwargs,
    )


def test_notify_is_exactly_once_per_key(emails, django_capture_on_commit_callbacks):
    w = emails
    channel = make_channel(user=w.supervisor, ledger=w.ledger)
    with django_capture_on_commit_callbacks() as callbacks:
        assert _urge(w, ledger=w.ledger) == 2
    assert len(callbacks) == 1

    assert _urge(w, ledger=w.ledger) == 0
    assert _urge(w, ledger=w.ledger, recipients=[w.lead_liaison, w.handler, w.co_liaison]) == 1

    assert Notification.objects.filter(key="urge:1").count() == 3
    # URGED is e-mailed by default; co_liaison has no address.
    assert sorted(Delivery.objects.filter(kind="email").values_list("address", flat=True)) == [
        "handler@example.gov.cn",
        "lead_liaison@example.gov.cn",
    ]
    assert list(Delivery.objects.filter(channel__isnull=False).values_list("channel", flat=True)) == [
        channel.pk
    ]
    assert (
        Delivery.objects.get(kind="email", address="handler@example.gov.cn").notification.recipient
        == w.handler
    )


def test_the_actor_is_not_told_of_their_own_action(world):
    assert _urge(world, recipients=[world.supervisor, world.lead_liaison], actor=world.supervisor) == 1
    assert not Notification.objects.filter(recipient=world.supervisor).exists()


def test_notify_refuses_a_link_to_another_site(world):
    for url in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)", "items/1/"):
        with pytest.raises(ValidationError, match="本站"):
            services.notify(event=Event.URGED, recipients=[world.handler], title="t", url=url, key=f"k{url}")
    assert not Notification.objects.exists()


def test_deliveries_are_sent_once_the_caller_commits(
    emails, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        _urge(emails)

    assert sorted(mail.to[0] for mail in mailoutbox) == [
        "handler@example.gov.cn",
        "lead_liaison@example.gov.cn",
    ]
    assert mailoutbox[0].subject == "请加快推进重大项目建设"
    assert settings.SITE_URL + "/ledgers/items/1/" in mailoutbox[0].body
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_email_follows_preferences(emails):
    w = emails
    assert services.email_preferences(w.handler)[Event.URGED] is True
    assert services.email_preferences(w.handler)[Event.REPORT_DUE] is False

    services.set_email_preferences(user=w.handler, email_events=[Event.REPORT_DUE])
    _urge(w, key="urge:2")
    services.notify(
        event=Event.REPORT_DUE, recipients=[w.handler, w.lead_liaison], title="请报送", key="due:1"
    )

    assert list(Delivery.objects.filter(key="urge:2").values_list("address", flat=True)) == [
        "lead_liaison@example.gov.cn"
    ]
    assert list(Delivery.objects.filter(key="due:1").values_list("address", flat=True)) == [
        "handler@example.gov.cn"
    ]
    # The inbox always gets it.
    assert Notification.objects.filter(recipient=w.handler).count() == 2


def test_unknown_preference_is_refused(world):
    with pytest.raises(ValidationError, match="未知的消息类型"):
        services.set_email_preferences(user=world.handler, email_events=["nonsense"])


def test_robots_of_the_units_and_ledger_each_get_one_post(world):
    w = world
    lead = make_channel(user=w.lead_liaison, organisation=w.lead_unit, kind=ChannelKind.WECOM)
    ledger = make_channel(user=w.supervisor, ledger=w.ledger, kind=ChannelKind.FEISHU)
    make_channel(user=w.co_liaison, organisation=w.co_unit, is_active=False)
    make_channel(user=w.lead_liaison, organisation=w.lead_unit, events=[Event.DIGEST], name="摘要群")
    make_channel(user=w.unrelated_liaison, organisation=w.unrelated_unit)

    _urge(w, organisations=[w.lead_unit, w.co_unit], ledger=w.ledger)
    _urge(w, organisations=[w.lead_unit, w.co_unit], ledger=w.ledger)

    posts = Delivery.objects.filter(channel__isnull=False)
    assert sorted(posts.values_list("channel", flat=True)) == sorted([lead.pk, ledger.pk])
    assert set(posts.values_list("kind", flat=True)) == {"wecom", "feishu"}
    assert posts.first().title == "请加快推进重大项目建设"


def _messages(world, count, *, start=0, **fields):
    return [
        services.Message(
            event=Event.URGED,
            recipients=[world.lead_liaison, world.handler],
            title=f"催办{n}",
            body="请加快推进。",
            url=f"/ledgers/items/{n}/",
            key=f"urge:{n}",
            organisations=[world.lead_unit],
            **fields,
        )
        for n in range(start, start + count)
    ]


def test_notify_many_tells_each_once_in_queries_that_do_not_grow(emails, django_capture_on_commit_callbacks):
    w = emails
    lead = make_channel(user=w.lead_liaison, organisation=w.lead_unit, kind=ChannelKind.WECOM)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.notify_many(_messages(w, 3)) == 6
    assert len(callbacks) == 1
    with CaptureQueriesContext(connection) as queries:
        assert services.notify_many(_messages(w, 200, start=3)) == 400
    # Reads and the savepoint: as many for 200 messages as for one. The inserts are batched by
    # bulk_create (by ~100 rows on SQLite, whose statements take 999 parameters; one on PostgreSQL).
    assert len([q for q in queries if not q["sql"].startswith("INSERT")]) == 7

    assert Notification.objects.filter(recipient=w.handler).count() == 203
    assert Notification.objects.get(recipient=w.handler, key="urge:7").title == "催办7"
    assert Delivery.objects.filter(kind="email").count() == 2 * 203
    assert Delivery.objects.filter(channel=lead).count() == 203
    # Again, or overlapping: nothing twice.
    assert services.notify_many(_messages(w, 10, start=200)) == 7 * 2
    assert Delivery.objects.filter(channel=lead).count() == 210


def test_notify_many_refuses_the_whole_batch_for_one_bad_message(world):
    messages = _messages(world, 3)
    messages.append(dataclasses.replace(messages[0], key="urge:9", url="https://example.com/"))
    with pytest.raises(ValidationError):
        services.notify_many(messages)
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("kind", "url", "secret", "field", "message"),
    [
        (
            ChannelKind.DINGTALK,
            "ftp://oapi.dingtalk.com/robot/send?access_token=x",
            "",
            "webhook_url",
            "http",
        ),
        (ChannelKind.DINGTALK, "oapi.dingtalk.com/robot/send", "", "webhook_url", "http"),
        (ChannelKind.DINGTALK, "https://oapi.dingtalk.com/robot/send", "", "webhook_url", "access_token"),
        (ChannelKind.WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "", "webhook_url", "key"),
        (ChannelKind.WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "s", "secret", "留空"),
        (ChannelKind.FEISHU, "https://open.feishu.cn/open-apis/bot/v2/hook/t", "", "secret", "签名校验"),
    ],
)
def test_channel_validation(world, kind, url, secret, field, message):
    with pytest.raises(ValidationError) as error:
        make_channel(user=world.supervisor, ledger=world.ledger, kind=kind, url=url, secret=secret)
    assert message in " ".join(error.value.message_dict[field])
    assert not Channel.objects.exists()


def test_channel_needs_exactly_one_scope(world):
    for scope in ({}, {"ledger": world.ledger, "organisation": world.office}):
        with pytest.raises(ValidationError, match="单位或台账"):
            make_channel(user=world.supervisor, **scope)
    with pytest.raises(IntegrityError), transaction.atomic():
        Channel.objects.create(kind="dingtalk", name="x", webhook_url="https://a/?access_token=1")


def test_channel_secret_and_url_are_encrypted_at_rest(world):
    channel = make_channel(user=world.supervisor, ledger=world.ledger)
    raw = Channel.objects.filter(pk=channel.pk).values_list("secret", "webhook_url").query
    with connection.cursor() as cursor:
        cursor.execute(*raw.sql_with_params())
        secret, url = cursor.fetchone()
    assert "SEC-robot-secret" not in secret and "good-token" not in url
    assert Channel.objects.get(pk=channel.pk).secret == "SEC-robot-secret"


def test_channels_are_scoped_to_their_managers(world):
    w = world
    ledger = make_channel(user=w.supervisor, ledger=w.ledger)
    lead = make_channel(user=w.lead_liaison, organisation=w.lead_unit)
    sub = make_channel(user=w.sub_liaison, organisation=w.sub_unit)

    def visible(user):
        return set(selectors.channel_list(user).values_list("pk", flat=True))

    assert visible(w.supervisor) == {ledger.pk}
    assert visible(w.lead_liaison) == {lead.pk, sub.pk}
    assert visible(w.sub_liaison) == {sub.pk}
    assert visible(w.other_supervisor) == visible(w.handler) == visible(w.leader) == set()
    assert visible(w.system_admin) == set()
    assert selectors.ledger_choices(w.supervisor).get() == w.ledger
    assert set(selectors.organisation_choices(w.lead_liaison)) == {w.lead_unit, w.sub_unit}


def test_inbox_lists_own_messages_unread_first_and_counts_unread(world):
    w = world
    _urge(w, key="a")
    _urge(w, key="b")
    first = Notification.objects.get(recipient=w.handler, key="b")
    services.mark_read(user=w.handler, notification=first)

    rows = list(selectors.inbox(w.handler))
    assert [row.key for row in rows] == ["a", "b"]
    assert selectors.unread_count(w.handler) == 1
    assert selectors.unread_count(w.supervisor) == 0

    services.mark_read(user=w.lead_liaison, notification=first)  # not theirs: nothing happens
    assert services.mark_all_read(user=w.handler) == 1
    assert selectors.unread_count(w.handler) == 0
    assert selectors.unread_count(w.lead_liaison) == 2
