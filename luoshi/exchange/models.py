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
