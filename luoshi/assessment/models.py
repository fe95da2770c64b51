"""Assessment (考核): schemes of indicators, responsibility books, periods, and the scores of each run.

A scheme belongs to one supervision office and one year. Its units are in groups ranked separately
(区直部门, 镇街 …). Its indicators form a tree whose leaves carry a rule: a measure taken from the record,
a formula over measures, or a manual score with evidence and a second reviewer. A period (a quarter, the
year) is scored by runs: each run is a frozen snapshot, numbered, never changed afterwards; publishing a
period publishes one run, so later edits to items never move a published ranking.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from luoshi.assessment.querysets import PeriodQuerySet, SchemeQuerySet
from luoshi.core.models import SnapshotModel, StoredFile, TimeStampedModel, VersionedModel

POINTS = {"max_digits": 9, "decimal_places": 3}


class Category(models.TextChoices):
    COMMON = "common", _("共性指标")
    SPECIFIC = "specific", _("个性指标")
    BONUS = "bonus", _("加分项")
    DEDUCTION = "deduction", _("扣分项")
    VETO = "veto", _("一票否决")


# The categories whose points make up the full marks; bonus and deduction sit on top, veto has none.
BASIC_CATEGORIES = (Category.COMMON, Category.SPECIFIC)


class RuleKind(models.TextChoices):
    MEASURE = "measure", _("按记录自动计分")
    FORMULA = "formula", _("按公式计分")
    MANUAL = "manual", _("人工评分")


class GradingMethod(models.TextChoices):
    BANDS = "bands", _("按分数段")
    SHARES = "shares", _("按排名比例")


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("优秀")
    GOOD = "good", _("良好")
    FAIR = "fair", _("一般")
    POOR = "poor", _("较差")


class Scheme(VersionedModel):
    office = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("考核单位"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    name = models.CharField(_("方案名称"), max_length=100)
    ledgers = models.ManyToManyField(
        "ledgers.Ledger",
        verbose_name=_("计分台账"),
        blank=True,
        related_name="+",
        help_text=_("按记录计分时统计这些台账的事项；不选则统计本单位的全部台账"),
    )
    full_marks = models.DecimalField(
        _("满分"), default=Decimal(100), validators=[MinValueValidator(1)], **POINTS
    )
    require_full_marks = models.BooleanField(
        _("分值须合计为满分"),
        default=True,
        help_text=_("共性、个性指标的分值合计须等于满分，下级指标分值合计须等于上级指标分值"),
    )
    bonus_cap = models.DecimalField(
        _("加分合计上限"), null=True, blank=True, validators=[MinValueValidator(0)], **POINTS
    )
    deduction_cap = models.DecimalField(
        _("扣分合计上限"), null=True, blank=True, validators=[MinValueValidator(0)], **POINTS
    )
    grading = models.CharField(
        _("等次评定"), max_length=10, choices=GradingMethod.choices, default=GradingMethod.BANDS
    )
    # By score bands: the lowest score of each grade. By shares: the cumulative percent of the ranking.
    excellent_line = models.DecimalField(_("优秀线"), default=Decimal(90), **POINTS)
    good_line = models.DecimalField(_("良好线"), default=Decimal(80), **POINTS)
    fair_line = models.DecimalField(_("一般线"), default=Decimal(60), **POINTS)
    list_size = models.PositiveSmallIntegerField(_("红黑榜人数"), default=3)
    objection_days = models.PositiveSmallIntegerField(_("异议期（工作日）"), default=5)

    objects = SchemeQuerySet.as_manager()

    class Meta:
        verbose_name = _("考核方案")
        verbose_name_plural = _("考核方案")
        ordering = ["-year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["office", "year", "name"], name="scheme_unique_name"),
        ]

    def __str__(self):
        return self.name

    def grade_lines(self) -> list[tuple[Decimal, str]]:
        return [
            (self.excellent_line, Grade.EXCELLENT),
            (self.good_line, Grade.GOOD),
            (self.fair_line, Grade.FAIR),
        ]


class UnitGroup(VersionedModel):
    """Units ranked together: 区直部门, 镇街, 垂管单位 are never ranked against each other."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(_("分组名称"), max_length=50)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("考核分组")
        verbose_name_plural = _("考核分组")
        ordering = ["scheme_id", "sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["scheme", "name"], name="group_unique_name")]

    def __str__(self):
        return self.name


class GroupMember(models.Model):
    # ``scheme`` repeats the group's so that a unit can be in one group of a scheme only.
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(UnitGroup, on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("考核对象")
        verbose_name_plural = _("考核对象")
        constraints = [
            models.UniqueConstraint(fields=["scheme", "organisation"], name="member_one_group_per_scheme"),
        ]

    def __str__(self):
        return f"{self.group} · {self.organisation}"


class Indicator(VersionedModel):
    """一级/二级指标. A leaf is scored by its rule; a parent's points are its children's, within its own."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="indicators")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级指标"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
    )
    code = models.CharField(_("编号"), max_length=20, blank=True)
    name = models.CharField(_("指标名称"), max_length=100)
    category = models.CharField(_("类别"), max_length=12, choices=Category.choices)
    max_points = models.DecimalField(
        _("分值"),
        validators=[MinValueValidator(0)],
        help_text=_("加分项为加分上限，扣分项为扣分上限"),
        **POINTS,
    )
    criteria = models.TextField(_("评分标准"), blank=True)
    rule_kind = models.CharField(_("计分方式"), max_length=10, choices=RuleKind.choices, blank=True)
    measure = models.CharField(_("记录指标"), max_length=40, blank=True)
    points_per_unit = models.DecimalField(
        _("每单位得分"), null=True, blank=True, help_text=_("得分 = 基础分 + 记录值 × 每单位得分"), **POINTS
    )
    base_points = models.DecimalField(_("基础分"), default=Decimal(0), **POINTS)
    formula = models.CharField(_("计分公式"), max_length=500, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("考核指标")
        verbose_name_plural = _("考核指标")
        ordering = ["scheme_id", "sort_order", "id"]

    def __str__(self):
        return f"{self.code} {self.name}".strip()


class ResponsibilityBook(VersionedModel):
    """目标责任书: the specific indicators and targets one unit signed for this scheme."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="books")
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("责任单位"), on_delete=models.PROTECT, related_name="+"
    )
    signed_on = models.DateField(_("签订日期"), null=True, blank=True)
    signatory = models.CharField(_("签订人"), max_length=50, blank=True)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("目标责任书")
        verbose_name_plural = _("目标责任书")
        ordering = ["scheme_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "organisation"], name="book_one_per_unit"),
        ]

    def __str__(self):
        return f"{self.organisation} · {self.scheme}"


class BookTarget(SnapshotModel):
    book = models.ForeignKey(ResponsibilityBook, on_delete=models.CASCADE, related_name="targets")
    indicator = models.ForeignKey(
        Indicator, verbose_name=_("指标"), on_delete=models.CASCADE, related_name="targets"
    )
    target = models.CharField(_("目标任务"), max_length=300)

    class Meta:
        verbose_name = _("责任目标")
        verbose_name_plural = _("责任目标")
        ordering = ["book_id", "indicator__sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["book", "indicator"], name="book_target_unique"),
        ]

    def __str__(self):
        return self.target


def book_copy_upload_to(instance, filename):
    return f"assessment/books/{instance.sha256[:2]}/{instance.sha256}"


class BookCopy(StoredFile):
    """A signed and stamped copy of the book, scanned."""

    book = models.ForeignKey(ResponsibilityBook, on_delete=models.CASCADE, related_name="copies")
    file = models.FileField(upload_to=book_copy_upload_to)

    class Meta:
        verbose_name = _("责任书签订件")
        verbose_name_plural = _("责任书签订件")


class PeriodKind(models.TextChoices):
    QUARTER = "quarter", _("季度")
    YEAR = "year", _("年度")


class PeriodStatus(models.TextChoices):
    OPEN = "open", _("评分中")
    PUBLICISED = "publicised", _("公示中")
    PUBLISHED = "published", _("已发布")


class Period(VersionedModel):
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="periods")
    kind = models.CharField(_("周期"), max_length=10, choices=PeriodKind.choices)
    name = models.CharField(_("名称"), max_length=50)
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"))
    status = models.CharField(
        _("状态"), max_length=12, choices=PeriodStatus.choices, default=PeriodStatus.OPEN, editable=False
    )
    publicised_run = models.ForeignKey(
        "ScoreRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    objection_deadline = models.DateField(_("异议截止日期"), null=True, blank=True, editable=False)
    published_run = models.ForeignKey(
        "ScoreRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True, editable=False)

    objects = PeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("考核周期")
        verbose_name_plural = _("考核周期")
        ordering = ["scheme_id", "start", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "kind", "start"], name="period_unique_start"),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="period_end_after_start"),
        ]

    def __str__(self):
        return self.name


class ScoreRun(models.Model):
    """One scoring of a period: a frozen snapshot, numbered 1, 2 … within the period."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField(_("版本"))
    as_of = models.DateField(_("数据截至"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("计分时间"), auto_now_add=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    unit_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("计分版本")
        verbose_name_plural = _("计分版本")
        ordering = ["period_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["period", "number"], name="run_unique_number")]

    def __str__(self):
        return f"{self.period} · 第{self.number}版"


class UnitScore(models.Model):
    """A unit's result in one run. Written once, in bulk, and never updated."""

    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="unit_scores")
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    group = models.ForeignKey(UnitGroup, verbose_name=_("分组"), on_delete=models.PROTECT, related_name="+")
    basic = models.DecimalField(_("基础得分"), **POINTS)
    bonus = models.DecimalField(_("加分"), **POINTS)
    deduction = models.DecimalField(_("扣分"), **POINTS)
    total = models.DecimalField(_("总分"), **POINTS)
    vetoed = models.BooleanField(_("一票否决"), default=False)
    rank = models.PositiveIntegerField(_("排名"))
    grade = models.CharField(_("等次"), max_length=10, choices=Grade.choices)
    previous_rank = models.PositiveIntegerField(_("上期排名"), null=True, blank=True)
    # The items each measure counted, by measure name: the unit's breakdown lists them.
    counted_items = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("单位得分")
        verbose_name_plural = _("单位得分")
        ordering = ["run_id", "group_id", "rank", "organisation_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "organisation"], name="unit_score_unique"),
        ]
        indexes = [
            models.Index(fields=["run", "group", "rank"], name="unit_score_ranking"),
            models.Index(fields=["organisation", "run"], name="unit_score_org"),
        ]

    def __str__(self):
        return f"{self.organisation} {self.total}"

    @property
    def movement(self) -> int | None:
        """Places gained since the previous period (negative: places lost)."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


class IndicatorScore(models.Model):
    """The points a unit got on one indicator in one run, with what they rest on."""

    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    points = models.DecimalField(_("得分"), **POINTS)
    # The rule's result before the indicator's cap or floor, and the measure values it used.
    raw = models.DecimalField(_("计算值"), null=True, **POINTS)
    inputs = models.JSONField(default=dict)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("指标得分")
        verbose_name_plural = _("指标得分")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "organisation", "indicator"], name="indicator_score_unique"
            ),
        ]

    def __str__(self):
        return f"{self.indicator} {self.points}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    APPROVED = "approved", _("已复核")
    REJECTED = "rejected", _("已退回")


class ManualScore(VersionedModel):
    """A score entered by hand for a manual indicator: counted once a second person has approved it."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="manual_scores")
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    indicator = models.ForeignKey(
        Indicator, verbose_name=_("指标"), on_delete=models.PROTECT, related_name="manual_scores"
    )
    points = models.DecimalField(_("得分"), **POINTS)
    reason = models.TextField(_("评分依据"))
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("状态"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING, editable=False
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("复核时间"), null=True, blank=True, editable=False)
    review_comment = models.CharField(_("复核意见"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("人工评分")
        verbose_name_plural = _("人工评分")
        ordering = ["period_id", "indicator_id", "organisation_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "organisation", "indicator"], name="manual_score_unique"
            ),
        ]
        indexes = [models.Index(fields=["period", "status"], name="manual_score_status")]

    def __str__(self):
        return f"{self.organisation} · {self.indicator} · {self.points}"


def manual_evidence_upload_to(instance, filename):
    return f"assessment/evidence/{instance.sha256[:2]}/{instance.sha256}"


class ManualEvidence(StoredFile):
    score = models.ForeignKey(ManualScore, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to=manual_evidence_upload_to)

    class Meta:
        verbose_name = _("评分佐证")
        verbose_name_plural = _("评分佐证")


class ObjectionStatus(models.TextChoices):
    PENDING = "pending", _("待答复")
    ACCEPTED = "accepted", _("已采纳")
    REJECTED = "rejected", _("不予采纳")


class Objection(VersionedModel):
    """异议: a unit disputes its publicised score, within the window; the office answers."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="objections")
    run = models.ForeignKey(ScoreRun, on_delete=models.PROTECT, related_name="objections")
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    indicator = models.ForeignKey(
        Indicator, verbose_name=_("指标"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("异议内容"))
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=ObjectionStatus.choices,
        default=ObjectionStatus.PENDING,
        editable=False,
    )
    answer = models.TextField(_("答复意见"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("考核异议")
        verbose_name_plural = _("考核异议")
        ordering = ["period_id", "-created_at"]
        indexes = [models.Index(fields=["period", "status"], name="objection_status")]

    def __str__(self):
        return f"{self.organisation} · {self.text[:30]}"


class Adjustment(TimeStampedModel, SnapshotModel):
    """A correction of a unit's points on one indicator (after an objection, or a finding of the office):
    added to the rule's result in every later run, shown in the breakdown with who and why."""

    period = models.ForeignKey(Period, on_delete=models.CASCADE, related_name="adjustments")
    organisation = models.ForeignKey(
        "orgs.Organisation", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+"
    )
    indicator = models.ForeignKey(
        Indicator, verbose_name=_("指标"), on_delete=models.PROTECT, related_name="+"
    )
    points = models.DecimalField(_("调整分值"), **POINTS)
    reason = models.CharField(_("调整理由"), max_length=300)
    objection = models.ForeignKey(
        Objection, null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("分数调整")
        verbose_name_plural = _("分数调整")
        ordering = ["period_id", "created_at"]

    def __str__(self):
        return f"{self.organisation} · {self.indicator} {self.points:+}"
