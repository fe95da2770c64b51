"""Key rotation for the encrypted columns (``luoshi rotate_keys``; procedure in docs/operations.md).

A new SM4 data key is added to the key file and made active; every encrypted column of every model
(found by field type) is then re-encrypted under it in batches, each batch its own transaction, so
a run that stops half-way is finished by running it again. Old keys stay in the file (old rows and
backups still need them) until ``retire_old_data_keys`` removes those no row uses any more.
"""

import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from luoshi.core import crypto
from luoshi.core.fields import encrypted_fields, index_fields, models_with_encrypted_fields


class RotationError(Exception):
    pass


def _key_path() -> Path:
    return Path(settings.KEY_FILE)


def _read() -> dict:
    crypto.keyring()  # creates the development key file if there is none yet
    return json.loads(_key_path().read_text())


def _replace(content: dict) -> None:
    """Write the key file whole, then swap it in: a reader sees the old file or the new, never half."""
    path = _key_path()
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    crypto.write_key_file(staging, content, exclusive=True)
    os.replace(staging, path)
    crypto.reload_keys()


def add_data_key() -> str:
    """A new SM4 key, now the active one; returns its id (d1 → d2 …)."""
    content = _read()
    numbers = [int(key_id[1:]) for key_id in content["data_keys"] if key_id[1:].isdigit()]
    key_id = f"d{max(numbers, default=0) + 1}"
    content["data_keys"][key_id] = crypto.new_key_file_content()["data_keys"]["d1"]
    content["active_data_key"] = key_id
    _replace(content)
    return key_id


def replace_index_key() -> None:
    """A new blind-index key. Searches miss the rows not yet re-indexed until ``reencrypt`` has run."""
    content = _read()
    content["index_key"] = crypto.new_key_file_content()["index_key"]
    _replace(content)


def _raw(field) -> str:
    return f"_raw_{field.attname}"


def _raw_columns(model) -> dict:
    # The stored ciphertext itself: cast to a plain text type, so the field does not decrypt it.
    return {_raw(field): Cast(field.attname, TextField()) for field in encrypted_fields(model)}


def _under_other_keys(model, active: str) -> Q:
    condition = Q(pk__in=[])
    for field in encrypted_fields(model):
        condition |= Q(**{f"{_raw(field)}__startswith": f"{crypto.CIPHERTEXT_PREFIX}:"}) & ~Q(
            **{f"{_raw(field)}__startswith": f"{crypto.CIPHERTEXT_PREFIX}:{active}:"}
        )
    return condition


def rows_under_other_keys() -> dict[str, int]:
    """Per model, how many rows still hold a value encrypted under a key other than the active one."""
    active = crypto.keyring().active_data_key
    counts = {}
    for model in models_with_encrypted_fields():
        stale = model._base_manager.annotate(**_raw_columns(model)).filter(_under_other_keys(model, active))
        counts[model._meta.label] = stale.count()
    return counts


def reencrypt(*, batch_size: int = 500, reindex: bool = False, log=None) -> int:
    """Re-encrypt every value not under the active key (every row if ``reindex``) and recompute its
    blind indexes; returns the number of rows written."""
    active = crypto.keyring().active_data_key
    written = 0
    for model in models_with_encrypted_fields():
        fields = encrypted_fields(model)
        indexes = index_fields(model)
        rows = model._base_manager.annotate(**_raw_columns(model))
        if not reindex:
            rows = rows.filter(_under_other_keys(model, active))
        rows = rows.only("pk", *(f.attname for f in fields)).order_by("pk")
        last_pk, done = None, 0
        while True:
            with transaction.atomic():
                page = rows if last_pk is None else rows.filter(pk__gt=last_pk)
                batch = list(page.select_for_update()[:batch_size])
                if not batch:
                    break
                for obj in batch:
                    for index in indexes:
                        source = model._meta.get_field(index.source)
                        setattr(obj, index.attname, source.index_value(getattr(obj, source.attname)))
                # bulk_update writes the loaded (decrypted) values back: encrypted anew, active key.
                model._base_manager.bulk_update(batch, [f.name for f in (*fields, *indexes)])
            last_pk, done = batch[-1].pk, done + len(batch)
        written += done
        if log:
            log(f"{model._meta.label}: {done}")
    return written


def retire_old_data_keys() -> list[str]:
    """Remove every data key but the active one from the key file, once no row needs them."""
    remaining = {label: n for label, n in rows_under_other_keys().items() if n}
    if remaining:
        raise RotationError(f"rows still under an old key, run rotate_keys --resume first: {remaining}")
    content = _read()
    retired = sorted(set(content["data_keys"]) - {content["active_data_key"]})
    content["data_keys"] = {content["active_data_key"]: content["data_keys"][content["active_data_key"]]}
    _replace(content)
    return retired
