"""Who may see which assessment records.

The office that runs a scheme sees all of it. Anyone else sees a scheme that assesses one of "their"
units (``assessed_unit_ids``): a liaison or handler the units they work in and those below; a leader
also the units in their charge and those below. A period shows to them once it is publicised; a
unit's breakdown and objections are for the office and for those whose unit it is.
"""

from django.db.models import Q

from luoshi.core.scoping import ScopedQuerySet
from luoshi.orgs.models import Role
from luoshi.orgs.selectors import access_profile, subtree_id_list


def assessed_unit_ids(user) -> list[int]:
    """The units whose scores ``user`` follows as theirs: the units they work in, and for a leader the
    units in their charge, each with the units below."""
    profile = access_profile(user)
    paths = set(profile.unit_paths)
    if profile.has(Role.LEADER):
        paths |= set(profile.charge_paths)
    return subtree_id_list(user, tuple(sorted(paths))) if paths else []


def _schemes_assessing(units: list[int]):
    from luoshi.assessment.models import GroupMember

    return GroupMember.objects.filter(organisation_id__in=units).values("scheme_id")


class SchemeQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        profile = access_profile(user)
        if not profile.is_business_user:
            return None
        condition = Q(office_id__in=profile.supervisor_org_ids)
        units = assessed_unit_ids(user)
        if units:
            condition |= Q(pk__in=_schemes_assessing(units))
        return condition


class PeriodQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        from luoshi.assessment.models import PeriodStatus

        profile = access_profile(user)
        if not profile.is_business_user:
            return None
        condition = Q(scheme__office_id__in=profile.supervisor_org_ids)
        units = assessed_unit_ids(user)
        if units:
            condition |= ~Q(status=PeriodStatus.OPEN) & Q(scheme_id__in=_schemes_assessing(units))
        return condition
