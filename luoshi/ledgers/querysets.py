"""Who may see which ledgers, items, reports and files: the scoping rules of this module.

Every rule is expressed against the item: a report, a file or an extension request is
visible exactly when its item is.
"""

from django.apps import apps
from django.db.models import Exists, OuterRef, Q

from luoshi.core.scoping import ScopedQuerySet
from luoshi.orgs.models import Organisation, Role
from luoshi.orgs.selectors import access_profile

# ItemStatus.DRAFT; the models module imports this one, so the value is spelled out here.
DRAFT = "draft"


def _subtree_ids(paths):
    return Organisation.objects.subtree_of(paths).values("id")


class ItemQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        """A draft is the office's working copy: only the supervisors of the ledger's office see it.

        Everyone else (responsible person, leaders, lead and co-units) sees an item from the moment
        it is assigned; an item refused back to draft leaves their view again.
        """
        profile = access_profile(user)
        if not profile.is_business_user:
            return None
        involved = Q(owner_id=user.pk)
        if profile.has(Role.LEADER):
            involved |= Q(lead_leader_id=user.pk)
            if profile.charge_paths:
                involved |= Q(lead_org_id__in=_subtree_ids(profile.charge_paths))
        if profile.unit_paths:
            units = _subtree_ids(profile.unit_paths)
            co_org_link = self.model.co_orgs.through.objects.filter(
                item_id=OuterRef("pk"), organisation_id__in=units
            )
            involved |= Q(lead_org_id__in=units) | Exists(co_org_link)
        condition = involved & ~Q(status=DRAFT)
        if profile.supervisor_org_ids:
            condition |= Q(ledger__owner_office_id__in=profile.supervisor_org_ids)
        return condition


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


class ExtensionRequestQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        return Q(item_id__in=_visible_items(user))
