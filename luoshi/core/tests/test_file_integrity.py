"""SM3 integrity of stored files: checked when served, and all at once by ``luoshi verify_files``."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from luoshi.assessment.models import BookCopy, ManualEvidence
from luoshi.core import crypto
from luoshi.core.management.commands.verify_files import bad_files, stored_file_models
from luoshi.core.tests import files
from luoshi.core.tests.files import upload
from luoshi.core.uploads import FileIntegrityError, integrity_problem, stored_file_response
from luoshi.exchange.models import ExportJob, ExportKind, ImportBatch
from luoshi.ledgers import services
from luoshi.ledgers.models import Evidence, ItemAttachment, ItemStatus
from luoshi.supervision.models import FindingPhoto, OrderEvidence


@pytest.fixture
def attachment(world):
    item = world.advance(world.item, ItemStatus.IN_PROGRESS)
    return services.attach_to_item(item=item, user=world.supervisor, upload=upload("批复.pdf", files.PDF))


def _overwrite(stored, content: bytes) -> None:
    Path(stored.file.path).write_bytes(content)


def test_the_digest_is_stored_at_upload(attachment):
    assert attachment.sm3 == crypto.sm3(files.PDF)
    assert integrity_problem(attachment) is None


def test_an_intact_file_is_served(attachment):
    response = stored_file_response(attachment)
    assert b"".join(response.streaming_content) == files.PDF


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda a: _overwrite(a, files.PDF.replace(b"1.4", b"1.5")), "SM3 摘要不符"),
        (lambda a: Path(a.file.path).unlink(), "文件不存在"),
        (lambda a: setattr(a, "sm3", ""), "没有 SM3 摘要"),
    ],
)
def test_a_damaged_file_is_not_served(attachment, damage, reason):
    damage(attachment)
    assert reason in integrity_problem(attachment)
    with pytest.raises(FileIntegrityError, match=reason):
        stored_file_response(attachment)


def test_every_stored_file_model_is_checked():
    assert set(stored_file_models()) == {
        Evidence,
        ItemAttachment,
        ImportBatch,
        ExportJob,
        OrderEvidence,
        FindingPhoto,
        BookCopy,
        ManualEvidence,
    }


def test_a_file_not_yet_made_is_not_reported_but_a_blanked_one_is(world, attachment):
    # A background export still queued has no file and no digest yet: nothing to check.
    ExportJob.objects.create(
        kind=ExportKind.LEDGER,
        title="台账",
        original_name="台账.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        size=0,
        sha256="",
        uploaded_by=world.supervisor,
        expires_at=timezone.now(),
    )
    assert list(bad_files()) == []
    # A stored file whose name was blanked keeps its digest, so it is still reported.
    ItemAttachment.objects.filter(pk=attachment.pk).update(file="")
    assert [row[1] for row in bad_files()] == [attachment.pk]


def test_verify_files_passes_when_all_is_well(attachment, capsys):
    call_command("verify_files")
    assert "1 个文件全部通过" in capsys.readouterr().out


def test_verify_files_lists_the_bad_ones_and_fails(world, attachment, capsys):
    second = services.attach_to_item(
        item=attachment.item, user=world.supervisor, upload=upload("现场.png", files.PNG)
    )
    _overwrite(second, files.PNG + b"tampered")
    assert [row[:2] for row in bad_files()] == [("ledgers.ItemAttachment", second.pk)]
    with pytest.raises(CommandError, match="1 / 2"):
        call_command("verify_files")
    out = capsys.readouterr().out
    assert f"ledgers.ItemAttachment #{second.pk} 「现场.png」" in out and "SM3 摘要不符" in out
