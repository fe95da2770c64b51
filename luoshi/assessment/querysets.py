"""Who may see which assessment records.

The office that runs a scheme sees all of it. Leaders see every scheme and the rankings of its
publicised and published periods. A unit sees the schemes it is assessed under, and a period once it
is publicised; its breakdown (indicator scores, objections) is its own alone (``own_unit_ids``).
"""

from django.db.models import Q

from luoshi.core.scoping import ScopedQuerySet
from luoshi.orgs.models import Role
from luoshi.orgs.selectors import access_profile, subtree_id_list


def own_unit_ids(user) -> list[int]:
    """The units whose breakdown ``user`` sees as theirs: the units they work in and those below."""
    profile = access_profile(user)
    return subtree_id_list(user, profile.unit_paths) if profile.unit_paths else []


class SchemeQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        profile = access_profile(user)
        if not profile.is_business_user:
            return None
        if profile.has(Role.LEADER):
            return Q()
        condition = Q(office_id__in=profile.supervisor_org_ids)
        units = own_unit_ids(user)
        if units:
            condition |= Q(pk__in=_schemes_assessing(units))
        return condition


def _schemes_assessing(units: list[int]):
    from luoshi.assessment.models import GroupMember

    return GroupMember.objects.filter(organisation_id__in=units).values("scheme_id")


class PeriodQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        profile = access_profile(user)
        if not profile.is_business_user:
            return None
        from luoshi.assessment.models import PeriodStatus

        announced = ~Q(status=PeriodStatus.OPEN)
        if profile.has(Role.LEADER):
            return announced | Q(scheme__office_id__in=profile.supervisor_org_ids)
        condition = Q(scheme__office_id__in=profile.supervisor_org_ids)
        units = own_unit_ids(user)
        if units:
            condition |= announced & Q(scheme_id__in=_schemes_assessing(units))
        return condition
