"""Checking uploaded files by their content, not their name; storing and serving them once checked."""

import hashlib
import unicodedata
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

import puremagic
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from luoshi.core import crypto

# What evidence may be: detected type → the zip member that proves an Office file is what it says.
ALLOWED_TYPES = {
    "application/pdf": None,
    "image/jpeg": None,
    "image/png": None,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "word/document.xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xl/workbook.xml",
}
# Shown in the browser (previews of photos, scans); every other type is only ever downloaded.
INLINE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
ALLOWED_LABEL = "PDF、JPG、PNG、Word（.docx）、Excel（.xlsx）"
# Office files are zips: refuse archives that would expand beyond this (zip bombs).
MAX_EXPANDED_BYTES = 200 * 1024 * 1024
MAX_ZIP_MEMBERS = 5000


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    size: int
    sha256: str
    sm3: str


class FileIntegrityError(Exception):
    """A stored file is missing, or its content no longer has the SM3 digest taken at upload."""


def _detect(head: bytes) -> str | None:
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        return None
    for match in matches:
        if match.mime_type in ALLOWED_TYPES:
            return match.mime_type
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    return None


def _check_office(upload, content_type: str, name: str) -> str:
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_EXPANDED_BYTES:
                raise ValidationError(_("文件「%(name)s」解压后过大，已拒绝。") % {"name": name})
            names = {member.filename for member in members}
    except zipfile.BadZipFile as error:
        raise ValidationError(_("文件「%(name)s」已损坏，无法读取。") % {"name": name}) from error
    # The head bytes of an Office zip cannot tell Word from Excel (puremagic lists every OOXML type
    # for any of them), so the member that proves the format decides.
    for office_type, marker in ALLOWED_TYPES.items():
        if marker and marker in names:
            return office_type
    raise ValidationError(
        _("文件「%(name)s」不是允许的类型。允许上传：%(allowed)s。")
        % {"name": name, "allowed": ALLOWED_LABEL}
    )


# Kept as the file's name: enough for any real one, and the extension survives the cut.
MAX_NAME_LENGTH = 200


def _visible(char: str) -> str:
    kind = unicodedata.category(char)
    if kind == "Zs":  # any space, the ideographic one too
        return " "
    return "" if kind[0] in "CZ" else char  # control, format (bidi, zero-width), line breaks


def clean_file_name(name: str) -> str:
    """The uploaded name made safe to keep, show and send back in a header.

    No directories (``../../x.pdf`` → ``x.pdf``, either slash), no control or invisible characters
    (a right-to-left override can make ``exe.pdf`` read as ``fdp.exe``), no leading dots, at most
    ``MAX_NAME_LENGTH`` characters with the extension kept.
    """
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(map(_visible, name))
    name = " ".join(name.split()).lstrip(". ")
    if not name:
        return _("未命名文件")
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_NAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def check_upload(upload, *, max_bytes: int) -> CheckedUpload:
    """Validate an uploaded file by size and content; raise a Chinese ``ValidationError`` otherwise.

    ``upload.name`` is replaced by its ``clean_file_name``: the name the caller keeps is safe.
    """
    upload.name = name = clean_file_name(upload.name)
    if upload.size > max_bytes:
        raise ValidationError(
            _("文件「%(name)s」大小为 %(size)s，超过 %(limit)s 的上限。")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(max_bytes)}
        )
    if upload.size == 0:
        raise ValidationError(_("文件「%(name)s」是空文件。") % {"name": name})
    upload.seek(0)
    content_type = _detect(upload.read(8192))
    if content_type is None:
        raise ValidationError(
            _("文件「%(name)s」不是允许的类型。允许上传：%(allowed)s。")
            % {"name": name, "allowed": ALLOWED_LABEL}
        )
    if content_type == "application/zip" or ALLOWED_TYPES.get(content_type):
        content_type = _check_office(upload, content_type, name)
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(
        content_type=content_type, size=upload.size, sha256=digest.hexdigest(), sm3=crypto.sm3_file(upload)
    )


@contextmanager
def storing(record, upload):
    """Write ``upload`` to ``record.file`` (named by ``record.sha256``); remove it if the block fails.

    The block writes the row and whatever goes with it. Should any of that fail, the file just
    written is deleted, so a refused or failed attachment leaves nothing on disk. The storage never
    overwrites: a second upload of the same content gets a name of its own, so the delete cannot
    touch another record's file.
    """
    record.file.save(record.sha256, upload, save=False)
    try:
        yield record
    except BaseException:
        record.file.storage.delete(record.file.name)
        raise


def integrity_problem(stored) -> str | None:
    """Why ``stored`` fails its SM3 check (missing file, no digest, other content), or ``None``."""
    if not stored.sm3:
        return _("没有 SM3 摘要")
    try:
        with stored.file.open("rb") as handle:
            digest = crypto.sm3_file(handle)
    except (FileNotFoundError, ValueError):
        return _("文件不存在")
    if digest != stored.sm3:
        return _("SM3 摘要不符，文件内容已被改动")
    return None


def stored_file_response(stored) -> FileResponse:
    """Serve a ``StoredFile``: with the type its content was checked as, never one the browser guesses.

    Images and PDF open in the browser (previews); anything else is a download. The caller has
    already checked that the user may see it, and records the download. A file that fails its SM3
    check is not served: ``FileIntegrityError``, which the caller records as a failed download.
    """
    problem = integrity_problem(stored)
    if problem is not None:
        raise FileIntegrityError(problem)
    inline = stored.content_type in INLINE_TYPES
    response = FileResponse(stored.file.open("rb"), content_type=stored.content_type)
    response["Content-Disposition"] = content_disposition(stored.original_name, inline=inline)
    response["X-Content-Type-Options"] = "nosniff"
    # Evidence may hold personal data: no shared cache or browser cache keeps a copy.
    response["Cache-Control"] = "private, no-store"
    if stored.content_type == "application/pdf":
        # The browser's PDF viewer is a plugin that the pages' object-src 'none' would block; PDF
        # scripts run inside the viewer, never with our origin.
        response._csp_exempt = True
    else:
        # Opened on its own, an image or a download is a document with no rights at all.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def content_disposition(name: str, *, inline: bool) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients and the real name as ``filename*`` (RFC 8187)."""
    name = clean_file_name(name)
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\%' else "_" for c in name)
    value = f'{"inline" if inline else "attachment"}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value
