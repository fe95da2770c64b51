"""Who may see which ledgers, items, reports and files: the scoping rules of this module.

Every rule is expressed against the item: a report, a file or an extension request is
visible exactly when its item is.
"""

from django.apps import apps
from django.db.models import Exists, OuterRef, Q

from luoshi.core.scoping import ScopedQuerySet
from luoshi.orgs.models import Role
from luoshi.orgs.selectors import access_profile, subtree_id_list

# ItemStatus.DRAFT; the models module imports this one, so the value is spelled out here.
DRAFT = "draft"


class ItemQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        """A draft is the office's working copy: only the supervisors of the ledger's office see it.

        Everyone else (responsible person, leaders, lead and co-units) sees an item from the moment
        it is assigned; an item refused back to draft leaves their view again.

        Units and ledgers are literal id lists (cached per request): each arm of the OR is then an
        index scan PostgreSQL can combine, where subqueries would make it scan every item.
        """
        profile = access_profile(user)
        if not profile.is_business_user:
            return None
        involved = Q(owner_id=user.pk)
        if profile.has(Role.LEADER):
            involved |= Q(lead_leader_id=user.pk)
            if profile.charge_paths:
                involved |= Q(lead_org_id__in=subtree_id_list(user, profile.charge_paths))
        if profile.unit_paths:
            units = subtree_id_list(user, profile.unit_paths)
            involved |= Q(lead_org_id__in=units) | Q(pk__in=_co_org_item_ids(units))
        condition = involved & ~Q(status=DRAFT)
        if profile.supervisor_org_ids:
            condition |= Q(ledger_id__in=office_ledger_ids(user, profile.supervisor_org_ids))
        return condition


def _co_org_item_ids(units: list[int]) -> list[int]:
    # Not cached: items gain co-units at any time, and this is one indexed query.
    through = apps.get_model("ledgers", "Item").co_orgs.through
    return list(
        through.objects.filter(organisation_id__in=units).values_list("item_id", flat=True).distinct()
    )


def office_ledger_ids(user, office_ids) -> list[int]:
    cache = user.__dict__.setdefault("_office_ledger_ids", {})
    key = tuple(sorted(office_ids))
    if key not in cache:
        ledger = apps.get_model("ledgers", "Ledger")
        cache[key] = list(ledger.objects.filter(owner_office_id__in=key).values_list("id", flat=True))
    return cache[key]


def _visible_items(user):
    return apps.get_model("ledgers", "Item").objects.visible_to(user).values("pk")


class LedgerQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        profile = access_profile(user)
        if not profile.is_business_user:
            return None
        items = apps.get_model("ledgers", "Item").objects.visible_to(user).filter(ledger_id=OuterRef("pk"))
        return Q(owner_office_id__in=profile.supervisor_org_ids) | Exists(items)


class ReportQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        return Q(item_id__in=_visible_items(user))


class EvidenceQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        return Q(report__item_id__in=_visible_items(user))


class ItemAttachmentQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        return Q(item_id__in=_visible_items(user))


class ExtensionRequestQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        return Q(item_id__in=_visible_items(user))
