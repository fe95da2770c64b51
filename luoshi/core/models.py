from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from luoshi.core.exceptions import StaleObjectError
from luoshi.core.fields import EncryptedField


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class StoredFile(TimeStampedModel):
    """A checked upload (``luoshi.core.uploads.check_upload``) kept under a server-made name.

    Subclasses declare ``file`` with an ``upload_to`` built from ``sha256`` only: the uploaded name
    is data (``original_name``), never part of a path. ``luoshi.core.uploads.stored_file_response``
    serves any of them.
    """

    original_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=100)
    size = models.PositiveBigIntegerField(_("大小"))
    sha256 = models.CharField(max_length=64)
    # SM3 (GB/T 39786 §8.4): checked every time the file is served and by ``luoshi verify_files``.
    sm3 = models.CharField(max_length=64, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True

    def __str__(self):
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


def _snapshot_value(field, value):
    # The audit trail is a table like any other: personal data goes into it masked, never in clear.
    if isinstance(field, EncryptedField):
        return field.audit_value(value)
    return value if isinstance(value, int | float | bool | str | None) else str(value)


class SnapshotModel(models.Model):
    """Remembers the field values it was loaded with, so a change can be logged as before/after.

    ``unaudited_fields`` are left out of the snapshots: a change to them alone is not logged.
    """

    unaudited_fields: frozenset[str] = frozenset()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_values = dict(zip(field_names, values, strict=True))
        return instance

    def snapshot(self) -> dict:
        """The concrete field values as JSON-friendly data (personal data masked)."""
        return {
            field.attname: _snapshot_value(field, field.value_from_object(self))
            for field in self._meta.concrete_fields
            if field.attname not in self.unaudited_fields
        }

    def loaded_snapshot(self) -> dict | None:
        loaded = getattr(self, "_loaded_values", None)
        if loaded is None:
            return None
        return {
            field.attname: _snapshot_value(field, loaded[field.attname])
            for field in self._meta.concrete_fields
            if field.attname in loaded and field.attname not in self.unaudited_fields
        }


class VersionedModel(TimeStampedModel, SnapshotModel):
    """Optimistic locking: every update must name the version it was based on.

    A save whose ``version`` is no longer the stored one raises ``StaleObjectError``
    instead of overwriting the other writer's change.
    """

    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._state.adding:
            return super().save(*args, **kwargs)
        with transaction.atomic():
            bumped = (
                type(self)
                ._base_manager.filter(pk=self.pk, version=self.version)
                .update(version=F("version") + 1)
            )
            if not bumped:
                raise StaleObjectError(self)
            self.version += 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version", "updated_at"}
            return super().save(*args, **kwargs)


class CalendarDay(models.Model):
    """An official holiday or make-up working day that overrides the built-in calendar.

    The State Council publishes next year's holidays each November; until the
    ``chinesecalendar`` package ships them, the system admin enters them here.
    """

    date = models.DateField(_("日期"), unique=True)
    is_working_day = models.BooleanField(_("是否工作日"))
    name = models.CharField(_("名称"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")
        ordering = ["date"]

    def __str__(self):
        kind = _("调休上班") if self.is_working_day else _("放假")
        return f"{self.date:%Y-%m-%d} {self.name} {kind}"


class IdempotencyKey(models.Model):
    """A write request that was carried out once, and the answer it got, kept to answer a repeat.

    Forms carry a one-time ``submission_token`` (``{% submission_token %}``); API clients will send an
    ``Idempotency-Key`` header. Either is claimed in the same transaction as the write it guards
    (``luoshi.core.idempotency``), so a double click, a resend or a second thread finds it taken.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    path = models.CharField(max_length=500)
    status_code = models.PositiveSmallIntegerField(null=True)
    location = models.CharField(max_length=2000, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("提交记录")
        verbose_name_plural = _("提交记录")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")]

    def __str__(self):
        return f"{self.key} {self.path}"


class Heartbeat(models.Model):
    """When a background job last ran; ``/healthz`` reports a job whose beat is too old as stale."""

    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()

    class Meta:
        verbose_name = _("心跳")
        verbose_name_plural = _("心跳")

    def __str__(self):
        return f"{self.name} {self.beat_at:%Y-%m-%d %H:%M:%S}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("运行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class JobRun(models.Model):
    """One run of a periodic job (``luoshi.core.jobs``): the slot it ran for, and how it ended.

    A scheduled run is claimed by inserting this row: the unique (name, slot) lets one worker
    claim a slot however many try. Runs by hand (``manual``) are recorded beside them, unconstrained.
    """

    name = models.CharField(max_length=100)
    slot = models.DateTimeField()
    manual = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("定时任务记录")
        verbose_name_plural = _("定时任务记录")
        ordering = ["-slot", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "slot"], condition=Q(manual=False), name="job_run_one_per_slot"
            )
        ]
        indexes = [models.Index(fields=["name", "-slot"], name="job_run_name_slot")]

    def __str__(self):
        return f"{self.name} {self.slot:%Y-%m-%d %H:%M} {self.status}"
