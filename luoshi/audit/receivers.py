"""Change logging as a mechanism: every save and delete of a snapshot-capable model is recorded.

A role held in a unit (``Membership``) or a leader's charge (``LeaderCharge``) is a permission: its
grant, change and revocation are recorded as ``PERMISSION`` on the person concerned (instead of a
create/delete of the row), with what they held before and after, whichever code path made it.
"""

from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.core.models import SnapshotModel

SECRET_FIELDS = {"password"}
# Model label → the field naming the person whose permissions the row is.
PERMISSION_MODELS = {"orgs.Membership": "user", "orgs.LeaderCharge": "leader"}


def _clean(data):
    if data is None:
        return None
    return {key: value for key, value in data.items() if key not in SECRET_FIELDS}


def _changed(before, after):
    if before is None:
        return None, after
    keys = {key for key in after if before.get(key) != after.get(key)} - {"updated_at", "version"}
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _permission(instance, before, after):
    """A permission row's change, told as the person's grant: what it is, in which unit."""
    person = getattr(instance, PERMISSION_MODELS[instance._meta.label])
    described = {"kind": instance._meta.label, "id": instance.pk, "description": str(instance)}
    record(
        action=AuditAction.PERMISSION,
        obj=person,
        before=None if before is None else {**described, **before},
        after=None if after is None else {**described, **after},
    )


# What Django's sign-in writes on the account (``update_last_login``).
SIGN_IN_FIELDS = frozenset({"last_login"})


@receiver(post_save)
def log_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw or not isinstance(instance, SnapshotModel):
        return
    if update_fields is not None and set(update_fields) <= SIGN_IN_FIELDS:
        return  # the sign-in stamping the account: the LOGIN event already says it, under the right name
    after = _clean(instance.snapshot())
    before = None if created else _clean(instance.loaded_snapshot())
    before, after = _changed(before, after)
    if not created and not after:
        return
    if instance._meta.label in PERMISSION_MODELS:
        _permission(instance, before, after)
    else:
        record(
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            obj=instance,
            before=before,
            after=after,
        )
    instance._loaded_values = {
        f.attname: f.value_from_object(instance) for f in instance._meta.concrete_fields
    }


@receiver(post_delete)
def log_delete(sender, instance, **kwargs):
    if not isinstance(instance, SnapshotModel):
        return
    if instance._meta.label in PERMISSION_MODELS:
        _permission(instance, _clean(instance.snapshot()), None)
    else:
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
