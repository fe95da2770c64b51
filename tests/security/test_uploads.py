"""Spoofed uploads: refused with a Chinese message, or kept under a server-made name outside the web
root and served with the type their content was checked as, never one the browser guesses.

``luoshi/core/tests/test_uploads.py`` covers ``check_upload`` alone; here the files go the whole way,
through the upload view and back through the download view.
"""

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve, reverse

from luoshi.core.tests import files
from luoshi.core.uploads import MAX_ZIP_MEMBERS, clean_file_name, content_disposition
from luoshi.ledgers import services
from luoshi.ledgers.models import ItemAttachment

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
# A real PNG that is also an HTML page, for a browser that would sniff it.
PNG_HTML_POLYGLOT = files.PNG + b"<html><script>alert(document.cookie)</script></html>"
PDF_HTML_POLYGLOT = files.PDF + b"<html><body><script>alert(1)</script></body></html>"
GIF_HTML_POLYGLOT = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;<script>alert(1)</script>"


def _too_many_members() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        for number in range(MAX_ZIP_MEMBERS):
            archive.writestr(f"word/media/{number}.xml", "")
    return buffer.getvalue()


@pytest.fixture
def supervisor(client, world):
    client.force_login(world.supervisor)
    return client


def _upload(client, item, name, content, content_type="application/octet-stream"):
    url = reverse("ledgers:attachment_upload", args=[item.pk])
    return client.post(url, {"file": files.upload(name, content, content_type)}, follow=True)


def _stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("通知.pdf", files.EXE, "不是允许的类型"),
        ("通知.pdf", files.HTML, "不是允许的类型"),
        ("照片.png", SVG, "不是允许的类型"),
        ("照片.png", GIF_HTML_POLYGLOT, "不是允许的类型"),
        ("报告.docx", files.zip_bomb_bytes(), "解压后过大"),
        ("报告.docx", _too_many_members(), "解压后过大"),
        ("报告.docx", files.plain_zip_bytes(), "不是允许的类型"),
    ],
    ids=["exe-as-pdf", "html-as-pdf", "svg-as-png", "gif-html-polyglot", "zip-bomb", "zip-members", "zip"],
)
def test_spoofed_files_are_refused_in_chinese(supervisor, world, name, content, message):
    response = _upload(supervisor, world.item, name, content, "application/pdf")
    assert response.status_code == 200
    text = response.content.decode()
    assert message in text
    assert not ItemAttachment.objects.exists()
    assert not _stored_files()


def test_oversized_file_is_refused(supervisor, world, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    response = _upload(supervisor, world.item, "大文件.pdf", files.PDF + bytes(2048))
    assert "上限" in response.content.decode()
    assert not ItemAttachment.objects.exists()
    assert not _stored_files()


@pytest.mark.parametrize(
    ("content", "declared", "checked"),
    [
        (files.PDF, "text/html", "application/pdf"),
        (files.PNG, "application/pdf", "image/png"),
        (PNG_HTML_POLYGLOT, "text/html", "image/png"),
        (PDF_HTML_POLYGLOT, "text/html", "application/pdf"),
    ],
    ids=["pdf-declared-html", "png-declared-pdf", "png-html-polyglot", "pdf-html-polyglot"],
)
def test_type_is_the_checked_one_never_the_declared_one(supervisor, world, content, declared, checked):
    _upload(supervisor, world.item, "材料.pdf", content, declared)
    attachment = ItemAttachment.objects.get()
    assert attachment.content_type == checked
    response = supervisor.get(reverse("ledgers:attachment_download", args=[attachment.pk]))
    assert response["Content-Type"] == checked
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("inline;")
    if checked != "application/pdf":
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    b"".join(response.streaming_content)


@pytest.mark.parametrize("name", ["../../x.pdf", "..\\..\\x.pdf", "/etc/x.pdf", "./.x.pdf"])
def test_path_in_the_name_is_dropped_and_the_file_gets_a_server_made_name(supervisor, world, name):
    _upload(supervisor, world.item, name, files.PDF)
    attachment = ItemAttachment.objects.get()
    assert attachment.original_name == "x.pdf"
    (stored,) = _stored_files()
    media = Path(settings.MEDIA_ROOT).resolve()
    assert stored.resolve().is_relative_to(media)
    assert stored.name == attachment.sha256
    assert not media.is_relative_to(Path(settings.STATIC_ROOT).resolve())
    assert not any(media.is_relative_to(Path(d).resolve()) for d in settings.STATICFILES_DIRS)
    with pytest.raises(Resolver404):
        resolve(settings.MEDIA_URL + attachment.file.name)


def test_office_files_are_downloads_with_the_chinese_name(supervisor, world):
    _upload(supervisor, world.item, "工作方案（第2稿）.docx", files.docx_bytes())
    attachment = ItemAttachment.objects.get()
    response = supervisor.get(reverse("ledgers:attachment_download", args=[attachment.pk]))
    disposition = response["Content-Disposition"]
    assert disposition == (
        'attachment; filename="______2__.docx"; '
        "filename*=UTF-8''%E5%B7%A5%E4%BD%9C%E6%96%B9%E6%A1%88%EF%BC%88%E7%AC%AC2%E7%A8%BF%EF%BC%89.docx"
    )
    assert response["Content-Type"] == attachment.content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    b"".join(response.streaming_content)


def test_evidence_is_served_the_same_way(client, world):
    item = world.advance(world.item, "in_progress")
    report = services.save_report(
        item=item,
        user=world.lead_liaison,
        text="进展",
        percent_complete=10,
        files=[files.upload("..\\现场\u202egpj.exe", files.PNG, "text/html")],
    )
    evidence = report.evidence.get()
    assert evidence.original_name == "现场gpj.exe"  # the reversing character is gone: it reads as it is
    client.force_login(world.supervisor)
    response = client.get(reverse("ledgers:evidence_download", args=[evidence.pk]))
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("会议纪要.pdf", "会议纪要.pdf"),
        ("a/b/c.pdf", "c.pdf"),
        ("..", "未命名文件"),
        ("", "未命名文件"),
        ("名\x00称\r\n.pdf", "名称.pdf"),
        ("\u200b隐藏\u202e.pdf", "隐藏.pdf"),
        ("现场\u3000照片 .png", "现场 照片 .png"),
        ("很" * 300 + ".docx", "很" * 195 + ".docx"),
    ],
)
def test_clean_file_name(raw, clean):
    assert clean_file_name(raw) == clean


def test_content_disposition_quotes_nothing_it_should_not():
    header = content_disposition('a"b%.pdf', inline=False)
    assert header == "attachment; filename=\"a_b_.pdf\"; filename*=UTF-8''a%22b%25.pdf"
    assert content_disposition("plain.pdf", inline=True) == 'inline; filename="plain.pdf"'
    assert re.fullmatch(r"[\x20-\x7e]+", content_disposition("中文.pdf", inline=True))
