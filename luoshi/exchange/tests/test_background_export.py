"""Large exports built by the worker: queued past the threshold, rendered with the requester's scope at
render time, stored with their SM3, told by notification, downloaded by the requester alone, purged."""

import datetime as dt
import io
import os

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core.jobs import get_job, run_job_now, run_until_idle
from luoshi.exchange import selectors, services
from luoshi.exchange.models import ExportJob, ExportKind, ExportStatus
from luoshi.exchange.tasks import render_export
from luoshi.notifications.models import Event, Notification
from luoshi.orgs.models import Membership


@pytest.fixture(autouse=True)
def _low_threshold(settings):
    settings.EXCHANGE_BACKGROUND_EXPORT_ROWS = 2


@pytest.fixture
def supervisor(client, world):
    client.force_login(world.supervisor)
    return client


@pytest.fixture
def three_items(world):
    world.make_item(title="老旧小区改造")
    world.make_item(title="背街小巷整治")
    return world


def _ask(client, django_capture_on_commit_callbacks, name="exchange:ledger_export", *args, **query):
    """Request an export; the task is enqueued as the request commits."""
    with django_capture_on_commit_callbacks(execute=True):
        return client.get(reverse(name, args=args), query)


def _titles(job: ExportJob) -> list[str]:
    with job.file.open("rb") as stored:
        workbook = openpyxl.load_workbook(io.BytesIO(stored.read()))
    return [row[2] for row in workbook.active.iter_rows(min_row=3, values_only=True)]


def _queued(world, kind=ExportKind.LEDGER, **fields) -> ExportJob:
    fields.setdefault("ledger", world.ledger if kind == ExportKind.LEDGER else None)
    return services.queue_export(user=world.supervisor, kind=kind, title="2026年重点工作", rows=3, **fields)


def _done(world) -> ExportJob:
    job = _queued(world)
    services.render_export(job.pk)
    job.refresh_from_db()
    return job


# Queued past the threshold -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker closes a connection left in a transaction
def test_a_large_ledger_export_is_queued_and_built_by_the_worker(
    supervisor, three_items, django_capture_on_commit_callbacks
):
    world = three_items
    response = _ask(supervisor, django_capture_on_commit_callbacks, "exchange:ledger_export", world.ledger.pk)

    assert response.status_code == 302 and response["Location"] == reverse("exchange:export_list")
    job = ExportJob.objects.get()
    assert (job.status, job.kind, job.ledger, job.row_count) == ("queued", "ledger", world.ledger, 3)
    assert job.uploaded_by == world.supervisor and job.original_name.endswith(".xlsx")

    run_until_idle()

    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and job.finished_at is not None
    assert sorted(_titles(job)) == sorted(["老旧小区改造", "背街小巷整治", world.item.title])
    assert job.row_count == 3 and job.size == job.file.size and job.sm3 and job.sha256
    assert job.expires_at > job.finished_at + dt.timedelta(days=6)
    message = Notification.objects.get(recipient=world.supervisor, key=f"export:{job.pk}")
    assert message.event == Event.EXPORT_READY
    assert message.url == reverse("exchange:export_download", args=[job.pk])
    assert "2026年重点工作" in message.title


@pytest.mark.django_db(transaction=True)  # the worker closes a connection left in a transaction
def test_a_large_filtered_list_is_built_with_the_same_filters(
    supervisor, three_items, django_capture_on_commit_callbacks, settings
):
    settings.EXCHANGE_BACKGROUND_EXPORT_ROWS = 1
    world = three_items
    world.make_item(title="小区停车改造")
    response = _ask(supervisor, django_capture_on_commit_callbacks, "exchange:item_list_export", q="小区")

    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert (job.kind, job.query, job.row_count) == ("item_list", "q=%E5%B0%8F%E5%8C%BA", 2)
    run_until_idle()
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE
    assert sorted(_titles(job)) == sorted(["老旧小区改造", "小区停车改造"])


def test_below_the_threshold_the_export_streams_as_before(supervisor, world):
    response = supervisor.get(reverse("exchange:ledger_export", args=[world.ledger.pk]))
    assert response.status_code == 200 and response.streaming
    b"".join(response.streaming_content)
    assert not ExportJob.objects.exists()


def test_asking_again_while_it_is_built_gives_the_same_job(
    supervisor, three_items, django_capture_on_commit_callbacks
):
    for _ in range(2):
        _ask(supervisor, django_capture_on_commit_callbacks, "exchange:ledger_export", three_items.ledger.pk)
    assert ExportJob.objects.count() == 1


def test_a_task_delivered_twice_builds_the_workbook_once(world):
    job = _queued(world)
    assert render_export.call(job.pk) == ExportStatus.DONE
    assert render_export.call(job.pk) == ExportStatus.DONE
    assert Notification.objects.filter(key=f"export:{job.pk}").count() == 1


# Scope at render time ------------------------------------------------------------------------------


def test_a_requester_who_lost_the_ledger_gets_a_failure_and_no_file(world):
    job = _queued(world)
    Membership.objects.filter(user=world.supervisor).delete()

    services.render_export(job.pk)

    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and not job.file
    assert "无权查看" in job.error
    message = Notification.objects.get(recipient=world.supervisor, key=f"export:{job.pk}")
    assert message.event == Event.EXPORT_READY and "导出失败" in message.title
    assert message.url == reverse("exchange:export_list")


def test_a_list_is_rendered_with_what_the_requester_sees_now(three_items):
    world = three_items
    job = _queued(world, kind=ExportKind.ITEM_LIST, query="")
    Membership.objects.filter(user=world.supervisor).delete()

    services.render_export(job.pk)

    job.refresh_from_db()
    assert job.status == ExportStatus.DONE and job.row_count == 0 and _titles(job) == []


def test_an_unexpected_error_is_recorded_with_its_message(world, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "write_items_workbook", broken)
    job = _queued(world, kind=ExportKind.ITEM_LIST, query="q=x")

    assert services.render_export(job.pk) == ExportStatus.FAILED

    job.refresh_from_db()
    assert "RuntimeError: disk full" in job.error and job.finished_at is not None
    assert Notification.objects.filter(key=f"export:{job.pk}", event=Event.EXPORT_READY).exists()


# 我的导出 and the download -------------------------------------------------------------------------


def test_the_list_shows_the_users_own_jobs_and_polls_while_one_is_pending(supervisor, world):
    done = _done(world)
    _queued(world, kind=ExportKind.ITEM_LIST, query="q=a")
    services.queue_export(
        user=world.other_supervisor, kind=ExportKind.ITEM_LIST, title="别人的导出", rows=5, query=""
    )

    response = supervisor.get(reverse("exchange:export_list"))

    assert response.status_code == 200
    text = response.content.decode()
    assert text.count('data-testid="export-job"') == 2 and "别人的导出" not in text
    assert reverse("exchange:export_download", args=[done.pk]) in text
    assert 'data-hx-trigger="every 3s"' in text
    partial = supervisor.get(reverse("exchange:export_list"), headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and 'id="export-jobs"' in partial.content.decode()


def test_the_list_stops_polling_when_everything_is_done(supervisor, world):
    _done(world)
    response = supervisor.get(reverse("exchange:export_list"), headers={"HX-Request": "true"})
    assert "data-hx-trigger" not in response.content.decode()


def test_the_list_costs_the_same_queries_however_many_jobs(supervisor, world):
    _done(world)
    with CaptureQueriesContext(connection) as one:
        supervisor.get(reverse("exchange:export_list"))
    for index in range(5):
        _queued(world, kind=ExportKind.ITEM_LIST, query=f"q={index}")
    with CaptureQueriesContext(connection) as six:
        response = supervisor.get(reverse("exchange:export_list"))
    assert response.content.decode().count('data-testid="export-job"') == 6
    assert len(six) == len(one)


def test_the_requester_downloads_the_file_and_it_is_audited(supervisor, world):
    job = _done(world)

    response = supervisor.get(reverse("exchange:export_download", args=[job.pk]))

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("attachment")
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.active["A1"].value == "2026年重点工作"
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).latest("sequence")
    assert event.object_type == "ledgers.Ledger" and event.object_id == str(world.ledger.pk)
    assert event.user_id == world.supervisor.pk and event.success
    assert event.after == {"format": "xlsx", "rows": 1, "query": "", "export": job.pk}


@pytest.mark.parametrize("who", ["other_supervisor", "leader", "lead_liaison"])
def test_nobody_else_downloads_it(client, world, who):
    job = _done(world)
    client.force_login(getattr(world, who))
    assert client.get(reverse("exchange:export_download", args=[job.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_a_job_not_done_or_expired_is_not_downloadable(supervisor, world):
    queued = _queued(world)
    assert supervisor.get(reverse("exchange:export_download", args=[queued.pk])).status_code == 404
    done = _done(world)
    ExportJob.objects.filter(pk=done.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert supervisor.get(reverse("exchange:export_download", args=[done.pk])).status_code == 404


def test_a_file_that_fails_its_sm3_check_is_not_served(supervisor, world):
    job = _done(world)
    with open(job.file.path, "ab") as stored:
        stored.write(b"tampered")

    response = supervisor.get(reverse("exchange:export_download", args=[job.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("exchange:export_list")
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).latest("sequence")
    assert not event.success and event.after["export"] == job.pk


# Purge ---------------------------------------------------------------------------------------------


def test_expired_exports_are_purged_files_and_rows(world, django_capture_on_commit_callbacks):
    expired, kept = _done(world), _queued(world, kind=ExportKind.ITEM_LIST, query="q=kept")
    path = expired.file.path
    ExportJob.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        run = run_job_now("exchange.purge_exports")
    with django_capture_on_commit_callbacks(execute=True):
        again = services.purge_expired_exports()

    assert run.status == "done" and run.result == {"removed": 1}
    assert again == 0
    assert list(ExportJob.objects.all()) == [kept]
    assert not expired.file.storage.exists(expired.file.name)
    assert not os.path.exists(path)


def test_the_purge_runs_daily():
    assert str(get_job("exchange.purge_exports").schedule) == "daily 03:20"


def test_filtered_item_list_refuses_an_invalid_filter(world):
    items, ledger = selectors.filtered_item_list(world.supervisor, "ledger=999999")
    assert ledger is None and not items.exists()
    items, ledger = selectors.filtered_item_list(world.supervisor, f"ledger={world.ledger.pk}")
    assert ledger == world.ledger and list(items) == [world.item]
