"""Factories for organisations, people and roles.

Organisations and users are created through ``luoshi.orgs.services`` so that
materialised paths, depth, pinyin and password hashing are exactly what production
code produces. Every user made here signs in with ``PASSWORD``.
"""

import factory

from luoshi.orgs import services
from luoshi.orgs.models import Membership, Organisation, OrgKind, Role, User

PASSWORD = "Luoshi-test-2026"


class OrganisationFactory(factory.django.DjangoModelFactory):
    """``OrganisationFactory(name=..., parent=...)``; goes through ``create_organisation``."""

    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"测试单位{n}")
    parent = None
    kind = OrgKind.DEPARTMENT

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.create_organisation(**kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    """A user with password ``PASSWORD``; pass ``password=None`` for an unusable one."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.create_user(**kwargs)


def grant(user: User, organisation: Organisation, role: str, title: str = "") -> Membership:
    """Give ``user`` ``role`` in ``organisation`` (through the service, so 三员分立 applies)."""
    membership = services.grant_role(user=user, organisation=organisation, role=role, title=title)
    user.__dict__.pop("_access_profile", None)  # the cached profile is stale now
    return membership


def user_with_role(role: str, organisation: Organisation, **fields) -> User:
    """A new user holding ``role`` in ``organisation``."""
    user = UserFactory(**fields)
    grant(user, organisation, role)
    return user


def supervisor(organisation: Organisation, **fields) -> User:
    return user_with_role(Role.SUPERVISOR, organisation, **fields)


def liaison(organisation: Organisation, **fields) -> User:
    return user_with_role(Role.LIAISON, organisation, **fields)


def handler(organisation: Organisation, **fields) -> User:
    return user_with_role(Role.HANDLER, organisation, **fields)


def leader(organisation: Organisation, charges=(), **fields) -> User:
    """A leader in ``organisation`` overseeing ``charges`` (分管单位)."""
    user = user_with_role(Role.LEADER, organisation, **fields)
    if charges:
        services.set_leader_charges(leader=user, organisations=charges)
    return user


def fresh(user: User) -> User:
    """``user`` reloaded, without a cached access profile (use after changing roles or charges)."""
    return User.objects.get(pk=user.pk)
