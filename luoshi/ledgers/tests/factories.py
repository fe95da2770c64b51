"""Factories for ledgers, custom fields and items, plus a helper to move items along the workflow.

Items are created through ``luoshi.ledgers.services.create_item`` (validation, original and
assessed deadlines, the initial warning and the "created" event all happen as in production),
so the factory needs a supervisor of the ledger's office: pass ``user=...`` or one is made.
"""

import datetime as dt

import factory
from django.utils import timezone

from luoshi.ledgers import services
from luoshi.ledgers.models import (
    FieldTarget,
    FieldType,
    Item,
    ItemKind,
    ItemStatus,
    Ledger,
    LedgerField,
    ReportCycle,
)
from luoshi.orgs.models import Role
from luoshi.orgs.tests.factories import OrganisationFactory, UserFactory, grant


class LedgerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ledger

    name = factory.Sequence(lambda n: f"测试台账{n}")
    year = 2026
    owner_office = factory.SubFactory(OrganisationFactory, name=factory.Sequence(lambda n: f"督查室{n}"))
    item_kind = ItemKind.TASK
    default_report_cycle = ReportCycle.MONTHLY


class LedgerFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LedgerField

    ledger = factory.SubFactory(LedgerFactory)
    target = FieldTarget.ITEM
    key = factory.Sequence(lambda n: f"field{n}")
    label = factory.Sequence(lambda n: f"字段{n}")
    field_type = FieldType.TEXT


def ledger_supervisor(ledger: Ledger):
    """A supervisor of ``ledger``'s owner office (an existing one if there is one)."""
    from luoshi.orgs.models import User

    existing = User.objects.filter(
        memberships__organisation=ledger.owner_office, memberships__role=Role.SUPERVISOR
    ).first()
    if existing is not None:
        return existing
    user = UserFactory()
    grant(user, ledger.owner_office, Role.SUPERVISOR)
    return user


class ItemFactory(factory.django.DjangoModelFactory):
    """``ItemFactory(ledger=..., lead_org=..., user=supervisor, co_orgs=[...], extra={...})``.

    Defaults: starts 30 days ago, deadline in 60 days, status draft.
    """

    class Meta:
        model = Item

    ledger = factory.SubFactory(LedgerFactory)
    title = factory.Sequence(lambda n: f"测试事项{n}")
    lead_org = factory.SubFactory(OrganisationFactory)
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    deadline = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=60))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        user = kwargs.pop("user", None) or ledger_supervisor(kwargs["ledger"])
        return services.create_item(user=user, **kwargs)


def advance(item: Item, status: str, *, supervisor, liaison) -> Item:
    """Move a draft ``item`` along the normal path to ``status`` with the right people.

    ``supervisor`` must supervise the item's ledger, ``liaison`` be the lead unit's liaison.
    Supports assigned, accepted, in_progress, completion_requested, completed, closed, suspended.
    """
    steps = {
        ItemStatus.DRAFT: [],
        ItemStatus.ASSIGNED: [("assign", supervisor, "")],
        ItemStatus.ACCEPTED: [("accept", liaison, "")],
        ItemStatus.IN_PROGRESS: [("start", liaison, "")],
        ItemStatus.COMPLETION_REQUESTED: [("request_completion", liaison, "已全部完成")],
        ItemStatus.COMPLETED: [("complete", supervisor, "")],
        ItemStatus.CLOSED: [("close", supervisor, "")],
    }
    order = list(steps)
    path = []
    target = status
    if status == ItemStatus.SUSPENDED:
        target = ItemStatus.IN_PROGRESS
    for state in order[1 : order.index(target) + 1]:
        path.extend(steps[state])
    if status == ItemStatus.SUSPENDED:
        path.append(("suspend", supervisor, "暂缓实施"))
    for action, user, comment in path:
        item = services.transition_item(item=item, action=action, user=user, comment=comment)
    return Item.objects.get(pk=item.pk)
