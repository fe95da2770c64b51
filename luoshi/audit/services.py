"""Writing the audit trail. Every row is written by ``record``; rows leave only through ``archive``."""

import datetime as dt
import getpass
import gzip
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Min, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.audit import chain
from luoshi.audit.context import AuditContext, current
from luoshi.audit.models import RETENTION_DAYS, AuditAction, AuditChainHead, AuditEvent
from luoshi.core.crypto import keyring, sm3_file


def _fit(name: str, value: str) -> str:
    """Cut text to its column, so the database stores (and gives back) exactly what was sealed."""
    return (value or "")[: AuditEvent._meta.get_field(name).max_length]


def _ip(value: str | None) -> str | None:
    # The form PostgreSQL's inet gives back (lower case, IPv4-mapped as ::ffff:a.b.c.d).
    return AuditEvent._meta.get_field("ip_address").to_python(value) if value else None


def _locked_head() -> AuditChainHead:
    """The chain head, locked until the caller's transaction ends (a no-op lock on SQLite, whose
    IMMEDIATE transactions already let one writer in at a time), with the highest stored sequence
    (``stored_sequence``) read in the same query."""
    highest = AuditEvent.objects.order_by("-sequence").values("sequence")[:1]
    locked = AuditChainHead.objects.select_for_update(of=("self",)).annotate(
        stored_sequence=Subquery(highest)
    )
    head = locked.filter(pk=1).first()
    if head is None:
        # A new (or flushed) database; a concurrent creator makes get_or_create fall back to a read.
        AuditChainHead.objects.get_or_create(pk=1)
        head = locked.get(pk=1)
    return head


def _move_head(head: AuditChainHead) -> None:
    head.mac_key, head.seal = chain.head_seal(head)
    head.save()


def record(
    *,
    action: str,
    obj=None,
    before: dict | None = None,
    after: dict | None = None,
    success: bool = True,
    user=None,
    username: str = "",
    object_repr: str = "",
    object_type: str = "",
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (it is kept only if that commits)."""
    context = current.get()
    event = AuditEvent(
        user_id=user.pk if user is not None else context.user_id,
        username=_fit(
            "username", username or (user.get_username() if user is not None else context.username)
        ),
        ip_address=_ip(context.ip_address),
        request_id=_fit("request_id", context.request_id),
        action=action,
        object_type=_fit("object_type", obj._meta.label if obj is not None else object_type),
        object_id=_fit("object_id", str(obj.pk) if obj is not None else ""),
        object_repr=_fit("object_repr", object_repr or (str(obj) if obj is not None else "")),
        before=chain.json_value(before),
        after=chain.json_value(after),
        success=success,
    )
    # No savepoint of its own: a failure here must roll back the caller's write too.
    with transaction.atomic(savepoint=False):
        # Everything above is done before the lock: the head is held only for the insert below.
        head = _locked_head()
        # Normally head + 1. A row planted past the head by SQL must not stop the trail (a unique
        # violation on every write): step over it; it stays the first broken link ``verify`` reports.
        event.sequence = max(head.sequence, head.stored_sequence or 0) + 1
        event.created_at = timezone.now()
        event.mac_key = keyring().active_mac_key
        event.mac = chain.link_mac({name: getattr(event, name) for name in chain.CHAIN_FIELDS}, head.mac)
        event.save(force_insert=True)
        head.sequence, head.mac = event.sequence, event.mac
        _move_head(head)
    return event


def record_download(*, obj, user) -> AuditEvent:
    return record(action=AuditAction.DOWNLOAD, obj=obj, user=user)


def command_context() -> AuditContext:
    """Who acts when an operator runs a ``luoshi`` command: the operating-system account."""
    return AuditContext(username=f"cli:{getpass.getuser()}")


# Archiving ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Archive:
    path: Path
    digest: str
    rows: int
    anchor_sequence: int
    anchor_mac: str


def earliest_archivable_day(today: dt.date | None = None) -> dt.date:
    """The latest ``before`` date allowed: every row before it is at least ``RETENTION_DAYS`` old."""
    return (today or timezone.localdate()) - dt.timedelta(days=RETENTION_DAYS)


def archive_directory() -> Path:
    return Path(settings.VAR_DIR) / "audit-archive"


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def archive(*, before: dt.date, directory: Path | None = None) -> Archive | None:
    """Move the rows recorded before ``before`` into a gzip JSON-lines file, then delete them.

    The file (and its SM3 digest beside it, ``<name>.sm3``) is written and checked before anything is
    deleted; the deletion, the new anchor and the event recording the run are one transaction.
    Returns None when no row is old enough.
    """
    if before > earliest_archivable_day():
        raise ValidationError(
            _("审计记录须保存至少 %(days)s 天，只能归档 %(day)s 之前的记录。")
            % {"days": RETENTION_DAYS, "day": earliest_archivable_day().isoformat()}
        )
    cutoff = _start_of(before)
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(pk=1)
    first_kept = AuditEvent.objects.filter(created_at__gte=cutoff).aggregate(first=Min("sequence"))["first"]
    through = (first_kept - 1) if first_kept is not None else head.sequence
    if through <= head.anchor_sequence:
        return None
    directory = directory or archive_directory()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-{head.anchor_sequence + 1:012d}-{through:012d}.jsonl.gz"
    walker = chain.Walker(sequence=head.anchor_sequence, mac=head.anchor_mac)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(chain.archive_header(head.anchor_sequence, head.anchor_mac))
        for values, mac in chain.rows_after(head.anchor_sequence):
            if values["sequence"] > through:
                break
            # Archiving a broken chain would launder it: stop at the first bad link.
            if not walker.step(values, mac):
                break
            handle.write(chain.archive_line(values, mac))
    if walker.broken_at is not None or walker.sequence != through:
        path.unlink()
        raise ValidationError(
            _("审计链在序号 %(sequence)s 处断开，未归档：%(reason)s")
            % {"sequence": walker.broken_at, "reason": walker.reason}
        )
    with path.open("rb") as handle:
        digest = sm3_file(handle)
    Path(f"{path}.sm3").write_text(f"{digest}  {path.name}\n")
    written = chain.verify_archive_file(path)
    if not written.ok or written.last_sequence != through:
        raise ValidationError(_("归档文件 %(path)s 读回校验失败，未删除任何记录。") % {"path": path})
    result = Archive(path, digest, walker.checked, through, walker.mac)
    _remove_archived(result, previous_anchor=head.anchor_sequence, cutoff=cutoff)
    return result


@transaction.atomic
def _remove_archived(archived: Archive, *, previous_anchor: int, cutoff: dt.datetime) -> None:
    """The one path by which rows leave the trail (the ORM's delete stays refused)."""
    head = _locked_head()
    if head.anchor_sequence != previous_anchor:
        raise ValidationError(_("另一个归档任务正在运行，请稍后再试。"))
    youngest = min(cutoff, timezone.now() - dt.timedelta(days=RETENTION_DAYS))
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE sequence > %s AND sequence <= %s AND created_at < %s",  # nosec B608 # quoted table name of our model; every value is a parameter
            [previous_anchor, archived.anchor_sequence, youngest],
        )
        deleted = cursor.rowcount
    if deleted != archived.rows:
        raise ValidationError(
            _("应删除 %(expected)s 条、实际 %(deleted)s 条，已撤销归档。")
            % {"expected": archived.rows, "deleted": deleted}
        )
    head.anchor_sequence, head.anchor_mac = archived.anchor_sequence, archived.anchor_mac
    _move_head(head)
    record(
        action=AuditAction.ARCHIVE,
        object_type=AuditEvent._meta.label,
        object_repr=archived.path.name,
        after={
            "file": str(archived.path),
            "sm3": archived.digest,
            "rows": archived.rows,
            "anchor_sequence": archived.anchor_sequence,
            "anchor_mac": archived.anchor_mac,
            "before": timezone.localdate(cutoff).isoformat(),
        },
    )
