"""Item attachments (附件): who may add and remove them, what is refused, and that a refusal writes nothing."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core.tests import files
from luoshi.core.tests.files import upload
from luoshi.ledgers import services
from luoshi.ledgers.models import EventKind, ItemAttachment, ItemEvent, ItemStatus

HTMX = {"HX-Request": "true"}


def _stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def _messages(error) -> str:
    return " ".join(error.value.messages)


def _attach(item, user, name="会议纪要.pdf", content=files.PDF, **kwargs):
    return services.attach_to_item(item=item, user=user, upload=upload(name, content), **kwargs)


@pytest.fixture
def running(world):
    """The world's item, in progress: every unit on it can see it."""
    return world.advance(world.item, ItemStatus.IN_PROGRESS)


# Services: adding -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "lead_liaison"])
def test_supervisor_and_lead_liaison_attach(world, running, role):
    user = getattr(world, role)
    attachment = _attach(
        running, user, "任务分解表.docx", files.docx_bytes(), description="  区委常委会  决定 "
    )

    assert attachment.item == running and attachment.uploaded_by == user
    assert attachment.original_name == "任务分解表.docx"
    assert attachment.content_type.endswith("wordprocessingml.document")
    assert attachment.description == "区委常委会 决定"
    assert attachment.size == len(files.docx_bytes())
    # A server-made name: the upload's name is data, never a path.
    assert attachment.file.name.startswith(f"attachments/{attachment.sha256[:2]}/{attachment.sha256}")
    with attachment.file.open("rb") as stored:
        assert stored.read() == files.docx_bytes()
    event = ItemEvent.objects.get(item=running, kind=EventKind.ATTACHMENT_ADDED)
    assert (event.actor, event.comment, event.data) == (
        user,
        "任务分解表.docx",
        {"attachment": attachment.pk},
    )
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_type="ledgers.ItemAttachment", object_id=str(attachment.pk)
    ).exists()


def test_supervisor_may_attach_to_a_draft(world):
    assert _attach(world.item, world.supervisor).item == world.item


@pytest.mark.parametrize(
    "role", ["handler", "co_liaison", "sub_liaison", "leader", "unrelated_liaison", "other_supervisor"]
)
def test_other_roles_are_refused_and_nothing_is_written(world, running, role):
    events = ItemEvent.objects.count()
    with pytest.raises(ValidationError) as error:
        _attach(running, getattr(world, role))
    assert "督办员或牵头单位联络员" in _messages(error)
    assert not ItemAttachment.objects.exists()
    assert ItemEvent.objects.count() == events
    assert _stored_files() == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("病毒.pdf", files.EXE, "不是允许的类型"),
        ("页面.pdf", files.HTML, "不是允许的类型"),
        ("压缩包.docx", files.plain_zip_bytes(), "不是允许的类型"),
        ("炸弹.docx", files.zip_bomb_bytes(), "解压后过大"),
        ("空.pdf", b"", "空文件"),
    ],
)
def test_bad_file_is_refused_by_content_and_nothing_written(world, running, name, content, message):
    events = ItemEvent.objects.count()
    with pytest.raises(ValidationError) as error:
        _attach(running, world.lead_liaison, name, content)
    assert message in _messages(error) and name in _messages(error)
    assert not ItemAttachment.objects.exists()
    assert ItemEvent.objects.count() == events
    assert _stored_files() == []


def test_oversize_file_is_refused(world, running, settings):
    settings.EVIDENCE_MAX_BYTES = 20
    with pytest.raises(ValidationError) as error:
        _attach(running, world.supervisor)
    assert "超过" in _messages(error)
    assert not ItemAttachment.objects.exists()
    assert _stored_files() == []


def test_same_content_twice_is_refused(world, running):
    _attach(running, world.supervisor, "纪要.pdf")
    with pytest.raises(ValidationError) as error:
        _attach(running, world.lead_liaison, "纪要（副本）.pdf")
    assert "与已有附件「纪要.pdf」内容相同" in _messages(error)
    assert ItemAttachment.objects.count() == 1
    assert len(_stored_files()) == 1
    # The same document on another item is a separate attachment with a file of its own.
    other = world.make_item(title="另一事项")
    second = _attach(other, world.supervisor, "纪要.pdf")
    assert len(_stored_files()) == 2
    assert second.file.name != ItemAttachment.objects.get(item=running).file.name


def test_too_long_description_is_refused(world, running):
    with pytest.raises(ValidationError) as error:
        _attach(running, world.supervisor, description="说" * 201)
    assert "不能超过 200 个字" in _messages(error)
    assert _stored_files() == []


def test_a_failed_row_write_removes_the_stored_file(world, running, monkeypatch):
    """The file is written before its row; if the row or its timeline entry fails, the file goes too."""

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_record", broken)
    with pytest.raises(RuntimeError):
        _attach(running, world.supervisor)
    assert not ItemAttachment.objects.exists()
    assert _stored_files() == []


def test_closed_item_attachments_are_frozen(world):
    closed = world.advance(world.item, ItemStatus.CLOSED)
    with pytest.raises(ValidationError) as error:
        _attach(closed, world.supervisor)
    assert "已销号" in _messages(error)


# Services: removing -----------------------------------------------------------------------------


def test_uploader_removes_own_attachment_and_the_file_goes_after_commit(
    world, running, django_capture_on_commit_callbacks
):
    attachment = _attach(running, world.lead_liaison)
    path = Path(attachment.file.path)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.remove_attachment(attachment=attachment, user=world.lead_liaison)
    assert not ItemAttachment.objects.exists()
    assert path.exists()  # not yet: a rolled-back removal must still find its file
    for callback in callbacks:
        callback()
    assert not path.exists()
    event = ItemEvent.objects.get(item=running, kind=EventKind.ATTACHMENT_REMOVED)
    assert (event.actor, event.comment) == (world.lead_liaison, "会议纪要.pdf")
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, object_type="ledgers.ItemAttachment").exists()


def test_supervisor_removes_anyones_attachment(world, running, django_capture_on_commit_callbacks):
    attachment = _attach(running, world.lead_liaison)
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_attachment(attachment=attachment, user=world.supervisor)
    assert not ItemAttachment.objects.exists()
    assert _stored_files() == []


@pytest.mark.parametrize("role", ["handler", "co_liaison", "leader", "other_supervisor"])
def test_others_may_not_remove(world, running, role):
    attachment = _attach(running, world.lead_liaison)
    with pytest.raises(ValidationError) as error:
        services.remove_attachment(attachment=attachment, user=getattr(world, role))
    assert "上传人或本台账的督办员" in _messages(error)
    assert ItemAttachment.objects.filter(pk=attachment.pk).exists()
    assert not ItemEvent.objects.filter(kind=EventKind.ATTACHMENT_REMOVED).exists()


def test_liaison_may_not_remove_the_supervisors_attachment(world, running):
    attachment = _attach(running, world.supervisor)
    with pytest.raises(ValidationError):
        services.remove_attachment(attachment=attachment, user=world.lead_liaison)
    assert ItemAttachment.objects.filter(pk=attachment.pk).exists()


def test_attachments_of_a_closed_item_cannot_be_removed(world):
    item = world.advance(world.item, ItemStatus.COMPLETED)
    attachment = _attach(item, world.supervisor)
    services.transition_item(item=item, action="close", user=world.supervisor)
    attachment.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        services.remove_attachment(attachment=attachment, user=world.supervisor)
    assert "已销号" in _messages(error)


def test_a_bad_second_evidence_file_leaves_nothing_on_disk(world, running):
    """Report evidence shares the rule: every file is checked before any is stored."""
    with pytest.raises(ValidationError):
        services.save_report(
            item=running,
            user=world.lead_liaison,
            text="进展",
            percent_complete=10,
            files=[upload("好.pdf", files.PDF), upload("病毒.pdf", files.EXE)],
        )
    assert _stored_files() == []


# Views ------------------------------------------------------------------------------------------


def _upload_url(item):
    return reverse("ledgers:attachment_upload", args=[item.pk])


def test_item_detail_shows_the_card_to_each_role(client, world, running):
    attachment = _attach(running, world.lead_liaison, "现场照片.png", files.PNG, description="选址现场")
    download = reverse("ledgers:attachment_download", args=[attachment.pk])
    delete = reverse("ledgers:attachment_delete", args=[attachment.pk])
    url = reverse("ledgers:item_detail", args=[running.pk])

    client.force_login(world.lead_liaison)
    page = client.get(url).content.decode()
    assert 'data-testid="attachments"' in page
    assert "现场照片.png" in page and "选址现场" in page and world.lead_liaison.full_name in page
    assert f'<img src="{download}"' in page  # an image gets its preview
    assert _upload_url(running) in page and delete in page

    client.force_login(world.handler)
    page = client.get(url).content.decode()
    assert "现场照片.png" in page and download in page
    assert _upload_url(running) not in page and delete not in page

    client.force_login(world.supervisor)
    page = client.get(url).content.decode()
    assert _upload_url(running) in page and delete in page


def test_upload_through_the_page(client, world, running):
    client.force_login(world.supervisor)
    response = client.post(
        _upload_url(running), {"file": upload("批复.pdf", files.PDF), "description": "立项批复"}
    )
    assert response.status_code == 302 and response["Location"] == running.get_absolute_url()
    attachment = ItemAttachment.objects.get()
    assert (attachment.original_name, attachment.description) == ("批复.pdf", "立项批复")


def test_upload_through_htmx_returns_the_panels(client, world, running):
    client.force_login(world.lead_liaison)
    response = client.post(
        _upload_url(running), {"file": upload("任务书.xlsx", files.xlsx_bytes())}, headers=HTMX
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="panels"')
    assert "任务书.xlsx" in page and "已上传" in page


def test_bad_upload_through_the_page_is_told_and_writes_nothing(client, world, running):
    client.force_login(world.supervisor)
    response = client.post(_upload_url(running), {"file": upload("病毒.pdf", files.EXE)}, headers=HTMX)
    assert response.status_code == 200
    assert "不是允许的类型" in response.content.decode()
    assert not ItemAttachment.objects.exists() and _stored_files() == []

    response = client.post(_upload_url(running), {"description": "没有文件"}, headers=HTMX)
    assert "请选择要上传的文件" in response.content.decode()


def test_refused_upload_through_the_page(client, world, running):
    client.force_login(world.handler)
    response = client.post(_upload_url(running), {"file": upload("纪要.pdf", files.PDF)}, follow=True)
    assert "只有本台账的督办员或牵头单位联络员可以上传附件" in response.content.decode()
    assert not ItemAttachment.objects.exists() and _stored_files() == []


@pytest.mark.parametrize(
    ("name", "content", "disposition"),
    [
        ("批复.pdf", files.PDF, "inline"),
        ("现场照片.png", files.PNG, "inline"),
        ("任务分解表.docx", files.docx_bytes(), "attachment"),
    ],
)
def test_download_is_checked_typed_and_audited(client, world, running, name, content, disposition):
    attachment = _attach(running, world.supervisor, name, content)
    client.force_login(world.co_liaison)
    response = client.get(reverse("ledgers:attachment_download", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == attachment.content_type
    assert response["Content-Disposition"].startswith(disposition)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(
        action=AuditAction.DOWNLOAD, object_id=str(attachment.pk), user_id=world.co_liaison.pk
    ).exists()


def test_outside_the_scope_everything_is_404(client, world, running):
    attachment = _attach(running, world.supervisor)
    draft = world.make_item(title="草稿事项")
    client.force_login(world.unrelated_liaison)
    assert client.get(reverse("ledgers:attachment_download", args=[attachment.pk])).status_code == 404
    assert client.post(reverse("ledgers:attachment_delete", args=[attachment.pk])).status_code == 404
    assert client.post(_upload_url(running), {"file": upload("x.pdf", files.PDF)}).status_code == 404
    # A draft is the office's own: the lead unit cannot add to it, nor learn it exists.
    client.force_login(world.lead_liaison)
    assert client.post(_upload_url(draft), {"file": upload("y.pdf", files.PDF)}).status_code == 404
    assert ItemAttachment.objects.count() == 1
    assert not AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).exists()


def test_anonymous_is_sent_to_sign_in(client, world, running):
    attachment = _attach(running, world.supervisor)
    response = client.get(reverse("ledgers:attachment_download", args=[attachment.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_delete_through_the_page(client, world, running, django_capture_on_commit_callbacks):
    attachment = _attach(running, world.lead_liaison)
    client.force_login(world.lead_liaison)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ledgers:attachment_delete", args=[attachment.pk]), headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "已删除" in page and "尚无附件" in page
    assert not ItemAttachment.objects.exists() and _stored_files() == []


def test_delete_refused_through_the_page(client, world, running):
    attachment = _attach(running, world.supervisor)
    client.force_login(world.lead_liaison)
    response = client.post(reverse("ledgers:attachment_delete", args=[attachment.pk]), follow=True)
    assert "只有上传人或本台账的督办员可以删除附件" in response.content.decode()
    assert ItemAttachment.objects.filter(pk=attachment.pk).exists()
    assert client.get(reverse("ledgers:attachment_delete", args=[attachment.pk])).status_code == 405
