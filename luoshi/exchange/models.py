from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from luoshi.core.models import StoredFile, VersionedModel
from luoshi.core.scoping import ScopedQuerySet


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("待确认")
    IMPORTED = "imported", _("已导入")


def import_upload_to(instance, filename):
    # Server-made names only: the uploaded name is kept as data, never as a path.
    return f"imports/{instance.sha256[:2]}/{instance.sha256}"


class ImportBatchQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        # An upload in progress is its uploader's own work: nobody else previews or confirms it.
        return models.Q(uploaded_by=user)


class ImportBatch(StoredFile):
    """A workbook uploaded into a ledger, kept until it is confirmed, with the user's choices for it.

    ``columns`` is the field chosen for each column (empty: as recognised), ``unit_names`` and
    ``leader_names`` map names as written to the unit or leader the user picked, once for the file.
    """

    ledger = models.ForeignKey("ledgers.Ledger", on_delete=models.CASCADE, related_name="imports")
    file = models.FileField(upload_to=import_upload_to, max_length=200)
    status = models.CharField(
        _("状态"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    columns = models.JSONField(default=list, blank=True)
    unit_names = models.JSONField(default=dict, blank=True)
    leader_names = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("导入批次")
        verbose_name_plural = _("导入批次")
        indexes = [models.Index(fields=["uploaded_by", "status"], name="import_uploader_status")]


# Outlines --------------------------------------------------------------------------------------


class OutlineDraftQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        # A proposed outline is its author's scratch work: nobody else opens, edits or saves it.
        return models.Q(created_by=user)


class OutlineDraft(VersionedModel):
    """The item tree proposed from a document (``outline.outline``), edited until it is saved into ``ledger``.

    ``tree`` is the list of top-level nodes; each node is a dict with the parser's fields, names as
    written (``title``, ``description``, ``lead_org``, ``co_orgs``, ``lead_leader``, ``deadline`` as
    an ISO date or null, ``standing``, ``cycle``, ``marker``, ``errors``), its ``children``, and an
    ``id`` that stays with it through every edit. A saved draft (``saved_at``) is kept as the record
    of what was written, and can no longer change.
    """

    ledger = models.ForeignKey("ledgers.Ledger", on_delete=models.CASCADE, related_name="outline_drafts")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    source_name = models.CharField(_("来源"), max_length=200)
    title = models.CharField(_("文件标题"), max_length=300, blank=True)
    tree = models.JSONField(default=list, blank=True)
    saved_at = models.DateTimeField(_("保存时间"), null=True, blank=True)
    saved_count = models.PositiveIntegerField(_("生成事项数"), default=0)

    # Scratch work edited node by node: what it becomes is audited when it is saved into the ledger
    # (one IMPORT event), not every rename on the way.
    unaudited_fields = frozenset({"tree"})

    objects = OutlineDraftQuerySet.as_manager()

    class Meta:
        verbose_name = _("事项大纲草稿")
        verbose_name_plural = _("事项大纲草稿")
        indexes = [models.Index(fields=["created_by", "ledger"], name="outline_author_ledger")]

    def __str__(self):
        return self.title or self.source_name


# Background exports --------------------------------------------------------------------------------


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("生成中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ExportKind(models.TextChoices):
    LEDGER = "ledger", _("台账")
    ITEM_LIST = "item_list", _("事项清单")


PENDING_EXPORT_STATUSES = (ExportStatus.QUEUED, ExportStatus.RUNNING)


def export_upload_to(instance, filename):
    return f"exports/{instance.sha256[:2]}/{instance.sha256}"


class ExportJobQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        # A workbook rendered for one person holds what that person saw: nobody else downloads it.
        return models.Q(uploaded_by=user)


class ExportJob(StoredFile):
    """A large workbook rendered by the worker for the user who asked (``uploaded_by``).

    ``ledger`` is the exported ledger (the list's ledger filter, once rendered), ``query`` the item
    list's query string; the worker applies them again with the requester's scope at render time.
    The file fields are filled when it is done; ``expires_at`` is when ``exchange.purge_exports``
    removes the file and the row.
    """

    kind = models.CharField(_("内容"), max_length=10, choices=ExportKind.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    ledger = models.ForeignKey(
        "ledgers.Ledger", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    query = models.TextField(_("筛选条件"), blank=True)
    title = models.CharField(_("标题"), max_length=300)
    file = models.FileField(upload_to=export_upload_to, max_length=200, blank=True)
    row_count = models.PositiveIntegerField(_("行数"), null=True, blank=True)
    error = models.TextField(_("失败原因"), blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("保留至"))

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("后台导出")
        verbose_name_plural = _("后台导出")
        indexes = [
            models.Index(fields=["uploaded_by", "-created_at"], name="export_requester_created"),
            models.Index(fields=["expires_at"], name="export_expires"),
        ]

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_EXPORT_STATUSES
