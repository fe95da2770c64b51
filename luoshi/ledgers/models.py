from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from luoshi.core.models import SnapshotModel, StoredFile, TimeStampedModel, VersionedModel
from luoshi.ledgers.querysets import (
    EvidenceQuerySet,
    ExtensionRequestQuerySet,
    ItemAttachmentQuerySet,
    ItemQuerySet,
    LedgerQuerySet,
    ReportQuerySet,
)


class ItemKind(models.TextChoices):
    KEY_WORK = "key_work", _("重点工作")
    WORK_POINT = "work_point", _("工作要点")
    TASK = "task", _("任务")
    MEASURE = "measure", _("措施")
    PROBLEM = "problem", _("问题")
    PROJECT = "project", _("项目")
    TOPIC = "topic", _("课题")


class ItemSource(models.TextChoices):
    MEETING = "meeting", _("会议决定")
    INSTRUCTION = "instruction", _("领导批示")
    HIGHER = "higher", _("上级交办")
    PROPOSAL = "proposal", _("建议提案")
    APPEAL = "appeal", _("群众诉求")
    INSPECTION = "inspection", _("督查发现")
    OTHER = "other", _("其他")


class ReportCycle(models.TextChoices):
    WEEKLY = "weekly", _("每周")
    SEMIMONTHLY = "semimonthly", _("每半月")
    MONTHLY = "monthly", _("每月")
    QUARTERLY = "quarterly", _("每季度")


class ItemStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    ASSIGNED = "assigned", _("已交办")
    ACCEPTED = "accepted", _("已签收")
    IN_PROGRESS = "in_progress", _("推进中")
    COMPLETION_REQUESTED = "completion_requested", _("申请办结")
    COMPLETED = "completed", _("已办结")
    CLOSED = "closed", _("已销号")
    SUSPENDED = "suspended", _("已中止")


OPEN_STATUSES = (
    ItemStatus.ASSIGNED,
    ItemStatus.ACCEPTED,
    ItemStatus.IN_PROGRESS,
    ItemStatus.COMPLETION_REQUESTED,
)
DONE_STATUSES = (ItemStatus.COMPLETED, ItemStatus.CLOSED)


class WarningColor(models.TextChoices):
    RED = "red", _("红色预警")
    YELLOW = "yellow", _("黄色预警")
    GREEN = "green", _("正常")
    NOT_STARTED = "not_started", _("尚未启动")
    DONE = "done", _("已完成")
    SUSPENDED = "suspended", _("已中止")


# Tabler badge classes for each warning colour.
WARNING_BADGE_CLASSES = {
    "red": "bg-red-lt",
    "yellow": "bg-yellow-lt",
    "green": "bg-green-lt",
    "not_started": "bg-secondary-lt",
    "done": "bg-blue-lt",
    "suspended": "bg-dark-lt",
}


# Why an item has its warning colour, as a code with arguments: stored so, and put into words in the
# reader's language when shown.
WARNING_REASONS = {
    "completed": ItemStatus.COMPLETED.label,
    "closed": ItemStatus.CLOSED.label,
    "suspended": _("已中止"),
    "overdue": _("已超期%(days)d个工作日"),
    "past_deadline": _("已超过完成时限"),
    "draft": _("尚未交办"),
    "report_missing": _("逾期未报送进展（应于%(month)d月%(day)d日前报送）"),
    "before_start": _("尚未到开始日期"),
    "behind": _("落后序时进度%(gap)d个百分点"),
    "due_today": _("今日到期"),
    "due_soon": _("距完成时限还有%(days)d个工作日"),
    "not_started": _("尚未启动"),
    "on_schedule": _("达到序时进度"),
}


def warning_reason_text(code: str, args: dict | None = None) -> str:
    template = WARNING_REASONS.get(code)
    if template is None:
        return ""
    return str(template) % args if args else str(template)


class ScheduleCategory(models.TextChoices):
    """The four categories offices report progress in."""

    DONE = "done", _("已完成")
    ON_SCHEDULE = "on_schedule", _("达到序时进度")
    BEHIND = "behind", _("未达到序时进度")
    NOT_STARTED = "not_started", _("尚未启动")
    SUSPENDED = "suspended", _("已中止")


class Ledger(VersionedModel):
    name = models.CharField(_("台账名称"), max_length=100)
    year = models.PositiveSmallIntegerField(_("年度"))
    campaign = models.CharField(_("专项/批次"), max_length=100, blank=True)
    owner_office = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("督办单位"), on_delete=models.PROTECT, related_name="ledgers"
    )
    item_kind = models.CharField(
        _("事项类型"), max_length=20, choices=ItemKind.choices, default=ItemKind.TASK
    )
    description = models.TextField(_("说明"), blank=True)
    default_report_cycle = models.CharField(
        _("默认调度频次"), max_length=20, choices=ReportCycle.choices, default=ReportCycle.MONTHLY
    )
    yellow_tolerance = models.PositiveSmallIntegerField(
        _("黄色预警阈值（落后序时进度百分点）"), default=10, validators=[MaxValueValidator(100)]
    )
    red_tolerance = models.PositiveSmallIntegerField(
        _("红色预警阈值（落后序时进度百分点）"), default=30, validators=[MaxValueValidator(100)]
    )
    due_soon_days = models.PositiveSmallIntegerField(_("临期预警（工作日）"), default=3)
    report_grace_days = models.PositiveSmallIntegerField(_("报送宽限（工作日）"), default=2)
    is_archived = models.BooleanField(_("已归档"), default=False)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name = _("台账")
        verbose_name_plural = _("台账")
        ordering = ["-year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner_office", "year", "name"], name="ledger_unique_name"),
        ]

    def __str__(self):
        # Ledger names often carry their year already ("2026年重点项目建设").
        return self.name if self.name.startswith(str(self.year)) else f"{self.year}年 {self.name}"

    def get_absolute_url(self):
        return reverse("ledgers:ledger_detail", args=[self.pk])


class FieldType(models.TextChoices):
    TEXT = "text", _("文本")
    NUMBER = "number", _("数字")
    DATE = "date", _("日期")
    CHOICE = "choice", _("选项")
    PERSON = "person", _("人员")
    UNIT = "unit", _("单位")


class FieldTarget(models.TextChoices):
    ITEM = "item", _("事项字段")
    REPORT = "report", _("调度指标")


class LedgerField(VersionedModel):
    """An extra column a ledger declares, for its items or as a numeric measure of its reports."""

    ledger = models.ForeignKey(Ledger, on_delete=models.CASCADE, related_name="fields")
    target = models.CharField(_("用于"), max_length=10, choices=FieldTarget.choices, default=FieldTarget.ITEM)
    key = models.SlugField(_("键"), max_length=40)
    label = models.CharField(_("名称"), max_length=50)
    field_type = models.CharField(_("类型"), max_length=10, choices=FieldType.choices)
    required = models.BooleanField(_("必填"), default=False)
    choices = models.JSONField(_("可选值"), default=list, blank=True)
    unit_label = models.CharField(_("计量单位"), max_length=20, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("自定义字段")
        verbose_name_plural = _("自定义字段")
        ordering = ["target", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ledger", "target", "key"], name="ledger_field_unique_key"),
        ]

    def __str__(self):
        return self.label


class Tag(SnapshotModel):
    name = models.CharField(_("标签"), max_length=30, unique=True)

    class Meta:
        verbose_name = _("标签")
        verbose_name_plural = _("标签")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Item(VersionedModel):
    ledger = models.ForeignKey(Ledger, verbose_name=_("台账"), on_delete=models.PROTECT, related_name="items")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级事项"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    kind = models.CharField(_("层级"), max_length=20, choices=ItemKind.choices, default=ItemKind.TASK)
    code = models.CharField(_("编号"), max_length=30, blank=True)
    title = models.CharField(_("事项名称"), max_length=300)
    description = models.TextField(_("具体内容"), blank=True)
    source = models.CharField(
        _("来源"), max_length=20, choices=ItemSource.choices, default=ItemSource.MEETING
    )
    lead_leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("牵头领导"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_items",
    )
    lead_org = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("牵头单位"), on_delete=models.PROTECT, related_name="led_items"
    )
    co_orgs = models.ManyToManyField(
        "orgs.Organisation", verbose_name=_("配合单位"), blank=True, related_name="supported_items"
    )
    # Groups a ledger names as co-units that are no one unit (各镇（街道）, 区直有关部门), kept as written.
    other_units = models.CharField(_("其他配合单位"), max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("责任人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_items",
    )
    start_date = models.DateField(_("开始日期"))
    deadline = models.DateField(_("完成时限"), null=True, blank=True)
    # The first deadline ever set: on-time statistics count against it unless an extension is excused.
    original_deadline = models.DateField(_("原定时限"), null=True, blank=True, editable=False)
    assessed_deadline = models.DateField(_("考核时限"), null=True, blank=True, editable=False)
    is_standing = models.BooleanField(_("长期坚持"), default=False)
    report_cycle = models.CharField(_("调度频次"), max_length=20, choices=ReportCycle.choices)
    weight = models.DecimalField(
        _("权重"), max_digits=6, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(0)]
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("标签"), blank=True, related_name="items")
    extra = models.JSONField(_("扩展字段"), default=dict, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    status = models.CharField(
        _("状态"), max_length=24, choices=ItemStatus.choices, default=ItemStatus.DRAFT, editable=False
    )
    status_before_suspension = models.CharField(max_length=24, blank=True, editable=False)
    percent_complete = models.PositiveSmallIntegerField(
        _("完成进度"), default=0, editable=False, validators=[MaxValueValidator(100)]
    )
    completed_on = models.DateField(_("办结日期"), null=True, blank=True, editable=False)
    last_report_period_end = models.DateField(_("最近报送周期"), null=True, blank=True, editable=False)
    # Derived by luoshi.ledgers.warnings for warning_as_of; refreshed on every change and each day.
    warning_color = models.CharField(
        _("预警"),
        max_length=12,
        choices=WarningColor.choices,
        default=WarningColor.NOT_STARTED,
        editable=False,
    )
    schedule_category = models.CharField(
        _("进度类别"),
        max_length=12,
        choices=ScheduleCategory.choices,
        default=ScheduleCategory.NOT_STARTED,
        editable=False,
    )
    warning_reason_code = models.CharField(_("预警原因"), max_length=20, blank=True, editable=False)
    warning_reason_args = models.JSONField(default=dict, blank=True, editable=False)
    warning_as_of = models.DateField(null=True, editable=False)
    # Kept by the supervision services, so that lists and the battle map show them without a join.
    urge_count = models.PositiveIntegerField(_("催办次数"), default=0, editable=False)
    open_instructions = models.PositiveSmallIntegerField(_("未办结批示"), default=0, editable=False)

    objects = ItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("事项")
        verbose_name_plural = _("事项")
        ordering = ["ledger_id", "sort_order", "id"]
        indexes = [
            models.Index(fields=["ledger", "status"], name="item_ledger_status"),
            models.Index(fields=["lead_org", "warning_color"], name="item_org_color"),
            models.Index(fields=["warning_color", "deadline"], name="item_color_deadline"),
            models.Index(fields=["status", "deadline"], name="item_status_deadline"),
            models.Index(fields=["deadline"], name="item_deadline"),
            models.Index(fields=["lead_leader", "status"], name="item_leader_status"),
            models.Index(fields=["owner", "status"], name="item_owner_status"),
            models.Index(fields=["warning_as_of"], name="item_warning_as_of"),
            models.Index(fields=["kind"], name="item_kind"),
            # Re-import finds an item by its 序号 within the ledger.
            models.Index(fields=["ledger", "code"], name="item_ledger_code"),
            models.Index(
                fields=["open_instructions"],
                name="item_open_instructions",
                condition=Q(open_instructions__gt=0),
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("ledgers:item_detail", args=[self.pk])

    @property
    def warning_reason(self) -> str:
        """The reason for the warning colour, in the current language."""
        return warning_reason_text(self.warning_reason_code, self.warning_reason_args)

    @property
    def warning_badge_class(self) -> str:
        return WARNING_BADGE_CLASSES.get(self.warning_color, "")

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES


class Milestone(VersionedModel):
    """A phase scheduled backward from the deadline (倒排工期); editable afterwards."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(_("节点名称"), max_length=100)
    duration_days = models.PositiveSmallIntegerField(_("工期（工作日）"), default=0)
    start_date = models.DateField(_("开始日期"))
    due_date = models.DateField(_("完成日期"))
    done_on = models.DateField(_("实际完成"), null=True, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("节点")
        verbose_name_plural = _("节点")
        ordering = ["item_id", "sort_order", "due_date"]

    def __str__(self):
        return self.name


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    ACCEPTED = "accepted", _("已通过")
    RETURNED = "returned", _("已退回")


class ProgressReport(VersionedModel):
    item = models.ForeignKey(Item, verbose_name=_("事项"), on_delete=models.CASCADE, related_name="reports")
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("报送单位"), on_delete=models.PROTECT, related_name="reports"
    )
    period_start = models.DateField(_("周期开始"))
    period_end = models.DateField(_("周期结束"))
    text = models.TextField(_("工作进展"))
    percent_complete = models.PositiveSmallIntegerField(
        _("完成进度（%）"), validators=[MaxValueValidator(100)]
    )
    measures = models.JSONField(_("调度指标"), default=dict, blank=True)
    problems = models.TextField(_("存在问题"), blank=True)
    next_steps = models.TextField(_("下步打算"), blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=ReportStatus.choices, default=ReportStatus.DRAFT, editable=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("填报人"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("报送时间"), null=True, blank=True, editable=False)
    is_late = models.BooleanField(_("逾期报送"), default=False, editable=False)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True, editable=False)
    review_comment = models.TextField(_("审核意见"), blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("进展报送")
        verbose_name_plural = _("进展报送")
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "organisation", "period_start"], name="report_one_per_period"
            ),
        ]
        indexes = [
            models.Index(fields=["item", "period_start"], name="report_item_period"),
            models.Index(fields=["status", "submitted_at"], name="report_status_submitted"),
        ]

    def __str__(self):
        return f"{self.item} · {self.period_start:%Y-%m-%d}~{self.period_end:%m-%d}"


def evidence_upload_to(instance, filename):
    # Server-made names only: the uploaded name is kept as data, never as a path.
    return f"evidence/{instance.sha256[:2]}/{instance.sha256}"


class Evidence(StoredFile):
    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to=evidence_upload_to, max_length=200)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("佐证材料")
        verbose_name_plural = _("佐证材料")
        ordering = ["id"]


def attachment_upload_to(instance, filename):
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class ItemAttachment(StoredFile, SnapshotModel):
    """附件: a document the item rests on (the decision, the task sheet…), apart from report evidence.

    A snapshot model, so adding and removing one is on the audit trail as well as the item's timeline.
    """

    item = models.ForeignKey(
        Item, verbose_name=_("事项"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_upload_to, max_length=200)
    description = models.CharField(_("说明"), max_length=200, blank=True)

    objects = ItemAttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["id"]


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("未批准")


class ExtensionRequest(TimeStampedModel):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="extension_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    old_deadline = models.DateField(_("原完成时限"))
    new_deadline = models.DateField(_("申请延期至"))
    reason = models.TextField(_("延期理由"))
    status = models.CharField(
        _("状态"), max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(_("审批意见"), blank=True)
    excused = models.BooleanField(
        _("免责延期"), default=False, help_text=_("免责的延期在按时办结统计和考核中按新时限计算")
    )

    objects = ExtensionRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(status="pending"),
                name="extension_one_pending_per_item",
            ),
        ]

    def __str__(self):
        return f"{self.item} → {self.new_deadline:%Y-%m-%d}"


class EventKind(models.TextChoices):
    CREATED = "created", _("创建")
    EDITED = "edited", _("修改")
    TRANSITION = "transition", _("流转")
    REPORT_SUBMITTED = "report_submitted", _("报送进展")
    REPORT_ACCEPTED = "report_accepted", _("进展审核通过")
    REPORT_RETURNED = "report_returned", _("进展退回")
    EXTENSION_REQUESTED = "extension_requested", _("申请延期")
    EXTENSION_APPROVED = "extension_approved", _("批准延期")
    EXTENSION_REFUSED = "extension_refused", _("不予延期")
    URGED = "urged", _("催办")
    OVERDUE = "overdue", _("已超期")
    ESCALATED = "escalated", _("督办升级")
    ORDER_ISSUED = "order_issued", _("下发督办单")
    INSTRUCTION = "instruction", _("领导批示")
    INSTRUCTION_ACKNOWLEDGED = "instruction_acknowledged", _("批示已阅")
    RECTIFICATION_VERIFIED = "rectification_verified", _("整改验收")
    COMMENT = "comment", _("评论")
    ATTACHMENT_ADDED = "attachment_added", _("上传附件")
    ATTACHMENT_REMOVED = "attachment_removed", _("删除附件")


class ItemEvent(models.Model):
    """One line of an item's timeline; every transition is one, with who, when and why."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="item_events"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    action = models.CharField(max_length=30, blank=True)
    comment = models.TextField(blank=True)
    report = models.ForeignKey(
        ProgressReport, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["item", "created_at"], name="event_item_time")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.item_id}"


class SavedFilter(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(_("名称"), max_length=50)
    query = models.CharField(_("筛选条件"), max_length=1000)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_filter_unique_name")]

    def __str__(self):
        return self.name
