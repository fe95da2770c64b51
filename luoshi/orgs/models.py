from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from luoshi.core.fields import BlindIndexField, EncryptedField, PersonalData
from luoshi.core.models import SnapshotModel, VersionedModel
from luoshi.core.scoping import ScopedQuerySet
from luoshi.core.text import pinyin_full, pinyin_initials

PATH_STEP = 7  # digits per level of Organisation.path; 9,999,999 organisations is plenty


class OrgKind(models.TextChoices):
    PARTY_COMMITTEE = "party_committee", _("党委")
    GOVERNMENT = "government", _("政府")
    DEPARTMENT = "department", _("部门")
    TOWNSHIP = "township", _("乡镇/街道")
    VILLAGE = "village", _("村/社区")
    ENTERPRISE = "enterprise", _("企业")
    OTHER = "other", _("其他")


class Role(models.TextChoices):
    SUPERVISOR = "supervisor", _("督办员")
    LEADER = "leader", _("领导")
    LIAISON = "liaison", _("单位联络员")
    HANDLER = "handler", _("承办人")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")


ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


class OrganisationQuerySet(ScopedQuerySet):
    def subtree_of(self, paths):
        """Organisations at or below any of ``paths`` (materialised paths)."""
        condition = Q(pk__in=[])
        for path in paths:
            condition |= Q(path__startswith=path)
        return self.filter(condition)

    def scope_filter(self, user):
        # The organisation tree is not secret inside the office: every signed-in user may pick units.
        return Q()


class Organisation(VersionedModel):
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    name = models.CharField(_("全称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    aliases = models.CharField(_("别名"), max_length=200, blank=True, help_text=_("多个别名以逗号分隔"))
    kind = models.CharField(_("类型"), max_length=20, choices=OrgKind.choices, default=OrgKind.DEPARTMENT)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    # Materialised path ("0000001/0000012/"): a subtree is one indexed prefix match.
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)
    pinyin = models.CharField(max_length=300, editable=False, blank=True)
    pinyin_initials = models.CharField(max_length=100, editable=False, blank=True, db_index=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="org_unique_name_under_parent"),
        ]
        indexes = [
            models.Index(fields=["path"], name="org_path_prefix", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return self.short_name or self.name

    @property
    def display_name(self):
        return self.short_name or self.name

    def save(self, *args, **kwargs):
        self.pinyin = pinyin_full(self.name)
        self.pinyin_initials = pinyin_initials(self.short_name or self.name)
        super().save(*args, **kwargs)

    def is_within(self, other: "Organisation") -> bool:
        return self.path.startswith(other.path)


class User(SnapshotModel, AbstractUser):
    """A person who signs in. Leaders, liaisons and handlers are all users with roles in units."""

    full_name = models.CharField(_("姓名"), max_length=50)
    # Personal data: SM4 ciphertext in the database, shown masked (``luoshi.core.fields``).
    phone = EncryptedField(_("手机号"), kind=PersonalData.PHONE, max_length=20, blank=True)
    phone_index = BlindIndexField(source="phone")
    pinyin = models.CharField(max_length=200, editable=False, blank=True)
    pinyin_initials = models.CharField(max_length=50, editable=False, blank=True, db_index=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["pinyin"]

    def __str__(self):
        return self.full_name or self.username

    def save(self, *args, **kwargs):
        self.pinyin = pinyin_full(self.full_name)
        self.pinyin_initials = pinyin_initials(self.full_name)
        super().save(*args, **kwargs)


class Membership(SnapshotModel):
    """A role a person holds in one unit; a person may hold several, in several units."""

    user = models.ForeignKey(
        User, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    title = models.CharField(_("职务"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("任职")
        verbose_name_plural = _("任职")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "role"], name="membership_unique_role"),
        ]
        indexes = [models.Index(fields=["organisation", "role"], name="membership_org_role")]

    def __str__(self):
        return f"{self.user} · {self.organisation} · {self.get_role_display()}"


class LeaderCharge(SnapshotModel):
    """A unit a leader oversees (分管); the leader sees the unit's items and those of its sub-units."""

    leader = models.ForeignKey(User, verbose_name=_("领导"), on_delete=models.CASCADE, related_name="charges")
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("分管单位"), on_delete=models.PROTECT, related_name="leader_charges"
    )

    class Meta:
        verbose_name = _("分管")
        verbose_name_plural = _("分管")
        constraints = [
            models.UniqueConstraint(fields=["leader", "organisation"], name="charge_unique"),
        ]

    def __str__(self):
        return f"{self.leader} → {self.organisation}"
