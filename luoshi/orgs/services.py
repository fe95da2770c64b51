"""Writes for the organisation tree, people and their roles."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from luoshi.orgs.models import ADMIN_ROLES, PATH_STEP, LeaderCharge, Membership, Organisation, Role, User


def _segment(pk: int) -> str:
    return f"{pk:0{PATH_STEP}d}/"


@transaction.atomic
def create_organisation(*, name: str, parent: Organisation | None = None, **fields) -> Organisation:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("请填写单位全称。")})
    if Organisation.objects.filter(parent=parent, name=name).exists():
        raise ValidationError({"name": _("上级单位下已有名为「%(name)s」的单位。") % {"name": name}})
    org = Organisation(name=name, parent=parent, **fields)
    org.full_clean(exclude=["path", "depth"])
    org.save()
    org.path = (parent.path if parent else "") + _segment(org.pk)
    org.depth = parent.depth + 1 if parent else 0
    Organisation.objects.filter(pk=org.pk).update(path=org.path, depth=org.depth)
    return org


@transaction.atomic
def update_organisation(*, org: Organisation, parent: Organisation | None, **fields) -> Organisation:
    """Edit a unit; moving it under another parent moves its whole subtree."""
    if parent is not None and parent.path.startswith(org.path):
        raise ValidationError({"parent": _("不能把单位移到它自己或它的下级单位之下。")})
    for name, value in fields.items():
        setattr(org, name, value)
    moved = parent != org.parent
    org.parent = parent
    org.full_clean(exclude=["path", "depth"])
    org.save()
    if moved:
        old_path, old_depth = org.path, org.depth
        new_path = (parent.path if parent else "") + _segment(org.pk)
        new_depth = parent.depth + 1 if parent else 0
        Organisation.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
            depth=F("depth") + (new_depth - old_depth),
        )
        org.refresh_from_db()
    return org


@transaction.atomic
def create_user(*, username: str, full_name: str, password: str | None = None, **fields) -> User:
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": _("用户名「%(name)s」已被使用。") % {"name": username}})
    user = User(username=username, full_name=full_name, **fields)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def grant_role(*, user: User, organisation: Organisation, role: str, title: str = "") -> Membership:
    """Give ``user`` a role in ``organisation``; the three admin duties may not be combined (三员分立)."""
    if role not in Role.values:
        raise ValidationError({"role": _("没有这个角色：%(role)s。") % {"role": role}})
    held = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    if role in ADMIN_ROLES and (held & ADMIN_ROLES) - {role}:
        raise ValidationError(
            {"role": _("系统、安全、审计管理员须由不同的人担任，%(user)s 已担任其中之一。") % {"user": user}}
        )
    membership, _created = Membership.objects.update_or_create(
        user=user, organisation=organisation, role=role, defaults={"title": title}
    )
    return membership


@transaction.atomic
def revoke_role(*, membership: Membership) -> None:
    membership.delete()


@transaction.atomic
def set_leader_charges(*, leader: User, organisations) -> None:
    """Replace the units ``leader`` oversees."""
    if not Membership.objects.filter(user=leader, role=Role.LEADER).exists():
        raise ValidationError(_("%(user)s 不是领导，不能设置分管单位。") % {"user": leader})
    wanted = {org.pk for org in organisations}
    LeaderCharge.objects.filter(leader=leader).exclude(organisation_id__in=wanted).delete()
    existing = set(LeaderCharge.objects.filter(leader=leader).values_list("organisation_id", flat=True))
    LeaderCharge.objects.bulk_create(
        LeaderCharge(leader=leader, organisation_id=pk) for pk in sorted(wanted - existing)
    )


@transaction.atomic
def edit_organisation(
    *, org: Organisation, version: int, parent: Organisation | None, **fields
) -> Organisation:
    """Edit a unit loaded at ``version``; a newer stored version means someone else saved first.

    Raises ``StaleObjectError`` (a ``ValidationError``) then, and nothing is written.
    """
    org.version = version
    return update_organisation(org=org, parent=parent, **fields)


USER_EDITABLE_FIELDS = ("username", "full_name", "phone", "email", "is_active")


@transaction.atomic
def update_user(*, user: User, **fields) -> User:
    """Edit a person's account details (not password, not roles)."""
    unknown = set(fields) - set(USER_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    username = fields.get("username", user.username)
    if User.objects.filter(username=username).exclude(pk=user.pk).exists():
        raise ValidationError({"username": _("用户名「%(name)s」已被使用。") % {"name": username}})
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def set_password(*, user: User, password: str) -> User:
    """Set a password chosen by an administrator, checked against the password rules."""
    from django.contrib.auth.password_validation import validate_password

    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    from luoshi.audit.models import AuditAction
    from luoshi.audit.services import record

    user.set_password(password)
    user.save(update_fields=["password"])
    # The change receiver never logs password hashes; record that it was set, not what to.
    record(action=AuditAction.UPDATE, obj=user, after={"password": "******"})
    return user


@transaction.atomic
def deactivate_user(*, user: User) -> User:
    """Stop a person signing in; their history and roles stay for the record."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def create_account(*, username: str, full_name: str, password: str, **fields) -> User:
    """A new person with the initial password an admin chose; nothing is kept if either step fails."""
    user = create_user(username=username, full_name=full_name, **fields)
    return set_password(user=user, password=password)


@transaction.atomic
def update_account(*, user: User, password: str = "", **fields) -> User:
    """Edit a person's details and, if ``password`` is given, reset it; all or nothing."""
    user = update_user(user=user, **fields)
    if password:
        set_password(user=user, password=password)
    return user
