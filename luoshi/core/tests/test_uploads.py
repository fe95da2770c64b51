import hashlib

import pytest
from django.core.exceptions import ValidationError

from luoshi.core import crypto
from luoshi.core.tests import files
from luoshi.core.tests.files import upload
from luoshi.core.uploads import check_upload

LIMIT = 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("会议纪要.pdf", files.PDF, "application/pdf"),
        ("现场照片.png", files.PNG, "image/png"),
        ("现场照片.jpg", files.JPEG, "image/jpeg"),
    ],
)
def test_accepts_real_pdf_and_images(name, content, expected):
    checked = check_upload(upload(name, content), max_bytes=LIMIT)
    assert checked.content_type == expected
    assert checked.size == len(content)
    assert checked.sha256 == hashlib.sha256(content).hexdigest()


def test_accepts_real_docx():
    content = files.docx_bytes()
    assert check_upload(upload("进展报告.docx", content), max_bytes=LIMIT).content_type == DOCX


def test_accepts_real_xlsx():
    content = files.xlsx_bytes()
    assert check_upload(upload("投资台账.xlsx", content), max_bytes=LIMIT).content_type == XLSX


def test_type_comes_from_content_not_name():
    # A PNG named .pdf is accepted as what it is: a PNG.
    assert check_upload(upload("照片.pdf", files.PNG), max_bytes=LIMIT).content_type == "image/png"


@pytest.mark.parametrize("content", [files.EXE, files.HTML], ids=["exe", "html"])
def test_refuses_disguised_files(content):
    with pytest.raises(ValidationError) as error:
        check_upload(upload("佐证材料.pdf", content, "application/pdf"), max_bytes=LIMIT)
    assert "不是允许的类型" in error.value.messages[0]
    assert "佐证材料.pdf" in error.value.messages[0]


def test_refuses_empty_file():
    with pytest.raises(ValidationError) as error:
        check_upload(upload("空.pdf", b""), max_bytes=LIMIT)
    assert "空文件" in error.value.messages[0]


def test_refuses_oversize_file_before_reading_it():
    with pytest.raises(ValidationError) as error:
        check_upload(upload("大.pdf", files.PDF + bytes(2048)), max_bytes=1024)
    assert "超过" in error.value.messages[0]
    assert "上限" in error.value.messages[0]


def test_refuses_zip_with_huge_declared_size():
    with pytest.raises(ValidationError) as error:
        check_upload(upload("炸弹.docx", files.zip_bomb_bytes()), max_bytes=LIMIT)
    assert "解压后过大" in error.value.messages[0]


def test_refuses_plain_zip_renamed_docx():
    with pytest.raises(ValidationError) as error:
        check_upload(upload("材料.docx", files.plain_zip_bytes()), max_bytes=LIMIT)
    assert "不是允许的类型" in error.value.messages[0]


def test_refuses_corrupt_zip():
    content = files.docx_bytes()[:60]
    with pytest.raises(ValidationError) as error:
        check_upload(upload("坏.docx", content), max_bytes=LIMIT)
    assert "损坏" in error.value.messages[0] or "不是允许的类型" in error.value.messages[0]


def test_upload_is_rewound_after_check():
    file = upload("会议纪要.pdf", files.PDF)
    check_upload(file, max_bytes=LIMIT)
    assert file.read() == files.PDF


def test_check_gives_the_sm3_digest_beside_the_sha256():
    checked = check_upload(upload("会议纪要.pdf", files.PDF), max_bytes=LIMIT)
    assert checked.sm3 == crypto.sm3(files.PDF)
    assert checked.sha256 == hashlib.sha256(files.PDF).hexdigest()
