"""Reads of the audit trail, for the audit admin only."""

from django.apps import apps

from luoshi.audit.models import AuditEvent


def event_list():
    # Everything shown is stored on the event itself (username, object repr): no joins, no per-row queries.
    return AuditEvent.objects.order_by("-created_at", "-id")


def object_type_choices() -> list[tuple[str, str]]:
    """The project's models as (label, verbose name): the values ``AuditEvent.object_type`` takes.

    Built from the app registry, not a DISTINCT over millions of audit rows.
    """
    choices = [
        (model._meta.label, f"{model._meta.verbose_name}（{model._meta.label}）")
        for model in apps.get_models()
        if model.__module__.startswith("luoshi.") and model is not AuditEvent
    ]
    return sorted(choices)


def object_type_labels() -> dict[str, str]:
    return {model._meta.label: str(model._meta.verbose_name) for model in apps.get_models()}
