"""Writes for the organisation tree, people and their roles."""

import secrets
import string

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from luoshi.orgs.models import ADMIN_ROLES, PATH_STEP, LeaderCharge, Membership, Organisation, Role, User
from luoshi.orgs.selectors import may_see_full_phone


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
    if fields.get("is_superuser") or fields.get("is_staff"):
        # 三员分立 leaves no room for an all-powerful account; the admins are made by ``luoshi bootstrap``.
        raise ValidationError(_("本系统不设超级用户，管理职责由系统、安全、审计管理员分别承担。"))
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
    """Give ``user`` a role in ``organisation``.

    三员分立: the three admin duties are held by three people, and an admin account does nothing
    else: a business role on it would let the one who keeps the system also act in (or see) the work
    it records, and put its business actions beyond any other admin's check.
    """
    if role not in Role.values:
        raise ValidationError({"role": _("没有这个角色：%(role)s。") % {"role": role}})
    held = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    if role in ADMIN_ROLES and (held & ADMIN_ROLES) - {role}:
        raise ValidationError(
            {"role": _("系统、安全、审计管理员须由不同的人担任，%(user)s 已担任其中之一。") % {"user": user}}
        )
    if (role in ADMIN_ROLES and held - ADMIN_ROLES) or (role not in ADMIN_ROLES and held & ADMIN_ROLES):
        raise ValidationError(
            {
                "role": _("管理员账号只承担管理职责，不能兼任业务角色；请为 %(user)s 另设账号。")
                % {"user": user}
            }
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
    # One save per charge (a leader has a handful), so each grant is on the audit trail as a permission.
    for pk in sorted(wanted - existing):
        LeaderCharge.objects.create(leader=leader, organisation_id=pk)


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
    was_active = user.is_active
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    user.save()
    if was_active and not user.is_active:
        _end_sessions_of_deactivated(user)
    return user


def _end_sessions_of_deactivated(user: User) -> None:
    from luoshi.security.services import SessionEndReason, end_all_sessions

    end_all_sessions(user=user, reason=SessionEndReason.DEACTIVATED)


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
    from luoshi.security.services import record_password_change

    user.set_password(password)
    user.save(update_fields=["password"])
    # The change receiver never logs password hashes; record that it was set, not what to.
    record(action=AuditAction.UPDATE, obj=user, after={"password": "******"})  # nosec B105 # a mask, not a password
    # Its owner must change it at the next sign-in; their open sessions end.
    record_password_change(user, by_admin=True)
    return user


@transaction.atomic
def deactivate_user(*, user: User) -> User:
    """Stop a person signing in; their history and roles stay for the record."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        _end_sessions_of_deactivated(user)
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


@transaction.atomic
def reveal_phone(*, viewer: User, person: User) -> str:
    """``person``'s whole phone number for a viewer whose duty needs it, recorded as a view of personal data."""
    from luoshi.audit.models import AuditAction
    from luoshi.audit.services import record

    if not may_see_full_phone(viewer, person):
        raise PermissionDenied(_("您的角色不需要查看完整手机号。"))
    if person.phone:
        record(action=AuditAction.PERSONAL_DATA, obj=person, user=viewer, after={"field": "phone"})
    return person.phone


BOOTSTRAP_ADMINS = (
    ("sysadmin", Role.SYSTEM_ADMIN),
    ("secadmin", Role.SECURITY_ADMIN),
    ("auditadmin", Role.AUDIT_ADMIN),
)


def one_time_password() -> str:
    """A random password with every character class, long enough for any password policy."""
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "-_.!@#%+=")
    alphabet = "".join(classes)
    while True:
        password = "".join(secrets.choice(alphabet) for _i in range(20))
        if all(any(char in group for char in password) for group in classes):
            return password


@transaction.atomic
def bootstrap_admins(*, organisation_name: str) -> list[tuple[User, str]]:
    """On an empty system: the unit and the three separated admins, each with a one-time password.

    Each must choose their own password at first sign-in. Refused once anyone exists, so it cannot
    be used to mint admin accounts later.
    """
    from luoshi.security.services import require_password_change

    if User.objects.exists():
        raise ValidationError(
            _("系统中已有用户，不能再次初始化；请由系统管理员和安全管理员创建账号、授予角色。")
        )
    organisation = create_organisation(name=organisation_name)
    accounts = []
    for username, role in BOOTSTRAP_ADMINS:
        password = one_time_password()
        user = create_account(username=username, full_name=str(Role(role).label), password=password)
        grant_role(user=user, organisation=organisation, role=role)
        require_password_change(user)
        accounts.append((user, password))
    return accounts
