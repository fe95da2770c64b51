"""Who may see which ledgers, items, reports and files: the scoping rules of this module.

Every rule is expressed against the item: a report, a file or an extension request is
visible exactly when its item is.
"""

from django.apps import apps
from django.db.models import Exists, OuterRef, Q

from luoshi.core.scoping import ScopedQuerySet
from luoshi.orgs.models import Organisation, Role
from luoshi.orgs.selectors import access_profile


def _subtree_ids(paths):
    return Organisation.objects.subtree_of(paths).values("id")


class ItemQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        profile = access_profile(user)
        if not profile.is_business_user:
            return None
        condition = Q(owner_id=user.pk)
        if profile.supervisor_org_ids:
            condition |= Q(ledger__owner_office_id__in=profile.supervisor_org_ids)
        if profile.has(Role.LEADER):
            condition |= Q(lead_leader_id=user.pk)
            if profile.charge_paths:
                condition |= Q(lead_org_id__in=_subtree_ids(profile.charge_paths))
        if profile.unit_paths:
            units = _subtree_ids(profile.unit_paths)
            co_org_link = self.model.co_orgs.through.objects.filter(
                item_id=OuterRef("pk"), organisation_id__in=units
            )
            condition |= Q(lead_org_id__in=units) | Exists(co_org_link)
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
