"""Reads for the exchange screens, scoped to the user."""

import dataclasses

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.core.uploads import integrity_problem
from luoshi.exchange import drafts
from luoshi.exchange.importing import ImportPlan, plan_import
from luoshi.exchange.models import ExportJob, ExportStatus, ImportBatch, OutlineDraft
from luoshi.exchange.workbook import Table, WorkbookError, read_table
from luoshi.ledgers import selectors as ledger_selectors
from luoshi.ledgers.filters import ItemFilterSet
from luoshi.ledgers.models import FieldTarget, Item


def custom_labels(ledger) -> dict[str, str]:
    """The ledger's custom item fields by label, for the reader to map their columns."""
    return {field.label: field.key for field in ledger.fields.all() if field.target == FieldTarget.ITEM}


def import_batch(user, pk: int) -> ImportBatch:
    """The user's own upload (anyone else's is a 404), with its ledger."""
    return (
        ImportBatch.objects.visible_to(user)
        .select_related("ledger__owner_office")
        .prefetch_related("ledger__fields")
        .get(pk=pk)
    )


def with_columns(table: Table, fields: list[str | None]) -> Table:
    """``table`` with the fields the user chose for its columns (a choice for another layout is ignored)."""
    if len(fields) != len(table.columns):
        return table
    columns = [
        dataclasses.replace(column, field=field) for column, field in zip(table.columns, fields, strict=True)
    ]
    return dataclasses.replace(table, columns=columns)


def batch_table(batch: ImportBatch) -> Table:
    """The stored upload read again, after its SM3 check, with the user's column choices."""
    problem = integrity_problem(batch)
    if problem is not None:
        raise WorkbookError(_("保存的上传文件无法使用（%(problem)s），请重新上传。") % {"problem": problem})
    with batch.file.open("rb") as stored:
        table = read_table(stored, name=batch.original_name, custom_labels=custom_labels(batch.ledger))
    return with_columns(table, batch.columns)


def batch_plan(batch: ImportBatch) -> ImportPlan:
    """The stored file read again with the user's choices: what a confirmation would write."""
    return plan_import(
        batch_table(batch),
        ledger=batch.ledger,
        unit_names={name: int(pk) for name, pk in batch.unit_names.items()},
        leader_names={name: int(pk) for name, pk in batch.leader_names.items()},
    )


# Outlines ------------------------------------------------------------------------------------------


def outline_draft(user, pk: int) -> OutlineDraft:
    """The user's own draft (anyone else's is a 404), with its ledger."""
    return OutlineDraft.objects.visible_to(user).select_related("ledger__owner_office").get(pk=pk)


def open_outline_drafts(user, ledger):
    """The user's drafts for ``ledger`` not yet saved, newest first, to take up again."""
    return (
        OutlineDraft.objects.visible_to(user)
        .filter(ledger=ledger, saved_at__isnull=True)
        .only("pk", "title", "source_name", "updated_at")
        .order_by("-updated_at")
    )


def outline_problems(draft: OutlineDraft) -> dict[int, list[str]]:
    """Each node's problems as a save would find them (the parser's, and names that do not resolve)."""
    return drafts.plan(draft.tree, ledger=draft.ledger).errors


# Background exports --------------------------------------------------------------------------------


def filtered_item_list(user, query: str):
    """(items, ledger) as the item list shows them to ``user`` for ``query`` (its query string), and the
    ledger it is narrowed to; the same rules as ``ItemListView.filtered_items``: an invalid filter
    gives nothing rather than everything."""
    filterset = ItemFilterSet(QueryDict(query) or None, queryset=ledger_selectors.item_list(user), user=user)
    if not filterset.is_bound:
        return filterset.qs, None
    if not filterset.is_valid():
        return Item.objects.none(), None
    return filterset.qs, filterset.form.cleaned_data.get("ledger")


def my_exports(user):
    """The user's background exports still kept, newest first."""
    return (
        ExportJob.objects.visible_to(user)
        .filter(expires_at__gt=timezone.now())
        .order_by("-created_at", "-pk")
    )


def downloadable_export(user, pk: int) -> ExportJob:
    """The user's own finished export, not yet expired (anyone else's is a 404), with its ledger."""
    return (
        ExportJob.objects.visible_to(user)
        .select_related("ledger")
        .get(pk=pk, status=ExportStatus.DONE, expires_at__gt=timezone.now())
    )
