"""The keyed hash chain over the audit trail: how a row is put into bytes, sealed and checked.

Each row's ``mac`` is HMAC-SM3(key ``mac_key``, previous mac ‖ ``|`` ‖ canonical row). The canonical
form is a JSON list of the row's fields in a fixed order (nested keys sorted, times in UTC with
microseconds), exactly as the database gives them back, so SQLite and PostgreSQL agree.
The first row's previous mac is the anchor: empty for a chain never archived, else the mac of the last
archived row (``AuditChainHead.anchor_*``).
"""

import datetime as dt
import gzip
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

from luoshi.audit.models import AuditChainHead, AuditEvent
from luoshi.core.crypto import DecryptionError, hmac_sm3

# The fields a link covers, in the order they are serialised. ``mac`` itself is not among them.
CHAIN_FIELDS = (
    "sequence",
    "created_at",
    "user_id",
    "username",
    "ip_address",
    "request_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "success",
    "mac_key",
)
CHUNK = 5000
ARCHIVE_FORMAT = "luoshi-audit-archive"


def json_value(value):
    """``value`` as the JSON column will give it back (tuples as lists, dict keys as strings)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical(values: dict) -> bytes:
    """The bytes a link's MAC covers: ``values`` holds every name in ``CHAIN_FIELDS``."""
    row = [values[name] for name in CHAIN_FIELDS]
    row[1] = utc_text(row[1]) if isinstance(row[1], dt.datetime) else row[1]
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def link_mac(values: dict, previous_mac: str) -> str:
    """The mac of a row whose fields are ``values``, following the row whose mac is ``previous_mac``."""
    _key_id, mac = hmac_sm3(previous_mac.encode() + b"|" + canonical(values), key_id=values["mac_key"])
    return mac


def head_seal(head: AuditChainHead, key_id: str | None = None) -> tuple[str, str]:
    """(key id, MAC) over the head's position; the active key unless ``key_id`` names one."""
    text = f"head|{head.sequence}|{head.mac}|{head.anchor_sequence}|{head.anchor_mac}"
    return hmac_sm3(text.encode(), key_id=key_id)


def seal_is_valid(head: AuditChainHead) -> bool:
    if not head.seal and head.sequence == 0 and head.anchor_sequence == 0:
        return True  # the chain's empty start
    try:
        _key_id, expected = head_seal(head, key_id=head.mac_key or None)
    except DecryptionError:
        return False
    return hmac.compare_digest(expected, head.seal)


# Verification ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The outcome of a walk: ``broken_at`` is the first bad link's sequence (None when all is well)."""

    checked: int
    last_sequence: int
    last_mac: str
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


@dataclass
class Walker:
    """Checks links one by one from an anchor; stops at the first bad one."""

    sequence: int
    mac: str
    checked: int = 0
    broken_at: int | None = None
    reason: str = ""

    def step(self, values: dict, mac: str) -> bool:
        expected = self.sequence + 1
        found = values["sequence"]
        if found > expected:
            return self.fail(expected, _("缺少序号 %(first)s 至 %(last)s 的记录（被删除）。"), found - 1)
        if found < expected:
            return self.fail(found, _("序号 %(first)s 重复或顺序错乱（被插入或调换）。"), found)
        try:
            valid = hmac.compare_digest(link_mac(values, self.mac), mac)
        except DecryptionError:
            return self.fail(
                found, _("序号 %(first)s 的密钥 %(key)s 不在密钥文件中。"), found, values["mac_key"]
            )
        if not valid:
            return self.fail(found, _("序号 %(first)s 的记录与校验码不符（被修改、插入或调换）。"), found)
        self.sequence, self.mac = found, mac
        self.checked += 1
        return True

    def fail(self, at: int, message: str, last: int, key: str = "") -> bool:
        self.broken_at = at
        self.reason = message % {"first": at, "last": last, "key": key}
        return False

    def verdict(self) -> Verdict:
        return Verdict(self.checked, self.sequence, self.mac, self.broken_at, self.reason)


def rows_after(sequence: int) -> Iterator[tuple[dict, str]]:
    """The stored rows after ``sequence`` in chain order, read in chunks (bounded memory, no OFFSET)."""
    names = (*CHAIN_FIELDS, "mac")
    while True:
        chunk = list(
            AuditEvent.objects.filter(sequence__gt=sequence).order_by("sequence").values_list(*names)[:CHUNK]
        )
        if not chunk:
            return
        for row in chunk:
            values = dict(zip(names, row, strict=True))
            yield values, values.pop("mac")
        sequence = chunk[-1][0]


def _walk(walker: Walker, rows: Iterable[tuple[dict, str]]) -> bool:
    return all(walker.step(values, mac) for values, mac in rows)


def verify_trail() -> Verdict:
    """Walk the stored chain from its anchor to its head."""
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(pk=1)
    walker = Walker(sequence=head.anchor_sequence, mac=head.anchor_mac)
    if not seal_is_valid(head):
        walker.fail(head.sequence, _("链头（序号 %(first)s）与校验码不符（被改动）。"), head.sequence)
        return walker.verdict()
    archived = AuditEvent.objects.filter(sequence__lte=head.anchor_sequence).order_by("sequence")
    planted = archived.values_list("sequence", flat=True).first()
    if planted is not None:
        walker.fail(planted, _("序号 %(first)s 在已归档的范围内（被插入）。"), planted)
        return walker.verdict()
    # Rows appended while we walk move the head on: walk on until we reach it. A head read before a
    # walk names only committed rows, so a walk that finds none of them means they were removed.
    ahead = head.sequence > walker.sequence
    while True:
        start = walker.sequence
        if not _walk(walker, rows_after(walker.sequence)):
            return walker.verdict()
        if ahead and walker.sequence == start:
            break
        head = AuditChainHead.objects.filter(pk=1).first() or head
        ahead = head.sequence > walker.sequence
        if not ahead:
            break
    if head.sequence != walker.sequence or not hmac.compare_digest(head.mac, walker.mac):
        walker.fail(
            walker.sequence + 1,
            _("序号 %(first)s 起的记录与链头（序号 %(last)s）不符（末尾被删除或链头被改动）。"),
            head.sequence,
        )
    elif not seal_is_valid(head):
        walker.fail(head.sequence, _("链头（序号 %(first)s）与校验码不符（被改动）。"), head.sequence)
    return walker.verdict()


# Archive files -----------------------------------------------------------------------------------


def archive_line(values: dict, mac: str) -> str:
    data = {**values, "created_at": utc_text(values["created_at"]), "mac": mac}
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def archive_header(anchor_sequence: int, anchor_mac: str) -> str:
    header = {
        "format": ARCHIVE_FORMAT,
        "version": 1,
        "previous_anchor": {"sequence": anchor_sequence, "mac": anchor_mac},
    }
    return json.dumps(header, separators=(",", ":")) + "\n"


def _archived_rows(handle) -> Iterator[tuple[dict, str]]:
    for line in handle:
        data = json.loads(line)
        mac = data.pop("mac")
        yield {name: data[name] for name in CHAIN_FIELDS}, mac


def verify_archive_file(path) -> Verdict:
    """Walk the chain inside an archive file from the anchor its header names."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        header = json.loads(handle.readline() or "{}")
        if header.get("format") != ARCHIVE_FORMAT:
            walker = Walker(sequence=0, mac="")
            walker.fail(0, _("不是审计归档文件。"), 0)
            return walker.verdict()
        anchor = header["previous_anchor"]
        walker = Walker(sequence=anchor["sequence"], mac=anchor["mac"])
        _walk(walker, _archived_rows(handle))
    return walker.verdict()
