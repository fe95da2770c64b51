"""Every read of the supervision module, scoped with ``.visible_to(user)``."""

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from luoshi.ledgers.models import OPEN_STATUSES, Item, ItemKind, ItemStatus, Ledger
from luoshi.orgs.models import Organisation, Role, User
from luoshi.orgs.selectors import access_profile, subtree_id_list
from luoshi.supervision.models import (
    Accountability,
    Finding,
    FindingPhoto,
    Inspection,
    Instruction,
    InstructionRecipient,
    Interview,
    OrderEvent,
    OrderEvidence,
    SupervisionOrder,
    Urge,
)

# Urging and escalation ---------------------------------------------------------------------------------


def urge_list(user):
    """Urges the user may see (those of items they see), newest first, ready for the urge list."""
    return Urge.objects.visible_to(user).select_related(
        "item", "item__ledger", "organisation", "urged_by", "recipient"
    )


def item_urges(item):
    """One item's urges, newest first (the item was already checked as visible)."""
    return item.urges.select_related("urged_by", "organisation", "recipient")


def _urges_between(user, *, ledger=None, since=None, until=None):
    urges = Urge.objects.visible_to(user)
    if ledger is not None:
        urges = urges.filter(item__ledger=ledger)
    if since is not None:
        urges = urges.filter(created_at__date__gte=since)
    if until is not None:
        urges = urges.filter(created_at__date__lte=until)
    return urges


def urge_counts_by_item(user, *, ledger=None, since=None, until=None) -> dict[int, int]:
    """Item id → how often it was urged in the window."""
    rows = (
        _urges_between(user, ledger=ledger, since=since, until=until)
        .values("item_id")
        .annotate(n=Count("id"))
    )
    return {row["item_id"]: row["n"] for row in rows.order_by()}


def urge_counts_by_unit(user, *, ledger=None, since=None, until=None) -> list[dict]:
    """Per urged unit: its id, name and how often it was urged in the window, most urged first."""
    return list(urge_counts_by_unit_of(_urges_between(user, ledger=ledger, since=since, until=until)))


def urge_counts_by_unit_of(urges):
    """The same count over an already filtered list of urges (the urge list's sidebar)."""
    return (
        urges.order_by()
        .values("organisation_id", "organisation__name")
        .annotate(count=Count("id"))
        .order_by("-count", "organisation__name")
    )


# Supervision orders and notices ---------------------------------------------------------------------


def order_list(user):
    """The orders ``user`` sees, for the list: unit and office joined, nothing per row."""
    return SupervisionOrder.objects.visible_to(user).select_related("organisation", "office")


def order_for_detail(user, pk: int) -> SupervisionOrder:
    """One visible order with its items, leaders, history and evidence (``DoesNotExist`` otherwise)."""
    return (
        SupervisionOrder.objects.visible_to(user)
        .select_related("office", "organisation", "issued_by", "signed_by", "replied_by", "closed_by")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=Item.objects.select_related("lead_org", "lead_leader").order_by("pk"),
            ),
            "copy_to",
            Prefetch("events", queryset=OrderEvent.objects.select_related("actor")),
            Prefetch("evidence", queryset=OrderEvidence.objects.select_related("uploaded_by").order_by("pk")),
        )
        .get(pk=pk)
    )


def order_evidence_for_download(user, pk: int) -> OrderEvidence:
    """An evidence file of an order ``user`` sees (``DoesNotExist`` otherwise)."""
    return OrderEvidence.objects.select_related("order").get(
        pk=pk, order__in=SupervisionOrder.objects.visible_to(user).values("pk")
    )


def item_orders(item, user) -> list[SupervisionOrder]:
    """The orders about ``item`` that ``user`` sees, newest first: one query."""
    return list(SupervisionOrder.objects.visible_to(user).filter(items=item).select_related("organisation"))


def issuable_items(user):
    """Items an order may be issued about: those of the ledgers of the offices ``user`` supervises."""
    return Item.objects.filter(ledger__owner_office_id__in=access_profile(user).supervisor_org_ids)


# Interviews and accountability ------------------------------------------------------------------------


def interview_list(user):
    return Interview.objects.visible_to(user).select_related("office", "organisation", "interviewer")


def interview_for_detail(user, pk: int) -> Interview:
    return (
        interview_list(user)
        .select_related("created_by")
        .prefetch_related(
            Prefetch("items", queryset=Item.objects.order_by("pk")),
            Prefetch("orders", queryset=SupervisionOrder.objects.order_by("pk")),
        )
        .get(pk=pk)
    )


def accountability_list(user):
    return Accountability.objects.visible_to(user).select_related("office", "organisation")


def accountability_for_detail(user, pk: int) -> Accountability:
    return (
        accountability_list(user)
        .select_related("created_by", "interview__organisation")
        .prefetch_related(
            Prefetch("items", queryset=Item.objects.order_by("pk")),
            Prefetch("orders", queryset=SupervisionOrder.objects.order_by("pk")),
        )
        .get(pk=pk)
    )


def editable_interviews(user):
    """Interviews ``user`` may edit: their own offices' (the audit admin reads, never writes)."""
    return Interview.objects.filter(office_id__in=access_profile(user).supervisor_org_ids)


def editable_accountabilities(user):
    return Accountability.objects.filter(office_id__in=access_profile(user).supervisor_org_ids)


# Inspections and rectification ------------------------------------------------------------------------


def _problem_counts(prefix: str = "", *, today: dt.date) -> dict:
    """Problems, closed (销号), verified and overdue among findings (``prefix`` leads from the row to them)."""
    problem = f"{prefix}problem"
    assigned = Q(**{f"{problem}__isnull": False})
    return {
        "problems": Count(f"{prefix}pk" if prefix else "pk", filter=assigned, distinct=bool(prefix)),
        "closed": Count(
            f"{prefix}pk" if prefix else "pk",
            filter=Q(**{f"{problem}__status": ItemStatus.CLOSED}),
            distinct=bool(prefix),
        ),
        "verified": Count(
            f"{prefix}pk" if prefix else "pk",
            filter=assigned & Q(**{f"{prefix}verified_at__isnull": False}),
            distinct=bool(prefix),
        ),
        "overdue": Count(
            f"{prefix}pk" if prefix else "pk",
            filter=Q(**{f"{problem}__status__in": OPEN_STATUSES, f"{problem}__deadline__lt": today}),
            distinct=bool(prefix),
        ),
    }


def closure_rate(closed: int, problems: int) -> int | None:
    """Closed problems as a whole percentage of all assigned ones; ``None`` while there are none."""
    return round(closed * 100 / problems) if problems else None


def inspection_list(user, *, today: dt.date | None = None):
    """Visible inspections with their findings count and problem counts, annotated in the one query."""
    today = today or timezone.localdate()
    return (
        Inspection.objects.visible_to(user)
        .select_related("office")
        .annotate(
            findings_count=Count("findings", distinct=True), **_problem_counts("findings__", today=today)
        )
    )


def inspection_for_detail(user, pk: int) -> Inspection:
    findings = (
        Finding.objects.select_related("organisation", "problem", "verified_by")
        .prefetch_related(
            Prefetch("photos", queryset=FindingPhoto.objects.order_by("pk")),
            Prefetch("problem__children", queryset=Item.objects.order_by("sort_order", "pk")),
        )
        .order_by("pk")
    )
    return (
        inspection_list(user)
        .select_related("created_by", "rectification_ledger")
        .prefetch_related(
            Prefetch("team", queryset=User.objects.order_by("pk")),
            Prefetch("targets", queryset=Organisation.objects.order_by("path")),
            Prefetch("findings", queryset=findings),
        )
        .get(pk=pk)
    )


def editable_inspections(user):
    """Inspections ``user`` may plan or edit, mark done and assign problems of: their offices'."""
    return Inspection.objects.filter(office_id__in=access_profile(user).supervisor_org_ids)


def finding_for_action(user, pk: int) -> Finding:
    return (
        Finding.objects.visible_to(user)
        .select_related("inspection__office", "inspection__rectification_ledger", "organisation", "problem")
        .get(pk=pk)
    )


def finding_photo_for_download(user, pk: int) -> FindingPhoto:
    return FindingPhoto.objects.select_related("finding__inspection").get(
        pk=pk, finding__in=Finding.objects.visible_to(user)
    )


def rectification_ledgers(user):
    """Ledgers whose items are problems, of the offices ``user`` supervises for."""
    return Ledger.objects.filter(
        owner_office_id__in=access_profile(user).supervisor_org_ids,
        item_kind=ItemKind.PROBLEM,
        is_archived=False,
    ).order_by("-year", "name")


CLOSURE_GROUPS = {
    "inspection": ("inspection_id", "inspection__title"),
    "unit": ("organisation_id", "organisation__name"),
    "ledger": ("problem__ledger_id", "problem__ledger__name"),
}


def closure_rates(user, by: str, *, today: dt.date | None = None, inspection_ids=None) -> list[dict]:
    """Per inspection, unit or rectification ledger (``by``), over the findings ``user`` may see: problems,
    closed, verified, overdue and the closure rate; one aggregate query."""
    key, label = CLOSURE_GROUPS[by]
    findings = Finding.objects.visible_to(user).filter(problem__isnull=False)
    if inspection_ids is not None:
        findings = findings.filter(inspection_id__in=inspection_ids)
    rows = (
        findings.values(key, label)
        .annotate(**_problem_counts(today=today or timezone.localdate()))
        .order_by(label, key)
    )
    return [
        {
            "id": row[key],
            "label": row[label],
            "problems": row["problems"],
            "closed": row["closed"],
            "verified": row["verified"],
            "overdue": row["overdue"],
            "rate": closure_rate(row["closed"], row["problems"]),
        }
        for row in rows
    ]


# Leaders' instructions ----------------------------------------------------------------------------------


def may_write_instruction(user, item) -> bool:
    """写批示 is shown to leaders, on items they see (the page showing the item has loaded it scoped)."""
    return access_profile(user).has(Role.LEADER)


def _with_progress(instructions):
    # One join (the recipients): each count is of recipient rows, never repeated by another join.
    return instructions.annotate(
        recipient_count=Count("recipients"),
        acknowledged_count=Count("recipients", filter=Q(recipients__acknowledged_at__isnull=False)),
        answered_count=Count("recipients", filter=Q(recipients__answered_at__isnull=False)),
    )


def instructions_written(user):
    """我的批示: what ``user`` (a leader) wrote, with how many recipients have acknowledged and answered."""
    return _with_progress(
        Instruction.objects.visible_to(user).filter(leader=user).select_related("item__lead_org")
    )


def my_instruction_rows(user):
    """Recipient rows addressed to ``user`` in person or to a unit (with sub-units) they are liaison or handler of."""
    profile = access_profile(user)
    mine = Q(user_id=user.pk)
    if profile.unit_paths:
        mine |= Q(organisation_id__in=subtree_id_list(user, profile.unit_paths))
    return InstructionRecipient.objects.filter(mine)


def instructions_received(user):
    """批示落实: instructions addressed to ``user`` or their units; ``awaiting_me`` while any of theirs is unread."""
    rows = my_instruction_rows(user)
    return (
        Instruction.objects.visible_to(user)
        .filter(pk__in=rows.values("instruction_id"))
        .select_related("item__lead_org", "leader")
        .annotate(
            awaiting_me=Exists(rows.filter(instruction_id=OuterRef("pk"), acknowledged_at__isnull=True))
        )
    )


def instruction_for_detail(user, pk: int) -> Instruction:
    recipients = InstructionRecipient.objects.select_related(
        "organisation", "user", "acknowledged_by", "answered_by"
    ).order_by("organisation_id", "user_id")
    return (
        Instruction.objects.visible_to(user)
        .select_related("item__lead_org", "item__ledger", "leader", "report__organisation", "order")
        .prefetch_related(Prefetch("recipients", queryset=recipients))
        .get(pk=pk)
    )


def instructions_to_answer(item, organisation) -> list[Instruction]:
    """本期需落实的批示: open instructions on ``item`` that ``organisation``'s next report answers.

    The same rule as ``services.answer_instructions``: the unit's own rows, and the lead unit's report
    also answers the people addressed (the owner it is responsible with).
    """
    if organisation is None:
        return []
    addressed = Q(organisation_id=organisation.pk)
    if organisation.pk == item.lead_org_id:
        addressed |= Q(user__isnull=False)
    rows = InstructionRecipient.objects.filter(addressed, answered_at__isnull=True)
    return list(
        Instruction.objects.filter(item_id=item.pk, is_open=True, pk__in=rows.values("instruction_id"))
        .select_related("leader")
        .order_by("-is_urgent", "created_at")
    )
