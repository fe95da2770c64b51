"""Change logging as a mechanism: every save and delete of a snapshot-capable model is recorded."""

from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.core.models import SnapshotModel

SECRET_FIELDS = {"password"}


def _clean(data):
    if data is None:
        return None
    return {key: value for key, value in data.items() if key not in SECRET_FIELDS}


def _changed(before, after):
    if before is None:
        return None, after
    keys = {key for key in after if before.get(key) != after.get(key)} - {"updated_at", "version"}
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


@receiver(post_save)
def log_save(sender, instance, created, raw=False, **kwargs):
    if raw or not isinstance(instance, SnapshotModel):
        return
    after = _clean(instance.snapshot())
    before = None if created else _clean(instance.loaded_snapshot())
    before, after = _changed(before, after)
    if not created and not after:
        return
    record(
        action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=instance, before=before, after=after
    )
    instance._loaded_values = {
        f.attname: f.value_from_object(instance) for f in instance._meta.concrete_fields
    }


@receiver(post_delete)
def log_delete(sender, instance, **kwargs):
    if isinstance(instance, SnapshotModel):
        record(action=AuditAction.DELETE, obj=instance, before=_clean(instance.snapshot()))


@receiver(user_logged_in)
def log_login(sender, request, user, **kwargs):
    record(action=AuditAction.LOGIN, user=user, obj=user)


@receiver(user_logged_out)
def log_logout(sender, request, user, **kwargs):
    if user is not None:
        record(action=AuditAction.LOGOUT, user=user, obj=user)


@receiver(user_login_failed)
def log_login_failed(sender, credentials, request=None, **kwargs):
    record(
        action=AuditAction.LOGIN_FAILED, username=str(credentials.get("username", ""))[:150], success=False
    )
