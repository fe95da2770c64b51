"""Personal data at rest (GB/T 39786 §8.4, PIPL): SM4-encrypted model fields, blind indexes, masking.

Declare the value and, if it must be searchable, its blind index next to it::

    class Appeal(models.Model):
        phone = EncryptedField(_("联系电话"), kind=PersonalData.PHONE, max_length=20, blank=True)
        phone_index = BlindIndexField(source="phone")

The column holds ``crypto.encrypt`` ciphertext (SM4-GCM, the key id inside, so ``luoshi rotate_keys``
can re-encrypt under a new key); the attribute holds the plain value, decrypted on load. A ciphertext
altered in the database raises ``crypto.DecryptionError`` when it is loaded. The column cannot be
compared with a value (every encryption differs): search with ``encrypted_match(Model, "phone", v)``,
an exact match on the keyed digest. Pages and exports show ``mask(value, kind)`` or
``masked_value(obj, "phone")``; the full value only to a role that needs it, audited as
``AuditAction.PERSONAL_DATA``. Audit snapshots keep the masked value (``SnapshotModel``).
The index is computed on save: a ``save(update_fields=…)`` or ``bulk_update`` that writes the value
must name its index too (``rotation.reencrypt`` does).
"""

import re

from django.apps import apps
from django.core import checks, validators
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import models
from django.db.models import Q
from django.db.models.lookups import Exact, IsNull
from django.utils.functional import cached_property

from luoshi.core import crypto

MASK = "****"


class PersonalData(models.TextChoices):
    """What a value is: decides how it is masked and how it is normalised before indexing."""

    PHONE = "phone"
    ID_NUMBER = "id_number"
    ADDRESS = "address"
    TEXT = "text"


def _mask_middle(value: str, keep_start: int, keep_end: int) -> str:
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[len(value) - keep_end :]


def mask_phone(value: str) -> str:
    """13812345678 → 138****5678."""
    return _mask_middle("".join(value.split()), 3, 4)


def mask_id_number(value: str) -> str:
    """110101199001011234 → 110101********1234 (region code and last four kept)."""
    return _mask_middle("".join(value.split()).upper(), 6, 4)


def mask_address(value: str) -> str:
    """北京市东城区景山前街4号 → 北京市东城区****: the district at most, never the street or number."""
    value = value.strip()
    return value[: min(6, len(value) // 2)] + MASK


def mask_text(value: str) -> str:
    return value[:1] + MASK


MASKERS = {
    PersonalData.PHONE: mask_phone,
    PersonalData.ID_NUMBER: mask_id_number,
    PersonalData.ADDRESS: mask_address,
    PersonalData.TEXT: mask_text,
}


def mask(value: str | None, kind: str) -> str:
    """The value as shown to a role without need of it (and as every export writes it); "" stays ""."""
    return MASKERS[kind](value) if value else ""


# Normalised before indexing, so a search matches however the value was typed.
NORMALISERS = {
    PersonalData.PHONE: lambda value: re.sub(r"[^\d+]", "", value),
    PersonalData.ID_NUMBER: lambda value: "".join(value.split()).upper(),
    PersonalData.ADDRESS: lambda value: "".join(value.split()),
    PersonalData.TEXT: lambda value: "".join(value.split()),
}


class EncryptedExact(Exact):
    """Only "is it empty" can be asked of an encrypted column; values are matched by their blind index."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.target.name} is encrypted: search it with encrypted_match() (its blind index)"
            )
        return super().get_prep_lookup()


class EncryptedField(models.TextField):
    """A personal-data value stored as SM4-GCM ciphertext; ``max_length`` limits the plain value."""

    def __init__(self, *args, kind: str = PersonalData.TEXT, **kwargs):
        self.kind = PersonalData(kind)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["kind"] = self.kind.value
        return name, path, args, kwargs

    @cached_property
    def validators(self):
        limit = [validators.MaxLengthValidator(self.max_length)] if self.max_length else []
        return [*super().validators, *limit]

    def from_db_value(self, value, expression, connection):
        return crypto.decrypt(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return crypto.encrypt(value) if value else value

    def get_lookup(self, lookup_name):
        return {"exact": EncryptedExact, "isnull": IsNull}.get(lookup_name)

    def get_transform(self, lookup_name):
        return None

    def formfield(self, **kwargs):
        # One line of text, not the textarea a TextField would get.
        return models.Field.formfield(self, **{"max_length": self.max_length, **kwargs})

    def index_value(self, value: str | None) -> str:
        """The blind index of ``value`` ("" for no value), as stored in the companion field."""
        normalised = NORMALISERS[self.kind](value or "")
        return crypto.blind_index(normalised) if normalised else ""

    def audit_value(self, value: str | None) -> str:
        return mask(value, self.kind)


class BlindIndexField(models.CharField):
    """The keyed SM3 digest of the normalised ``source`` value, kept current on every save."""

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.update(max_length=64, editable=False, blank=True, default="", db_index=True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for fixed in ("max_length", "editable", "blank", "default", "db_index"):
            kwargs.pop(fixed, None)
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        source = model_instance._meta.get_field(self.source)
        value = source.index_value(getattr(model_instance, source.attname))
        setattr(model_instance, self.attname, value)
        return value

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        try:
            source = self.model._meta.get_field(self.source)
        except FieldDoesNotExist:
            source = None
        if not isinstance(source, EncryptedField):
            errors.append(
                checks.Error(
                    f"BlindIndexField source {self.source!r} is not an EncryptedField of {self.model.__name__}",
                    obj=self,
                    id="luoshi.E001",
                )
            )
        return errors


# Finding and searching the encrypted fields ----------------------------------------------------------


def encrypted_fields(model) -> list[EncryptedField]:
    return [field for field in model._meta.concrete_fields if isinstance(field, EncryptedField)]


def index_fields(model) -> list[BlindIndexField]:
    return [field for field in model._meta.concrete_fields if isinstance(field, BlindIndexField)]


def models_with_encrypted_fields() -> list:
    """Every installed concrete model with at least one encrypted column (rotation walks them all)."""
    return [
        model
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed and encrypted_fields(model)
    ]


def encrypted_match(model, field_name: str, value: str) -> Q:
    """A filter for rows whose encrypted ``field_name`` equals ``value`` (after normalising)."""
    field = model._meta.get_field(field_name)
    for index in index_fields(model):
        if index.source == field_name:
            digest = field.index_value(value)
            return Q(**{index.name: digest}) if digest else Q(pk__in=[])
    raise FieldError(f"{model.__name__}.{field_name} has no BlindIndexField to search by")


def masked_value(obj, field_name: str) -> str:
    """``obj.<field_name>`` masked by its kind: what exports and pages show by default."""
    field = obj._meta.get_field(field_name)
    return mask(getattr(obj, field.attname), field.kind)
