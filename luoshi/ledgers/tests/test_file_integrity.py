"""Evidence and attachments carry their SM3 digest; a file that fails it is refused, and the refusal audited."""

import importlib
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.messages import get_messages
from django.urls import reverse

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core import crypto
from luoshi.core.tests import files
from luoshi.core.tests.files import upload
from luoshi.ledgers import services
from luoshi.ledgers.models import Evidence, ItemAttachment, ItemStatus

migration = importlib.import_module("luoshi.ledgers.migrations.0005_stored_file_sm3")


@pytest.fixture
def running(world):
    return world.advance(world.item, ItemStatus.IN_PROGRESS)


@pytest.fixture
def evidence(world, running):
    report = services.save_report(
        item=running,
        user=world.lead_liaison,
        text="进展",
        percent_complete=10,
        files=[upload("照片.png", files.PNG)],
    )
    return report.evidence.get()


@pytest.fixture
def attachment(world, running):
    return services.attach_to_item(item=running, user=world.supervisor, upload=upload("批复.pdf", files.PDF))


def test_both_kinds_of_file_get_their_digest_at_upload(evidence, attachment):
    assert evidence.sm3 == crypto.sm3(files.PNG)
    assert attachment.sm3 == crypto.sm3(files.PDF)


@pytest.mark.parametrize(
    ("kind", "url"), [("evidence", "evidence_download"), ("attachment", "attachment_download")]
)
def test_a_tampered_file_is_refused_with_a_reason_and_a_failed_download(client, world, request, kind, url):
    stored = request.getfixturevalue(kind)
    Path(stored.file.path).write_bytes(b"%PDF-1.4 something else")
    client.force_login(world.supervisor)

    response = client.get(reverse(f"ledgers:{url}", args=[stored.pk]))

    assert response.status_code == 302 and response["Location"] == world.item.get_absolute_url()
    message = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "未通过完整性校验" in message and "SM3 摘要不符" in message
    event = AuditEvent.objects.get(action=AuditAction.DOWNLOAD, object_id=str(stored.pk))
    assert event.success is False and event.user_id == world.supervisor.pk
    assert "SM3" in event.after["reason"]


def test_an_intact_file_is_served_and_audited_as_before(client, world, evidence):
    client.force_login(world.supervisor)
    response = client.get(reverse("ledgers:evidence_download", args=[evidence.pk]))
    assert b"".join(response.streaming_content) == files.PNG
    assert AuditEvent.objects.get(action=AuditAction.DOWNLOAD, object_id=str(evidence.pk)).success


def test_the_migration_fills_the_digest_of_files_already_stored(evidence, attachment):
    Evidence.objects.update(sm3="")
    ItemAttachment.objects.update(sm3="")
    Path(attachment.file.path).unlink()  # a file lost before the upgrade keeps no digest

    migration.fill_sm3(apps, None)

    assert Evidence.objects.get().sm3 == crypto.sm3(files.PNG)
    assert ItemAttachment.objects.get().sm3 == ""
