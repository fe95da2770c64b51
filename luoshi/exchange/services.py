"""Writes of the exchange: a workbook uploaded, the user's choices for it, and its import, all or nothing."""

import datetime as dt
import hashlib
import logging
import tempfile
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from luoshi.core import crypto
from luoshi.core.exceptions import StaleObjectError
from luoshi.core.uploads import clean_file_name, storing
from luoshi.exchange import drafts
from luoshi.exchange.dates import DeadlineError, parse_deadline
from luoshi.exchange.documents import DocumentError, document_text
from luoshi.exchange.export import CONTENT_TYPE as XLSX_CONTENT_TYPE
from luoshi.exchange.export import export_ledger, item_fields, ledger_title, write_items_workbook
from luoshi.exchange.importing import ImportPlan, item_rows
from luoshi.exchange.models import (
    PENDING_EXPORT_STATUSES,
    ExportJob,
    ExportKind,
    ExportStatus,
    ImportBatch,
    ImportStatus,
    OutlineDraft,
)
from luoshi.exchange.outline import OutlineError, outline
from luoshi.exchange.selectors import batch_plan, custom_labels, filtered_item_list
from luoshi.exchange.text import normalise, split_names
from luoshi.exchange.workbook import FIELDS, WorkbookError, read_table
from luoshi.ledgers.models import Item, Ledger
from luoshi.ledgers.permissions import supervises_ledger
from luoshi.ledgers.services import BulkResult, write_items
from luoshi.notifications.models import Event
from luoshi.notifications.services import notify
from luoshi.orgs.models import Organisation, User

logger = logging.getLogger(__name__)

_CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
}


def import_plan(*, plan: ImportPlan, ledger: Ledger, user, source: str) -> BulkResult:
    """Write ``plan`` into ``ledger``; a plan with any row in error writes nothing and says which rows."""
    if not plan.rows:
        raise ValidationError(_("表格中没有可导入的行。"))
    if plan.error_count:
        raise ValidationError(
            [
                _("第 %(row)s 行：%(error)s") % {"row": row.number, "error": error}
                for row in plan.rows
                for error in row.errors
            ]
        )
    return write_items(ledger=ledger, user=user, rows=item_rows(plan, ledger=ledger), source=source)


def _check_supervisor(user, ledger: Ledger) -> None:
    if not supervises_ledger(user, ledger):
        raise ValidationError(_("只有本台账的督办员可以导入事项。"))


@transaction.atomic
def upload_import(*, ledger: Ledger, user, upload) -> ImportBatch:
    """Keep ``upload`` for its preview, once it reads as a ledger table; refused with the reader's words.

    The content type is a label for the stored file (named by its extension); the reader has already
    told the kind from the content.
    """
    _check_supervisor(user, ledger)
    try:
        read_table(upload, name=upload.name, custom_labels=custom_labels(ledger))
    except WorkbookError as error:
        raise ValidationError({"file": error.message}) from error
    upload.seek(0)
    sha256 = hashlib.sha256()
    for chunk in upload.chunks():
        sha256.update(chunk)
    upload.seek(0)
    batch = ImportBatch(
        ledger=ledger,
        uploaded_by=user,
        original_name=clean_file_name(upload.name),
        content_type=_CONTENT_TYPES.get(upload.name.rsplit(".", 1)[-1].lower(), "application/octet-stream"),
        size=upload.size,
        sha256=sha256.hexdigest(),
        sm3=crypto.sm3_file(upload),
    )
    upload.seek(0)
    with storing(batch, upload):
        batch.save()
    return batch


def _pending(batch: ImportBatch) -> ImportBatch:
    locked = ImportBatch.objects.select_for_update().select_related("ledger").get(pk=batch.pk)
    if locked.status != ImportStatus.PENDING:
        raise ValidationError(_("该文件已经导入，不能再修改或重复导入。请重新上传。"))
    return locked


@transaction.atomic
def choose_columns(*, batch: ImportBatch, user, columns: list[str | None]) -> ImportBatch:
    """The field each column holds, as the user confirmed it; every field at most once, and a title."""
    batch = _pending(batch)
    _check_supervisor(user, batch.ledger)
    allowed = set(FIELDS) | {f"extra:{key}" for key in custom_labels(batch.ledger).values()}
    chosen = [column or None for column in columns]
    unknown = [column for column in chosen if column and column not in allowed]
    if unknown:
        raise ValidationError(_("无法识别的字段：%(fields)s。") % {"fields": "、".join(unknown)})
    repeated = {column for column in chosen if column and chosen.count(column) > 1}
    if repeated:
        raise ValidationError(
            _("「%(fields)s」被指定给了多列，每个字段只能对应一列。")
            % {"fields": "、".join(str(FIELDS.get(field, field)) for field in sorted(repeated))}
        )
    if "title" not in chosen:
        raise ValidationError(_("请指定哪一列是事项名称。"))
    batch.columns = chosen
    batch.save(update_fields=["columns", "updated_at"])
    return batch


@transaction.atomic
def map_names(
    *, batch: ImportBatch, user, unit_names: dict[str, int], leader_names: dict[str, int]
) -> ImportBatch:
    """Names as written → the unit or leader the user picked, for every row of the file."""
    batch = _pending(batch)
    _check_supervisor(user, batch.ledger)
    units = set(
        Organisation.objects.filter(pk__in=unit_names.values(), is_active=True).values_list("pk", flat=True)
    )
    leaders = set(
        User.objects.filter(pk__in=leader_names.values(), is_active=True).values_list("pk", flat=True)
    )
    missing = [name for name, pk in unit_names.items() if pk not in units]
    missing += [name for name, pk in leader_names.items() if pk not in leaders]
    if missing:
        raise ValidationError(
            _("为「%(names)s」选择的单位或人员不存在或已停用。") % {"names": "、".join(missing)}
        )
    batch.unit_names = {**batch.unit_names, **unit_names}
    batch.leader_names = {**batch.leader_names, **leader_names}
    batch.save(update_fields=["unit_names", "leader_names", "updated_at"])
    return batch


@transaction.atomic
def confirm_import(*, batch: ImportBatch, user) -> BulkResult:
    """Write what the preview showed; the batch is marked imported in the same transaction, so only once."""
    batch = _pending(batch)
    _check_supervisor(user, batch.ledger)
    try:
        plan = batch_plan(batch)
    except WorkbookError as error:
        raise ValidationError(error.message) from error
    result = import_plan(plan=plan, ledger=batch.ledger, user=user, source=batch.original_name)
    batch.status = ImportStatus.IMPORTED
    batch.imported_at = timezone.now()
    batch.result = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    batch.save(update_fields=["status", "imported_at", "result", "updated_at"])
    return result


# Outlines ------------------------------------------------------------------------------------------


@transaction.atomic
def start_outline(*, ledger: Ledger, user, text: str | None = None, upload=None) -> OutlineDraft:
    """A draft of the items a pasted text or an uploaded .docx/.txt proposes for ``ledger``, for ``user``
    to edit; the ledger's year completes deadlines written without one. Nothing is written to the ledger."""
    if not supervises_ledger(user, ledger):
        raise ValidationError(_("只有本台账的督办员可以从文件生成事项。"))
    text = (text or "").strip()
    if upload is not None and text:
        raise ValidationError(_("请粘贴正文或上传文件，二者选一。"))
    if upload is not None:
        source = clean_file_name(upload.name)
        try:
            paragraphs = document_text(upload, name=source)
        except DocumentError as error:
            raise ValidationError({"upload": error.message}) from error
    elif text:
        source, paragraphs = _("粘贴的文本"), text
    else:
        raise ValidationError(_("请粘贴正文或选择文件。"))
    try:
        proposed = outline(paragraphs, year=ledger.year)
    except OutlineError as error:
        raise ValidationError(error.message) from error
    return OutlineDraft.objects.create(
        ledger=ledger,
        created_by=user,
        source_name=source[: OutlineDraft._meta.get_field("source_name").max_length],
        title=proposed.title[: OutlineDraft._meta.get_field("title").max_length],
        tree=drafts.tree_of(proposed),
    )


def _editable(draft: OutlineDraft, user, version: int | None) -> OutlineDraft:
    """The stored draft, locked: the user's own, not yet saved, at the version they saw (by default
    ``draft``'s)."""
    expected = draft.version if version is None else version
    stored = (
        OutlineDraft.objects.select_for_update(of=("self",))
        .select_related("ledger")
        .filter(pk=draft.pk, created_by=user)
        .first()
    )
    if stored is None:
        raise ValidationError(_("找不到这份草稿，它可能已被删除。"))
    if not supervises_ledger(user, stored.ledger):
        raise ValidationError(_("只有本台账的督办员可以从文件生成事项。"))
    if stored.saved_at is not None:
        raise ValidationError(_("这份草稿已保存到台账，不能再修改或重复保存。"))
    if stored.version != expected:
        raise StaleObjectError(stored)
    return stored


def _edit(draft: OutlineDraft, user, version: int | None, change) -> OutlineDraft:
    draft = _editable(draft, user, version)
    change(draft)
    draft.save(update_fields=["tree"])
    return draft


@transaction.atomic
def rename_node(
    *, draft: OutlineDraft, user, node: int, title: str, version: int | None = None
) -> OutlineDraft:
    return _edit(draft, user, version, lambda stored: drafts.rename(stored.tree, node, title))


@transaction.atomic
def set_node_fields(
    *,
    draft: OutlineDraft,
    user,
    node: int,
    title: str | None = None,
    description: str = "",
    lead_org: str = "",
    co_orgs: str = "",
    lead_leader: str = "",
    deadline: str = "",
    standing: bool = False,
    cycle: str = "",
    version: int | None = None,
) -> OutlineDraft:
    """Set a node's fields as typed (``title`` None: kept): units and leader by name (resolved on
    saving), the deadline as offices write it (6月底前, 长期坚持, 每季度 …), read with the ledger's year."""

    def change(stored: OutlineDraft) -> None:
        try:
            parsed = parse_deadline(deadline.strip() or None, year=stored.ledger.year)
        except DeadlineError as error:
            raise ValidationError({"deadline": str(error)}) from error
        drafts.set_fields(
            stored.tree,
            node,
            title=title,
            description=description,
            lead_org=normalise(lead_org),
            co_orgs=split_names(co_orgs),
            lead_leader=normalise(lead_leader),
            deadline=parsed.date,
            standing=standing or parsed.standing,
            cycle=cycle or parsed.cycle,
        )

    return _edit(draft, user, version, change)


@transaction.atomic
def move_node(
    *, draft: OutlineDraft, user, node: int, direction: str, version: int | None = None
) -> OutlineDraft:
    """``direction``: up, down (among its siblings), indent, outdent (see ``drafts.move``)."""
    return _edit(draft, user, version, lambda stored: drafts.move(stored.tree, node, direction))


@transaction.atomic
def merge_node(*, draft: OutlineDraft, user, node: int, version: int | None = None) -> OutlineDraft:
    """Fold a node into its previous sibling."""
    return _edit(draft, user, version, lambda stored: drafts.merge(stored.tree, node))


@transaction.atomic
def drop_node(*, draft: OutlineDraft, user, node: int, version: int | None = None) -> OutlineDraft:
    """Remove a node with everything under it."""
    return _edit(draft, user, version, lambda stored: drafts.drop(stored.tree, node))


@transaction.atomic
def save_outline(*, draft: OutlineDraft, user, version: int | None = None) -> BulkResult:
    """Write the draft's tree into its ledger as items, after the ledger's own, all or nothing; a name
    that does not resolve, or an item without a lead unit or deadline, refuses it with every problem.
    The draft is then marked saved, so it is never written twice."""
    draft = _editable(draft, user, version)
    if not draft.tree:
        raise ValidationError(_("大纲中已没有事项，无需保存。"))
    last = Item.objects.filter(ledger=draft.ledger).aggregate(last=Max("sort_order"))["last"] or 0
    plan = drafts.plan(draft.tree, ledger=draft.ledger, first_order=last)
    if plan.errors:
        raise ValidationError(plan.messages)
    result = write_items(ledger=draft.ledger, user=user, rows=plan.rows, source=draft.source_name)
    draft.saved_at = timezone.now()
    draft.saved_count = result.created
    draft.save(update_fields=["saved_at", "saved_count"])
    return result


# Background exports --------------------------------------------------------------------------------


def _kept_until(moment: dt.datetime) -> dt.datetime:
    return moment + dt.timedelta(days=settings.EXCHANGE_EXPORT_KEEP_DAYS)


@transaction.atomic
def queue_export(
    *, user, kind: str, title: str, rows: int, ledger: Ledger | None = None, query: str = ""
) -> ExportJob:
    """An export too large to build in the request, rendered by the worker once this commits.

    ``rows`` is the count when asked (the worker counts again). The same export asked for again
    while it is still waiting or being built is that one job, not a second.
    """
    from luoshi.exchange.tasks import render_export  # here: the tasks module imports this one

    pending = ExportJob.objects.filter(
        uploaded_by=user, kind=kind, ledger=ledger, query=query, status__in=PENDING_EXPORT_STATUSES
    ).first()
    if pending is not None:
        return pending
    job = ExportJob.objects.create(
        uploaded_by=user,
        kind=kind,
        ledger=ledger,
        query=query,
        title=title,
        original_name=f"{title[:180]}-{timezone.localdate():%Y%m%d}.xlsx",
        content_type=XLSX_CONTENT_TYPE,
        size=0,
        sha256="",
        row_count=rows,
        expires_at=_kept_until(timezone.now()),
    )
    transaction.on_commit(partial(render_export.enqueue, job.pk))
    return job


def _write_export(job: ExportJob, stream) -> tuple[int, Ledger | None, str]:
    """The workbook of ``job`` as its requester may see it now: (rows, ledger, title)."""
    user = job.uploaded_by
    if not user.is_active:
        raise ValidationError(_("账号已停用，不再生成导出。"))
    if job.kind == ExportKind.LEDGER:
        # Scoped again at render time: a requester who has lost the ledger since asking gets nothing.
        ledger = Ledger.objects.visible_to(user).filter(pk=job.ledger_id).first() if job.ledger_id else None
        if ledger is None:
            raise ValidationError(_("台账已删除，或您已无权查看该台账。"))
        return export_ledger(ledger, user, stream), ledger, ledger_title(ledger)
    items, ledger = filtered_item_list(user, job.query)
    title = ledger_title(ledger) if ledger else _("事项清单")
    return write_items_workbook(items, stream=stream, title=title, fields=item_fields(ledger)), ledger, title


def _digests(stream) -> tuple[str, int]:
    sha256 = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        sha256.update(chunk)
    size = stream.tell()
    stream.seek(0)
    return sha256.hexdigest(), size


@transaction.atomic
def _finish_export(job: ExportJob, stream, *, rows: int, ledger: Ledger | None, title: str) -> ExportJob:
    sha256, size = _digests(stream)
    now = timezone.now()
    job.sha256, job.size, job.sm3 = sha256, size, crypto.sm3_file(stream)
    job.row_count, job.ledger, job.title = rows, ledger, title
    job.status, job.finished_at, job.expires_at = ExportStatus.DONE, now, _kept_until(now)
    with storing(job, File(stream, name=job.original_name)):
        job.save()
        notify(
            event=Event.EXPORT_READY,
            recipients=[job.uploaded_by],
            title=_("导出已完成：%(title)s") % {"title": title[:150]},
            body=_("共 %(rows)s 行，可在 %(days)s 天内下载。")
            % {"rows": rows, "days": settings.EXCHANGE_EXPORT_KEEP_DAYS},
            url=reverse("exchange:export_download", args=[job.pk]),
            key=f"export:{job.pk}",
        )
    return job


@transaction.atomic
def _fail_export(job: ExportJob, message: str) -> ExportJob:
    job.status, job.error, job.finished_at = ExportStatus.FAILED, message, timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "updated_at"])
    notify(
        event=Event.EXPORT_READY,
        recipients=[job.uploaded_by],
        title=_("导出失败：%(title)s") % {"title": job.title[:150]},
        body=message,
        url=reverse("exchange:export_list"),
        key=f"export:{job.pk}",
    )
    return job


def render_export(job_id: int) -> str:
    """Build the workbook of a queued export (the worker's task); returns the job's status.

    The job is claimed by a conditional update, so a task delivered twice builds it once. The
    workbook is written to a temporary file outside any transaction (it may take minutes), then
    stored with its SHA-256 and SM3 and the requester notified; a failure is recorded with its
    reason, and the requester told too.
    """
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        return ExportJob.objects.filter(pk=job_id).values_list("status", flat=True).first() or ""
    job = ExportJob.objects.select_related("uploaded_by").get(pk=job_id)
    with translation.override(settings.LANGUAGE_CODE), tempfile.TemporaryFile() as stream:
        try:
            rows, ledger, title = _write_export(job, stream)
            job = _finish_export(job, stream, rows=rows, ledger=ledger, title=title)
        except ValidationError as error:
            job = _fail_export(job, "；".join(error.messages))
        except Exception as error:
            logger.exception("Export %s failed", job_id)
            job = _fail_export(
                job,
                _("生成时出错（%(error)s），请重试；仍不成功请联系系统管理员。")
                % {"error": f"{type(error).__name__}: {error}"},
            )
    return job.status


def purge_expired_exports(*, now: dt.datetime | None = None) -> int:
    """Remove the exports kept past ``expires_at``, rows and files; returns how many rows went.

    The files are deleted once the rows' deletion has committed; a second run finds nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        expired = ExportJob.objects.filter(expires_at__lte=now).select_for_update()
        files = [name for name in expired.values_list("file", flat=True) if name]
        deleted, _counts = expired.delete()
        storage = ExportJob._meta.get_field("file").storage

        def delete_files():
            for name in files:
                storage.delete(name)

        transaction.on_commit(delete_files)
    return deleted
