"""The office's tools of pressure: urging, the escalation ladder, supervision orders and notices,
interviews and accountability, inspections with their findings, and leaders' instructions."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from luoshi.core.models import SnapshotModel, StoredFile, TimeStampedModel, VersionedModel
from luoshi.supervision.querysets import (
    FindingQuerySet,
    InspectionQuerySet,
    ItemFollowingQuerySet,
    OfficeOnlyQuerySet,
    SupervisionOrderQuerySet,
)

# Urging --------------------------------------------------------------------------------------------


class Urge(models.Model):
    """催办: one urging of one item's responsible unit, by a supervisor or by an escalation rule."""

    item = models.ForeignKey(
        "ledgers.Item", verbose_name=_("事项"), on_delete=models.CASCADE, related_name="urges"
    )
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("被催办单位"), on_delete=models.PROTECT, related_name="urges"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("责任人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    urged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("催办人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("为空表示按督办规则自动催办"),
    )
    escalation = models.ForeignKey(
        "supervision.Escalation", null=True, blank=True, on_delete=models.SET_NULL, related_name="urges"
    )
    message = models.TextField(_("催办内容"))
    created_at = models.DateTimeField(_("催办时间"), auto_now_add=True)

    objects = ItemFollowingQuerySet.as_manager()

    class Meta:
        verbose_name = _("催办")
        verbose_name_plural = _("催办")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["item", "created_at"], name="urge_item_created"),
            models.Index(fields=["organisation", "created_at"], name="urge_org_created"),
        ]

    def __str__(self):
        return f"{self.item} · {self.created_at:%Y-%m-%d}"


# Escalation ----------------------------------------------------------------------------------------


class EscalationStyle(models.TextChoices):
    STANDARD = "standard", _("催办单 → 督办通知单")
    THREE_COLOUR = "three_colour", _("三色督查单（蓝 → 橙 → 红）")


class EscalationAction(models.TextChoices):
    """The rungs of the ladder, in the order an item climbs them."""

    REMIND = "remind", _("到期提醒")
    URGE = "urge", _("催办")
    URGE_NOTICE = "urge_notice", _("催办单")
    SUPERVISION_NOTICE = "supervision_notice", _("督办通知单")
    BLUE_NOTICE = "blue_notice", _("蓝色督查单")
    ORANGE_NOTICE = "orange_notice", _("橙色督查单")
    RED_NOTICE = "red_notice", _("红色督查单")
    LEADERS_MEETING = "leaders_meeting", _("提请领导会议研究")
    INTERVIEW = "interview", _("建议约谈")
    ACCOUNTABILITY = "accountability", _("建议问责")


class EscalationPolicy(VersionedModel):
    """A ledger's ladder: which rungs it uses and after how many working days."""

    ledger = models.OneToOneField(
        "ledgers.Ledger", verbose_name=_("台账"), on_delete=models.CASCADE, related_name="escalation_policy"
    )
    style = models.CharField(
        _("督办方式"), max_length=20, choices=EscalationStyle.choices, default=EscalationStyle.STANDARD
    )
    is_active = models.BooleanField(_("自动督办"), default=True)
    urgent_start = models.CharField(
        _("紧急事项起始等级"),
        max_length=24,
        choices=EscalationAction.choices,
        default=EscalationAction.ORANGE_NOTICE,
        help_text=_("领导批示或紧急事项直接从该等级开始"),
    )
    # Warnings before the deadline (时间过半、任务过半) climb the same ladder; after it the offsets govern.
    on_yellow = models.CharField(
        _("黄色预警时"), max_length=24, choices=EscalationAction.choices, blank=True, default=""
    )
    on_red = models.CharField(
        _("红色预警时"), max_length=24, choices=EscalationAction.choices, blank=True, default=""
    )

    class Meta:
        verbose_name = _("督办规则")
        verbose_name_plural = _("督办规则")

    def __str__(self):
        return str(self.ledger)


class EscalationRule(SnapshotModel):
    """One rung: take ``action`` when an unfinished item is ``offset_days`` working days from its deadline
    (negative: before it, so −3 is three working days before; 1 is the working day after)."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="rules")
    action = models.CharField(_("督办动作"), max_length=24, choices=EscalationAction.choices)
    offset_days = models.SmallIntegerField(_("相对完成时限（工作日）"))
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("督办阶梯")
        verbose_name_plural = _("督办阶梯")
        ordering = ["policy_id", "offset_days", "sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "action"], name="escalation_rule_unique_action")
        ]

    def __str__(self):
        return f"{self.get_action_display()} ({self.offset_days:+d})"


class Escalation(models.Model):
    """A rung an item reached, recorded once per item, action and deadline, with the rule that fired."""

    item = models.ForeignKey(
        "ledgers.Item", verbose_name=_("事项"), on_delete=models.CASCADE, related_name="escalations"
    )
    action = models.CharField(_("督办动作"), max_length=24, choices=EscalationAction.choices)
    deadline = models.DateField(_("适用的完成时限"))
    rule = models.ForeignKey(
        EscalationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_text = models.CharField(_("触发规则"), max_length=200)
    order = models.ForeignKey(
        "supervision.SupervisionOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("为空表示自动"),
    )
    # Which run of the daily job inserted the row: two workers insert the same rungs ignoring conflicts,
    # and each then acts only on the rows its own run wrote.
    run = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ItemFollowingQuerySet.as_manager()

    class Meta:
        verbose_name = _("督办升级")
        verbose_name_plural = _("督办升级")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "action", "deadline"], name="escalation_once_per_deadline"
            )
        ]
        indexes = [models.Index(fields=["action", "created_at"], name="escalation_action_created")]

    def __str__(self):
        return f"{self.item} · {self.get_action_display()}"


# Supervision orders and notices ----------------------------------------------------------------------


class OrderKind(models.TextChoices):
    ORDER = "order", _("督办单")
    URGE_NOTICE = "urge_notice", _("催办单")
    SUPERVISION_NOTICE = "supervision_notice", _("督办通知单")
    INSPECTION_NOTICE = "inspection_notice", _("督查单")


# The word before 〔year〕 in each kind's document number, e.g. 督〔2026〕15号.
ORDER_NUMBER_PREFIX = {
    OrderKind.ORDER: "督",
    OrderKind.URGE_NOTICE: "催",
    OrderKind.SUPERVISION_NOTICE: "督通",
    OrderKind.INSPECTION_NOTICE: "督查",
}


class NoticeColour(models.TextChoices):
    NONE = "", _("无")
    BLUE = "blue", _("蓝色")
    ORANGE = "orange", _("橙色")
    RED = "red", _("红色")


class OrderLevel(models.TextChoices):
    GENERAL = "general", _("一般督办")
    KEY = "key", _("重点督办")
    LISTED = "listed", _("挂牌督办")


class OrderStatus(models.TextChoices):
    ISSUED = "issued", _("已下发")
    SIGNED = "signed", _("已签收")
    REPLIED = "replied", _("已回复")
    CLOSED = "closed", _("已办结")


class SupervisionOrder(VersionedModel):
    """督办单 and the notices of the ladder: issued by an office to one unit about one or more items."""

    kind = models.CharField(_("类别"), max_length=20, choices=OrderKind.choices, default=OrderKind.ORDER)
    colour = models.CharField(_("颜色"), max_length=10, choices=NoticeColour.choices, default="", blank=True)
    level = models.CharField(
        _("督办级别"), max_length=10, choices=OrderLevel.choices, default=OrderLevel.GENERAL
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    serial = models.PositiveIntegerField(_("序号"))
    office = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("督办单位"), on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(
        "orgs.Organisation",
        verbose_name=_("责任单位"),
        on_delete=models.PROTECT,
        related_name="supervision_orders",
    )
    items = models.ManyToManyField(
        "ledgers.Item", verbose_name=_("督办事项"), related_name="supervision_orders"
    )
    subject = models.CharField(_("标题"), max_length=200)
    content = models.TextField(_("督办要求"))
    reply_deadline = models.DateField(_("回复时限"))
    copy_to = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("抄送领导"), blank=True, related_name="copied_orders"
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.ISSUED
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("签发人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("为空表示按督办规则自动下发"),
    )
    issued_on = models.DateField(_("下发日期"))
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    reply = models.TextField(_("办理情况"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replied_at = models.DateTimeField(_("回复时间"), null=True, blank=True)
    reply_is_late = models.BooleanField(_("逾期回复"), default=False)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    decision_comment = models.TextField(_("审核意见"), blank=True)

    objects = SupervisionOrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("督办单")
        verbose_name_plural = _("督办单")
        ordering = ["-year", "-serial"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "serial"], name="order_number_unique"),
        ]
        indexes = [
            models.Index(fields=["organisation", "status"], name="order_org_status"),
            models.Index(fields=["office", "status", "reply_deadline"], name="order_office_status"),
            models.Index(fields=["status", "reply_deadline"], name="order_status_deadline"),
        ]

    def __str__(self):
        return f"{self.number} {self.subject}"

    @property
    def number(self) -> str:
        return f"{ORDER_NUMBER_PREFIX[self.kind]}〔{self.year}〕{self.serial}号"

    def get_absolute_url(self):
        return reverse("supervision:order_detail", args=[self.pk])


def order_evidence_upload_to(instance, filename):
    return f"orders/{instance.sha256[:2]}/{instance.sha256}"


class OrderEvidence(StoredFile):
    """佐证材料 attached to an order's reply."""

    order = models.ForeignKey(SupervisionOrder, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to=order_evidence_upload_to, max_length=200)

    class Meta:
        verbose_name = _("回复佐证材料")
        verbose_name_plural = _("回复佐证材料")


class OrderEvent(models.Model):
    """One line of an order's history: issued, signed, replied, closed, reopened."""

    order = models.ForeignKey(SupervisionOrder, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.order} · {self.action}"


# Interviews and accountability --------------------------------------------------------------------------


class Interview(VersionedModel):
    """约谈: who was interviewed, by whom, why, about which items, and what came of it."""

    office = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("组织单位"), on_delete=models.PROTECT, related_name="+"
    )
    held_on = models.DateField(_("约谈日期"))
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("约谈人"), on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("被约谈单位"), on_delete=models.PROTECT, related_name="+"
    )
    interviewee = models.CharField(_("被约谈人（姓名、职务）"), max_length=100)
    reason = models.TextField(_("约谈事由"))
    items = models.ManyToManyField("ledgers.Item", verbose_name=_("相关事项"), blank=True, related_name="+")
    orders = models.ManyToManyField(
        SupervisionOrder, verbose_name=_("相关督办单"), blank=True, related_name="+"
    )
    outcome = models.TextField(_("约谈结果"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = OfficeOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("约谈")
        verbose_name_plural = _("约谈")
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["office", "held_on"], name="interview_office_held")]

    def __str__(self):
        return f"{self.organisation} · {self.held_on:%Y-%m-%d}"


class AccountabilityForm(models.TextChoices):
    CRITICISM = "criticism", _("通报批评")
    ADMONITION = "admonition", _("诫勉谈话")
    WRITTEN_REVIEW = "written_review", _("责令书面检查")
    ORGANISATIONAL = "organisational", _("组织调整")
    DISCIPLINARY = "disciplinary", _("党纪政务处分")
    OTHER = "other", _("其他")


class Accountability(VersionedModel):
    """问责: the form, against a person or a unit, with the items and orders it rests on."""

    office = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("组织单位"), on_delete=models.PROTECT, related_name="+"
    )
    form = models.CharField(_("问责方式"), max_length=20, choices=AccountabilityForm.choices)
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("问责单位"), on_delete=models.PROTECT, related_name="+"
    )
    person = models.CharField(
        _("问责对象（个人）"), max_length=100, blank=True, help_text=_("问责单位时留空")
    )
    decided_on = models.DateField(_("决定日期"))
    reason = models.TextField(_("问责事由"))
    items = models.ManyToManyField("ledgers.Item", verbose_name=_("相关事项"), blank=True, related_name="+")
    orders = models.ManyToManyField(
        SupervisionOrder, verbose_name=_("相关督办单"), blank=True, related_name="+"
    )
    interview = models.ForeignKey(
        Interview,
        verbose_name=_("相关约谈"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = OfficeOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("问责")
        verbose_name_plural = _("问责")
        ordering = ["-decided_on", "-id"]
        indexes = [
            models.Index(fields=["office", "decided_on"], name="accountability_office_date"),
            models.Index(fields=["organisation", "decided_on"], name="accountability_org_date"),
        ]

    def __str__(self):
        return f"{self.get_form_display()} · {self.person or self.organisation}"


# Inspections ----------------------------------------------------------------------------------------------


class InspectionKind(models.TextChoices):
    ANNOUNCED = "announced", _("督查")
    UNANNOUNCED = "unannounced", _("明察暗访")


class InspectionStatus(models.TextChoices):
    PLANNED = "planned", _("计划中")
    DONE = "done", _("已完成")


class Inspection(VersionedModel):
    """督查 / 明察暗访: plan, team, targets and date; its findings become problems to rectify."""

    office = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("组织单位"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("督查名称"), max_length=200)
    kind = models.CharField(
        _("方式"), max_length=20, choices=InspectionKind.choices, default=InspectionKind.ANNOUNCED
    )
    plan = models.TextField(_("督查方案"), blank=True)
    planned_on = models.DateField(_("督查日期"))
    team = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("督查组成员"), related_name="inspections"
    )
    targets = models.ManyToManyField(
        "orgs.Organisation", verbose_name=_("督查对象"), related_name="inspections"
    )
    places = models.CharField(_("督查地点"), max_length=300, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=InspectionStatus.choices, default=InspectionStatus.PLANNED
    )
    rectification_ledger = models.ForeignKey(
        "ledgers.Ledger",
        verbose_name=_("问题整改台账"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = InspectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("督查")
        verbose_name_plural = _("督查")
        ordering = ["-planned_on", "-id"]
        indexes = [models.Index(fields=["office", "planned_on"], name="inspection_office_date")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("supervision:inspection_detail", args=[self.pk])


class Finding(VersionedModel):
    """A problem an inspection found; once assigned it is a problem item with measures as its children."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="findings")
    description = models.TextField(_("发现问题"))
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("责任单位"), on_delete=models.PROTECT, related_name="+"
    )
    place = models.CharField(_("地点"), max_length=200, blank=True)
    found_on = models.DateField(_("发现日期"))
    commitment_required = models.BooleanField(_("需公开承诺"), default=False)
    commitment = models.TextField(_("公开承诺"), blank=True)
    problem = models.OneToOneField(
        "ledgers.Item",
        verbose_name=_("整改问题"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="finding",
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(_("验收时间"), null=True, blank=True)
    verification_comment = models.TextField(_("验收意见"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = FindingQuerySet.as_manager()

    class Meta:
        verbose_name = _("督查发现问题")
        verbose_name_plural = _("督查发现问题")
        ordering = ["inspection_id", "id"]
        indexes = [models.Index(fields=["organisation"], name="finding_org")]

    def __str__(self):
        return self.description[:40]


def finding_photo_upload_to(instance, filename):
    return f"findings/{instance.sha256[:2]}/{instance.sha256}"


class FindingPhoto(StoredFile):
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=finding_photo_upload_to, max_length=200)

    class Meta:
        verbose_name = _("现场照片")
        verbose_name_plural = _("现场照片")


# Leaders' instructions --------------------------------------------------------------------------------------


class Instruction(VersionedModel):
    """批示 on an item (and, where given, the report or order it was written on)."""

    item = models.ForeignKey(
        "ledgers.Item", verbose_name=_("事项"), on_delete=models.PROTECT, related_name="instructions"
    )
    report = models.ForeignKey(
        "ledgers.ProgressReport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="instructions",
    )
    order = models.ForeignKey(
        SupervisionOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="instructions"
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("批示领导"), on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("批示内容"))
    is_urgent = models.BooleanField(_("紧急"), default=False)
    is_open = models.BooleanField(_("未办结"), default=True)

    objects = ItemFollowingQuerySet.as_manager()

    class Meta:
        verbose_name = _("领导批示")
        verbose_name_plural = _("领导批示")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["item", "is_open"], name="instruction_item_open"),
            models.Index(fields=["leader", "created_at"], name="instruction_leader"),
        ]

    def __str__(self):
        return self.text[:40]


class InstructionRecipient(TimeStampedModel):
    """A unit or person who must acknowledge the instruction and answer it in the next report."""

    instruction = models.ForeignKey(Instruction, on_delete=models.CASCADE, related_name="recipients")
    organisation = models.ForeignKey(
        "orgs.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("阅知时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        "ledgers.ProgressReport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(_("落实反馈时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("批示接收")
        verbose_name_plural = _("批示接收")
        constraints = [
            models.CheckConstraint(
                condition=Q(organisation__isnull=False) | Q(user__isnull=False),
                name="instruction_recipient_target",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "acknowledged_at"], name="instruction_rcpt_org"),
            models.Index(fields=["user", "acknowledged_at"], name="instruction_rcpt_user"),
        ]
