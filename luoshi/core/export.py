"""Exports: every CSV the system hands out is streamed through ``csv_response``.

Rows are written as they are read (no file built in memory), in UTF-8 with a byte-order mark so that
Excel opens Chinese text correctly, and every cell goes through ``safe_cell`` so that no value typed
by a user can run as a spreadsheet formula (CSV injection) on the reader's machine.
"""

import csv
import datetime as dt
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

BOM = "\ufeff"
# Excel, LibreOffice and WPS start a formula (or DDE call) with these; tab and CR are stripped first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str | int | float:
    """``value`` as a CSV cell that a spreadsheet shows as written and never evaluates.

    Numbers stay numbers. Text starting with a formula character gets a leading apostrophe, which
    Excel takes as "this is text" and does not display.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, int | float):
        return value
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if timezone.is_aware(value) else value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Line:
    """A file-like object that hands back what is written to it, for csv.writer."""

    def write(self, text: str) -> str:
        return text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence]) -> Iterable[str]:
    """The BOM, the header and each row as one CSV line, every cell protected."""
    writer = csv.writer(_Line(), quoting=csv.QUOTE_MINIMAL)
    yield BOM + writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """A streamed CSV download named ``filename`` (may be Chinese)."""
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in csv_lines(header, rows)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response
