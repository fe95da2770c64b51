"""Reads for organisations and people, and the access profile every scope is built from."""

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q

from luoshi.core.fields import encrypted_match
from luoshi.orgs.models import ADMIN_ROLES, LeaderCharge, Membership, Organisation, Role, User


@dataclass(frozen=True)
class AccessProfile:
    """What a user is, in terms the scoping rules need; built once per request."""

    user_id: int | None
    roles: frozenset[str] = frozenset()
    supervisor_org_ids: frozenset[int] = frozenset()
    unit_paths: tuple[str, ...] = ()  # units (with sub-units) where the user is liaison or handler
    liaison_paths: tuple[str, ...] = ()
    charge_paths: tuple[str, ...] = ()  # units a leader oversees
    unit_org_ids: frozenset[int] = field(default_factory=frozenset)

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return bool(self.roles & ADMIN_ROLES)

    @property
    def is_business_user(self) -> bool:
        return bool(self.roles - ADMIN_ROLES)


ANONYMOUS_PROFILE = AccessProfile(user_id=None)


def access_profile(user) -> AccessProfile:
    """The user's roles and units, cached on the user object for the rest of the request."""
    if not user.is_authenticated:
        return ANONYMOUS_PROFILE
    cached = getattr(user, "_access_profile", None)
    if cached is not None:
        return cached
    memberships = list(
        Membership.objects.filter(user=user, organisation__is_active=True).values_list(
            "role", "organisation_id", "organisation__path"
        )
    )
    charges = list(LeaderCharge.objects.filter(leader=user).values_list("organisation__path", flat=True))
    unit_roles = {Role.LIAISON, Role.HANDLER}
    profile = AccessProfile(
        user_id=user.pk,
        roles=frozenset(role for role, _, _ in memberships),
        supervisor_org_ids=frozenset(org for role, org, _ in memberships if role == Role.SUPERVISOR),
        unit_paths=tuple(sorted({path for role, _, path in memberships if role in unit_roles})),
        liaison_paths=tuple(sorted({path for role, _, path in memberships if role == Role.LIAISON})),
        charge_paths=tuple(sorted(set(charges))),
        unit_org_ids=frozenset(org for role, org, _ in memberships if role in unit_roles),
    )
    user._access_profile = profile
    return profile


def subtree_id_list(user, paths: tuple[str, ...]) -> list[int]:
    """Ids of the units at or below ``paths``, as a literal list cached for the request.

    A literal ``IN (…)`` lets PostgreSQL combine index scans (BitmapOr) where a subquery
    would force a scan of the whole item table.
    """
    cache = user.__dict__.setdefault("_subtree_ids", {})
    if paths not in cache:
        cache[paths] = (
            list(Organisation.objects.subtree_of(paths).values_list("id", flat=True)) if paths else []
        )
    return cache[paths]


def organisation_list(*, search: str = ""):
    queryset = Organisation.objects.select_related("parent")
    if search:
        term = search.strip()
        queryset = queryset.filter(
            Q(name__icontains=term)
            | Q(short_name__icontains=term)
            | Q(aliases__icontains=term)
            | Q(pinyin_initials__contains=term.lower())
            | Q(pinyin__startswith=term.lower())
        )
    return queryset


def user_list(*, search: str = "", by_phone: bool = False):
    """People matching ``search``; ``by_phone`` also matches a whole phone number (admin screens only:
    elsewhere it would tell anyone whose number a number is)."""
    memberships = Membership.objects.select_related("organisation").order_by("organisation__path")
    queryset = User.objects.prefetch_related(Prefetch("memberships", queryset=memberships))
    if search:
        term = search.strip()
        condition = (
            Q(full_name__icontains=term)
            | Q(username__icontains=term)
            | Q(pinyin_initials__contains=term.lower())
        )
        if by_phone:
            condition |= encrypted_match(User, "phone", term)
        queryset = queryset.filter(condition)
    return queryset


# Unit contacts: the people a supervisor rings to urge a unit on.
CONTACT_ROLES = (Role.LIAISON, Role.HANDLER)


def may_see_full_phone(viewer, person: User) -> bool:
    """Whether ``viewer``'s duty needs ``person``'s whole phone number; everyone else sees it masked.

    The system admin, who keeps the accounts (checks a number, sets it right); a supervisor, for the
    contacts of units (liaisons and handlers), whom supervising means calling. No one else.
    """
    profile = access_profile(viewer)
    if profile.has(Role.SYSTEM_ADMIN):
        return True
    if profile.has(Role.SUPERVISOR):
        return Membership.objects.filter(
            user=person, role__in=CONTACT_ROLES, organisation__is_active=True
        ).exists()
    return False


def people_with_role(role: str, organisation: Organisation | None = None):
    queryset = User.objects.filter(is_active=True, memberships__role=role)
    if organisation is not None:
        queryset = queryset.filter(memberships__organisation=organisation)
    return queryset.distinct()
