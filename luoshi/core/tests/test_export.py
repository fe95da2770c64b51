import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from luoshi.core.export import BOM, csv_lines, csv_response, safe_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-5", "'-5"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("推进=项目", "推进=项目"),
        ("", ""),
        (None, ""),
        (42, 42),
        (-5, -5),
        (1.5, 1.5),
    ],
)
def test_safe_cell_keeps_text_as_text(value, cell):
    assert safe_cell(value) == cell


def test_safe_cell_words_booleans_and_local_times():
    assert safe_cell(True) == "是" and safe_cell(False) == "否"
    moment = timezone.make_aware(dt.datetime(2026, 3, 1, 8, 30), dt.UTC)
    assert safe_cell(moment) == "2026-03-01 16:30:00"  # Asia/Shanghai


def test_csv_lines_stream_one_line_per_row_after_a_bom():
    rows = ([n, f"={n}"] for n in range(3))
    lines = list(csv_lines(["编号", "公式"], rows))
    assert len(lines) == 4 and lines[0] == f"{BOM}编号,公式\r\n"
    parsed = list(csv.reader(io.StringIO("".join(lines).removeprefix(BOM))))
    assert parsed[1:] == [["0", "'=0"], ["1", "'=1"], ["2", "'=2"]]


def test_csv_response_is_a_utf8_attachment_with_a_chinese_name():
    response = csv_response("审计日志.csv", ["账号"], [["张三"]])
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "filename*=utf-8''%E5%AE%A1%E8%AE%A1%E6%97%A5%E5%BF%97.csv" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf") and "张三".encode() in body
