"""Who may see which supervision records.

Urges, escalations and instructions follow their item. Orders are seen by the issuing office, the unit
they are issued to and the leaders they are copied to or who oversee the unit. Interviews and
accountability records are the office's and the audit admin's alone. Inspections are the office's and
their team's: an unannounced inspection (明察暗访) is never shown to the units it visits.
"""

from django.apps import apps
from django.db.models import Q

from luoshi.core.scoping import ScopedQuerySet
from luoshi.orgs.models import Role
from luoshi.orgs.selectors import access_profile, subtree_id_list


def _visible_items(user):
    return apps.get_model("ledgers", "Item").objects.visible_to(user).values("pk")


class ItemFollowingQuerySet(ScopedQuerySet):
    """Visible exactly when the item is."""

    def scope_filter(self, user):
        return Q(item_id__in=_visible_items(user))


class SupervisionOrderQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        profile = access_profile(user)
        if not profile.is_business_user:
            return None
        condition = Q(office_id__in=profile.supervisor_org_ids)
        if profile.unit_paths:
            condition |= Q(organisation_id__in=subtree_id_list(user, profile.unit_paths))
        if profile.has(Role.LEADER):
            copied = apps.get_model("supervision", "SupervisionOrder").copy_to.through.objects.filter(
                user=user
            )
            condition |= Q(pk__in=copied.values("supervisionorder_id"))
            if profile.charge_paths:
                condition |= Q(organisation_id__in=subtree_id_list(user, profile.charge_paths))
        return condition


class OfficeOnlyQuerySet(ScopedQuerySet):
    """Interviews and accountability: the issuing office's supervisors, and the audit admin (to read)."""

    def scope_filter(self, user):
        profile = access_profile(user)
        if profile.has(Role.AUDIT_ADMIN):
            return Q()
        if profile.supervisor_org_ids:
            return Q(office_id__in=profile.supervisor_org_ids)
        return None


class InspectionQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        profile = access_profile(user)
        if not profile.is_business_user:
            return None
        inspection = apps.get_model("supervision", "Inspection")
        # Subqueries, not joins: an OR across a many-to-many join would repeat rows.
        on_team = inspection.team.through.objects.filter(user=user).values("inspection_id")
        condition = Q(office_id__in=profile.supervisor_org_ids) | Q(pk__in=on_team)
        if profile.has(Role.LEADER) and profile.charge_paths:
            units = subtree_id_list(user, profile.charge_paths)
            targeted = inspection.targets.through.objects.filter(organisation_id__in=units)
            condition |= Q(pk__in=targeted.values("inspection_id"))
        return condition


class FindingQuerySet(ScopedQuerySet):
    """The inspection's readers, and the responsible unit once the finding is its problem to rectify."""

    def scope_filter(self, user):
        inspections = apps.get_model("supervision", "Inspection").objects.visible_to(user).values("pk")
        return Q(inspection_id__in=inspections) | Q(problem_id__in=_visible_items(user))
