"""Writes of the assessment module: schemes, indicators, books, periods, scoring runs, manual scores,
objections, adjustments, publication. Each validates, runs in one transaction and fails in Chinese.

Who: the supervisors of the scheme's office do everything but file objections, which the liaisons of
the unit concerned do. A manual score is entered by one supervisor and approved by another.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.assessment import formulas, ranking
from luoshi.assessment.measures import MEASURES, Window, take
from luoshi.assessment.models import (
    Adjustment,
    BookCopy,
    BookTarget,
    Category,
    Grade,
    GradingMethod,
    GroupMember,
    Indicator,
    IndicatorScore,
    ManualEvidence,
    ManualScore,
    Objection,
    ObjectionStatus,
    Period,
    PeriodKind,
    PeriodStatus,
    ResponsibilityBook,
    ReviewStatus,
    RuleKind,
    Scheme,
    ScoreRun,
    UnitGroup,
    UnitScore,
)
from luoshi.assessment.scoring import Adjusted, ManualEntry, Plan
from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.core.bulk import insert_rows
from luoshi.core.calendar import add_working_days
from luoshi.core.uploads import check_upload, storing
from luoshi.orgs.models import Organisation, Role
from luoshi.orgs.selectors import access_profile, subtree_id_list

TEXT_LIMIT = 2000


def _check_office(user, scheme: Scheme) -> None:
    if scheme.office_id not in access_profile(user).supervisor_org_ids:
        raise ValidationError(_("只有考核单位的督办员可以办理考核事务。"))


def _text(field: str, value: str, label: str, *, limit: int = TEXT_LIMIT) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: _("请填写%(label)s。") % {"label": label}})
    if len(value) > limit:
        raise ValidationError({field: _("%(label)s不能超过 %(n)d 个字。") % {"label": label, "n": limit}})
    return value


def _decimal(field: str, value, label: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({field: _("%(label)s须为数字。") % {"label": label}}) from None
    if not number.is_finite():
        raise ValidationError({field: _("%(label)s须为数字。") % {"label": label}})
    return number


def _save(record_, version: int | None, *, exclude=()):
    if record_.pk is not None and version is not None:
        record_.version = version
    record_.full_clean(exclude=list(exclude))
    record_.save()
    return record_


# Schemes, groups, indicators, books ------------------------------------------------------------------


@transaction.atomic
def save_scheme(
    *, user, office: Organisation, scheme: Scheme | None = None, version: int | None = None, **fields
):
    """A new scheme (``scheme=None``) or ``scheme`` changed as of ``version``; ``fields`` are the model's
    editable fields (year, name, full_marks, grading and its lines …) and ``ledgers``."""
    if office is None or office.pk not in access_profile(user).supervisor_org_ids:
        raise ValidationError({"office": _("只有本单位的督办员可以制定考核方案。")})
    ledgers = fields.pop("ledgers", None)
    record_ = scheme or Scheme(office=office)
    if scheme is not None and scheme.office_id != office.pk:
        raise ValidationError(_("考核方案的考核单位不能更改。"))
    for name, value in fields.items():
        setattr(record_, name, value)
    record_.name = _text("name", record_.name, _("方案名称"), limit=100)
    if record_.grading == GradingMethod.SHARES:
        lines = (record_.excellent_line, record_.good_line, record_.fair_line)
        if (
            not all(Decimal(0) <= line <= Decimal(100) for line in lines)
            or not lines[0] <= lines[1] <= lines[2]
        ):
            raise ValidationError(
                {
                    "excellent_line": _(
                        "按排名比例评定时，优秀、良好、一般线是排名前百分之几（0–100），须逐级不减。"
                    )
                }
            )
    elif not record_.excellent_line >= record_.good_line >= record_.fair_line:
        raise ValidationError({"excellent_line": _("按分数段评定时，优秀线、良好线、一般线须逐级不增。")})
    if ledgers is not None and any(ledger.owner_office_id != office.pk for ledger in ledgers):
        raise ValidationError({"ledgers": _("只能选择本单位的台账。")})
    _save(record_, version)
    if ledgers is not None:
        record_.ledgers.set(ledgers)
    return record_


@transaction.atomic
def save_group(
    *,
    user,
    scheme: Scheme,
    name: str,
    units: Iterable[Organisation],
    group: UnitGroup | None = None,
    sort_order: int = 0,
    version: int | None = None,
) -> UnitGroup:
    """A unit group and its members; a unit is in one group of a scheme only."""
    _check_office(user, scheme)
    units = list(units)
    name = _text("name", name, _("分组名称"), limit=50)
    if not units:
        raise ValidationError({"units": _("请选择参加考核的单位。")})
    taken = dict(
        GroupMember.objects.filter(scheme=scheme, organisation__in=units)
        .exclude(group=group)
        .values_list("organisation_id", "group__name")
    )
    for unit in units:
        if unit.pk in taken:
            raise ValidationError(
                {
                    "units": _("%(unit)s已在「%(group)s」分组中，一个单位只能在一个分组。")
                    % {"unit": unit, "group": taken[unit.pk]}
                }
            )
    if UnitGroup.objects.filter(scheme=scheme, name=name).exclude(pk=getattr(group, "pk", None)).exists():
        raise ValidationError({"name": _("已有名为「%(name)s」的分组。") % {"name": name}})
    group = group or UnitGroup(scheme=scheme)
    group.name, group.sort_order = name, sort_order
    _save(group, version)
    GroupMember.objects.filter(group=group).exclude(organisation__in=units).delete()
    present = set(GroupMember.objects.filter(group=group).values_list("organisation_id", flat=True))
    GroupMember.objects.bulk_create(
        GroupMember(scheme=scheme, group=group, organisation=unit) for unit in units if unit.pk not in present
    )
    return group


@transaction.atomic
def save_indicator(
    *,
    user,
    scheme: Scheme,
    name: str,
    category: str,
    max_points,
    parent: Indicator | None = None,
    code: str = "",
    criteria: str = "",
    rule_kind: str = "",
    measure: str = "",
    points_per_unit=None,
    base_points=0,
    formula: str = "",
    sort_order: int = 0,
    indicator: Indicator | None = None,
    version: int | None = None,
) -> Indicator:
    """An indicator, its rule checked as it is saved: a formula that does not parse or names an unknown
    measure is refused, with what to fix."""
    _check_office(user, scheme)
    if parent is not None:
        if parent.scheme_id != scheme.pk:
            raise ValidationError({"parent": _("上级指标须属于同一考核方案。")})
        if parent.category != category:
            raise ValidationError({"category": _("下级指标的类别须与上级指标相同。")})
        if indicator is not None and (parent.pk == indicator.pk or parent.parent_id == indicator.pk):
            raise ValidationError({"parent": _("上级指标不能是本指标或其下级。")})
        if parent.parent_id is not None:
            raise ValidationError({"parent": _("指标最多分两级（一级、二级指标）。")})
    max_points = _decimal("max_points", max_points, _("分值"))
    if max_points < 0:
        raise ValidationError({"max_points": _("分值不能为负数。")})
    record_ = indicator or Indicator(scheme=scheme)
    record_.parent, record_.code, record_.name = (
        parent,
        (code or "").strip(),
        _text("name", name, _("指标名称"), limit=100),
    )
    record_.category, record_.max_points, record_.criteria = category, max_points, (criteria or "").strip()
    record_.sort_order = sort_order
    record_.rule_kind, record_.measure, record_.formula = rule_kind or "", "", ""
    record_.points_per_unit, record_.base_points = None, Decimal(0)
    if rule_kind == RuleKind.MEASURE:
        if measure not in MEASURES:
            raise ValidationError({"measure": _("请从列表中选择记录指标。")})
        record_.measure = measure
        record_.points_per_unit = _decimal("points_per_unit", points_per_unit, _("每单位得分"))
        record_.base_points = _decimal("base_points", base_points or 0, _("基础分"))
    elif rule_kind == RuleKind.FORMULA:
        try:
            record_.formula = formulas.parse(formula, MEASURES).text
        except formulas.FormulaError as error:
            raise ValidationError({"formula": error.messages}) from None
    elif rule_kind and rule_kind != RuleKind.MANUAL:
        raise ValidationError({"rule_kind": _("请选择计分方式。")})
    return _save(record_, version)


@transaction.atomic
def delete_indicator(*, user, indicator: Indicator) -> None:
    """Remove an indicator set up by mistake: only one never scored, with no sub-indicators."""
    indicator = Indicator.objects.select_for_update().select_related("scheme").get(pk=indicator.pk)
    _check_office(user, indicator.scheme)
    if indicator.children.exists():
        raise ValidationError(_("「%(name)s」有下级指标，请先删除下级指标。") % {"name": indicator})
    used = (
        IndicatorScore.objects.filter(indicator=indicator).exists()
        or ManualScore.objects.filter(indicator=indicator).exists()
        or Adjustment.objects.filter(indicator=indicator).exists()
        or Objection.objects.filter(indicator=indicator).exists()
    )
    if used:
        raise ValidationError(
            _("「%(name)s」已用于计分、人工评分或异议，不能删除；可修改其名称、分值或计分方式。")
            % {"name": indicator}
        )
    indicator.delete()


def _signable(scheme: Scheme) -> dict[int, Indicator]:
    return {
        indicator.pk: indicator
        for indicator in scheme.indicators.filter(category=Category.SPECIFIC, parent__isnull=True)
    }


@transaction.atomic
def sign_book(
    *,
    user,
    scheme: Scheme,
    organisation: Organisation,
    targets: Sequence[tuple[Indicator, str]],
    signed_on: dt.date | None = None,
    signatory: str = "",
    note: str = "",
    copies: Iterable = (),
    book: ResponsibilityBook | None = None,
    version: int | None = None,
) -> ResponsibilityBook:
    """目标责任书: the specific (一级) indicators a unit signs, each with its target, and signed copies."""
    _check_office(user, scheme)
    if not GroupMember.objects.filter(scheme=scheme, organisation=organisation).exists():
        raise ValidationError(
            {"organisation": _("%(unit)s不在本方案的考核分组中。") % {"unit": organisation}}
        )
    signable = _signable(scheme)
    seen = set()
    for indicator, target in targets:
        if indicator.pk not in signable:
            raise ValidationError(
                {"targets": _("「%(name)s」不是本方案的一级个性指标。") % {"name": indicator}}
            )
        if indicator.pk in seen:
            raise ValidationError({"targets": _("「%(name)s」重复。") % {"name": indicator}})
        seen.add(indicator.pk)
        _text("targets", target, _("「%(name)s」的目标任务") % {"name": indicator}, limit=300)
    checked = [(upload, check_upload(upload, max_bytes=settings.EVIDENCE_MAX_BYTES)) for upload in copies]
    existing = book or ResponsibilityBook.objects.filter(scheme=scheme, organisation=organisation).first()
    if existing is not None and book is None:
        raise ValidationError(
            {"organisation": _("%(unit)s已签订责任书，请在原责任书上修改。") % {"unit": organisation}}
        )
    record_ = book or ResponsibilityBook(scheme=scheme, organisation=organisation)
    record_.signed_on, record_.signatory, record_.note = (
        signed_on,
        (signatory or "").strip(),
        (note or "").strip(),
    )
    _save(record_, version)
    record_.targets.all().delete()
    BookTarget.objects.bulk_create(
        BookTarget(book=record_, indicator=indicator, target=target.strip()) for indicator, target in targets
    )
    for upload, result in checked:
        copy = BookCopy(
            book=record_,
            original_name=upload.name[:200],
            content_type=result.content_type,
            size=result.size,
            sha256=result.sha256,
            sm3=result.sm3,
            uploaded_by=user,
        )
        with storing(copy, upload):
            copy.save()
    return record_


@transaction.atomic
def create_period(*, user, scheme: Scheme, kind: str, name: str, start: dt.date, end: dt.date) -> Period:
    _check_office(user, scheme)
    if kind not in PeriodKind.values:
        raise ValidationError({"kind": _("请选择季度或年度。")})
    if start is None or end is None or end < start:
        raise ValidationError({"end": _("结束日期不能早于开始日期。")})
    if Period.objects.filter(scheme=scheme, kind=kind, start=start).exists():
        raise ValidationError({"start": _("该方案已有从这一天开始的同类考核周期。")})
    return _save(
        Period(scheme=scheme, kind=kind, name=_text("name", name, _("名称"), limit=50), start=start, end=end),
        None,
    )


# Scoring -------------------------------------------------------------------------------------------


def plan_for(scheme: Scheme) -> tuple[Plan, dict[int, set[int]]]:
    """The scheme's checked indicator tree, and the specific indicators each unit's book signs."""
    signed: dict[int, set[int]] = defaultdict(set)
    names = {}
    for unit, short_name, name, indicator in BookTarget.objects.filter(book__scheme=scheme).values_list(
        "book__organisation_id", "book__organisation__short_name", "book__organisation__name", "indicator_id"
    ):
        signed[unit].add(indicator)
        names[unit] = short_name or name
    plan = Plan(
        Indicator.objects.filter(scheme=scheme).order_by("sort_order", "id"),
        full_marks=scheme.full_marks,
        require_full_marks=scheme.require_full_marks,
        bonus_cap=scheme.bonus_cap,
        deduction_cap=scheme.deduction_cap,
        books={names[unit]: indicators for unit, indicators in signed.items()},
    )
    if not plan.nodes:
        plan.problems.append(_("方案还没有指标。"))
    return plan, signed


def _locked_period(period: Period) -> Period:
    return Period.objects.select_for_update().select_related("scheme").get(pk=period.pk)


def _grades(
    scheme: Scheme, totals: dict[int, Decimal], ranks: dict[int, int], vetoed: set[int]
) -> dict[int, str]:
    if scheme.grading == GradingMethod.SHARES:
        hundred = Decimal(100)
        cumulative = [scheme.excellent_line, scheme.good_line, scheme.fair_line]
        shares = [(cumulative[0] / hundred, Grade.EXCELLENT)]
        shares += [
            ((cumulative[i] - cumulative[i - 1]) / hundred, grade)
            for i, grade in ((1, Grade.GOOD), (2, Grade.FAIR))
        ]
        return ranking.grade_by_shares(ranks, [*shares, (Decimal(0), Grade.POOR)], vetoed=vetoed)
    bands = [*scheme.grade_lines(), (Decimal("-Infinity"), Grade.POOR)]
    return {
        unit: ranking.grade_by_bands(total, bands, vetoed=unit in vetoed) for unit, total in totals.items()
    }


def _previous_ranks(period: Period) -> dict[int, int]:
    """Ranks in the latest published period of the same kind that ended before this one began."""
    previous = (
        Period.objects.filter(
            scheme_id=period.scheme_id, kind=period.kind, end__lt=period.start, published_run__isnull=False
        )
        .order_by("-end")
        .values_list("published_run_id", flat=True)
        .first()
    )
    if previous is None:
        return {}
    return dict(UnitScore.objects.filter(run_id=previous).values_list("organisation_id", "rank"))


def _manual_entries(period: Period) -> dict[int, dict[int, ManualEntry]]:
    entries: dict[int, dict[int, ManualEntry]] = defaultdict(dict)
    for unit, indicator, points, reason in ManualScore.objects.filter(
        period=period, status=ReviewStatus.APPROVED
    ).values_list("organisation_id", "indicator_id", "points", "reason"):
        entries[unit][indicator] = ManualEntry(points, reason)
    return entries


def _adjustments(period: Period) -> dict[int, dict[int, list[Adjusted]]]:
    adjusted: dict[int, dict[int, list[Adjusted]]] = defaultdict(lambda: defaultdict(list))
    for unit, indicator, points, reason, by in (
        Adjustment.objects.filter(period=period)
        .order_by("created_at", "pk")
        .values_list("organisation_id", "indicator_id", "points", "reason", "created_by__full_name")
    ):
        adjusted[unit][indicator].append(Adjusted(points, reason, by))
    return adjusted


@transaction.atomic
def run_scoring(*, user, period: Period, as_of: dt.date | None = None, note: str = "") -> ScoreRun:
    """Score every unit of the scheme for ``period`` as the record stands: a new numbered run, frozen.

    Nothing is written when the scheme has a problem (weights that do not add up, a rule that cannot
    be applied) or a formula fails for a unit: the message says which indicator.
    """
    period = _locked_period(period)
    scheme = period.scheme
    _check_office(user, scheme)
    as_of = as_of or timezone.localdate()
    if as_of <= period.start:
        raise ValidationError({"as_of": _("数据截至日期须晚于考核周期的开始日期。")})
    plan, signed = plan_for(scheme)
    if plan.problems:
        raise ValidationError(plan.problems)
    members = list(GroupMember.objects.filter(scheme=scheme).values_list("organisation_id", "group_id"))
    if not members:
        raise ValidationError(_("方案还没有考核分组和单位。"))
    units = [unit for unit, _group in members]
    taken = take(plan.measures, scheme=scheme, units=units, window=Window(period.start, period.end, as_of))
    manual, adjustments = _manual_entries(period), _adjustments(period)
    results = {
        unit: plan.score(
            taken.values[unit],
            signed=signed.get(unit, set()),
            manual=manual.get(unit),
            adjustments=adjustments.get(unit),
        )
        for unit in units
    }
    number = (ScoreRun.objects.filter(period=period).aggregate(last=Max("number"))["last"] or 0) + 1
    run = ScoreRun.objects.create(
        period=period,
        number=number,
        as_of=as_of,
        created_by=user,
        note=(note or "").strip()[:200],
        unit_count=len(units),
    )
    previous = _previous_ranks(period)
    by_group: dict[int, list[int]] = defaultdict(list)
    for unit, group in members:
        by_group[group].append(unit)
    unit_rows = []
    for group, group_units in by_group.items():
        totals = {unit: results[unit].total for unit in group_units}
        vetoed = {unit for unit in group_units if results[unit].vetoed}
        ranks = ranking.competition_ranks(totals, vetoed=vetoed)
        grades = _grades(scheme, totals, ranks, vetoed)
        for unit in group_units:
            result = results[unit]
            unit_rows.append(
                (
                    run.pk,
                    unit,
                    group,
                    result.basic,
                    result.bonus,
                    result.deduction,
                    result.total,
                    result.vetoed,
                    ranks[unit],
                    grades[unit],
                    previous.get(unit),
                    taken.items.get(unit, {}),
                )
            )
    insert_rows(
        UnitScore,
        [
            "run",
            "organisation",
            "group",
            "basic",
            "bonus",
            "deduction",
            "total",
            "vetoed",
            "rank",
            "grade",
            "previous_rank",
            "counted_items",
        ],
        unit_rows,
    )
    insert_rows(
        IndicatorScore,
        ["run", "organisation", "indicator", "points", "raw", "inputs", "note"],
        (
            (run.pk, unit, line.indicator_id, line.points, line.raw, line.inputs, line.note[:300])
            for unit, result in results.items()
            for line in result.lines
        ),
    )
    record(
        action=AuditAction.CREATE,
        obj=run,
        user=user,
        after={"period": period.pk, "number": number, "units": len(units), "as_of": as_of.isoformat()},
    )
    return run


# Manual scores ----------------------------------------------------------------------------------------


def _manual_ceiling(indicator: Indicator) -> Decimal:
    return Decimal(1) if indicator.category == Category.VETO else indicator.max_points


@transaction.atomic
def enter_manual_score(
    *,
    user,
    period: Period,
    organisation: Organisation,
    indicator: Indicator,
    points,
    reason: str,
    evidence: Iterable = (),
    version: int | None = None,
) -> ManualScore:
    """A manual score with its evidence (required), waiting for a second supervisor's review. Entering
    it again replaces it and sends it back for review."""
    period = _locked_period(period)
    _check_office(user, period.scheme)
    if period.status == PeriodStatus.PUBLISHED:
        raise ValidationError(_("考核结果已发布，不能再录入评分。"))
    if (
        indicator.scheme_id != period.scheme_id
        or indicator.rule_kind != RuleKind.MANUAL
        or indicator.children.exists()
    ):
        raise ValidationError({"indicator": _("「%(name)s」不是人工评分的末级指标。") % {"name": indicator}})
    if not GroupMember.objects.filter(scheme_id=period.scheme_id, organisation=organisation).exists():
        raise ValidationError(
            {"organisation": _("%(unit)s不在本方案的考核分组中。") % {"unit": organisation}}
        )
    points = _decimal("points", points, _("得分"))
    ceiling = _manual_ceiling(indicator)
    if points < 0 or points > ceiling:
        raise ValidationError(
            {
                "points": _("得分须在 0 到 %(max)s 分之间（「%(name)s」的分值）。")
                % {"max": f"{ceiling.normalize():f}", "name": indicator}
            }
        )
    reason = _text("reason", reason, _("评分依据"))
    checked = [(upload, check_upload(upload, max_bytes=settings.EVIDENCE_MAX_BYTES)) for upload in evidence]
    score = ManualScore.objects.filter(period=period, organisation=organisation, indicator=indicator).first()
    if score is None:
        score = ManualScore(period=period, organisation=organisation, indicator=indicator)
    elif version is None:
        raise ValidationError(
            _("该单位此项已有评分（%(points)s 分），请打开原评分修改。") % {"points": score.points}
        )
    if not checked and (score.pk is None or not score.evidence.exists()):
        raise ValidationError({"evidence": _("人工评分须上传佐证材料。")})
    score.points, score.reason, score.entered_by = points, reason, user
    score.status, score.reviewed_by, score.reviewed_at, score.review_comment = (
        ReviewStatus.PENDING,
        None,
        None,
        "",
    )
    _save(score, version)
    for upload, result in checked:
        file = ManualEvidence(
            score=score,
            original_name=upload.name[:200],
            content_type=result.content_type,
            size=result.size,
            sha256=result.sha256,
            sm3=result.sm3,
            uploaded_by=user,
        )
        with storing(file, upload):
            file.save()
    return score


@transaction.atomic
def review_manual_score(
    *, user, score: ManualScore, approve: bool, comment: str = "", version: int | None = None
) -> ManualScore:
    """复核 by a supervisor other than the one who entered the score."""
    score = ManualScore.objects.select_for_update().select_related("period__scheme").get(pk=score.pk)
    _check_office(user, score.period.scheme)
    if version is not None and version != score.version:
        raise ValidationError(_("这条评分已被他人修改，请刷新后重新复核。"))
    if score.status != ReviewStatus.PENDING:
        raise ValidationError(_("这条评分已复核（%(status)s）。") % {"status": score.get_status_display()})
    if score.entered_by_id == user.pk:
        raise ValidationError(_("复核须由录入人以外的督办员进行。"))
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"review_comment": _("退回时请写明理由。")})
    score.status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    score.reviewed_by, score.reviewed_at, score.review_comment = user, timezone.now(), comment[:300]
    score.save()
    return score


# Publicity, objections, adjustments, publication ------------------------------------------------------


def _latest_run(period: Period) -> ScoreRun:
    run = period.runs.order_by("-number").first()
    if run is None:
        raise ValidationError(_("请先计分。"))
    return run


def _check_ready(period: Period, run: ScoreRun) -> None:
    """Nothing left that the run has not counted: every manual score reviewed, every change scored."""
    pending = ManualScore.objects.filter(period=period, status=ReviewStatus.PENDING).count()
    if pending:
        raise ValidationError(_("还有 %(n)d 条人工评分待复核。") % {"n": pending})
    changed = (
        ManualScore.objects.filter(period=period, reviewed_at__gt=run.created_at).exists()
        or Adjustment.objects.filter(period=period, created_at__gt=run.created_at).exists()
    )
    if changed:
        raise ValidationError(_("第%(n)d版计分之后又有评分复核或分数调整，请重新计分。") % {"n": run.number})


@transaction.atomic
def publicise(*, user, period: Period, today: dt.date | None = None) -> Period:
    """公示 the latest run: units see their scores and may object until the deadline (working days)."""
    period = _locked_period(period)
    _check_office(user, period.scheme)
    if period.status == PeriodStatus.PUBLISHED:
        raise ValidationError(_("考核结果已发布。"))
    run = _latest_run(period)
    _check_ready(period, run)
    today = today or timezone.localdate()
    period.status, period.publicised_run = PeriodStatus.PUBLICISED, run
    period.objection_deadline = add_working_days(today, period.scheme.objection_days)
    period.save()
    return period


@transaction.atomic
def file_objection(
    *,
    user,
    period: Period,
    organisation: Organisation,
    text: str,
    indicator: Indicator | None = None,
    today: dt.date | None = None,
) -> Objection:
    """异议 by a liaison of the unit, against the publicised run, within the window."""
    period = Period.objects.select_related("scheme").get(pk=period.pk)
    profile = access_profile(user)
    if not profile.has(Role.LIAISON) or organisation.pk not in subtree_id_list(user, profile.liaison_paths):
        raise ValidationError(_("只有本单位的联络员可以提出异议。"))
    if period.status != PeriodStatus.PUBLICISED:
        raise ValidationError(_("考核结果不在公示期，不能提出异议。"))
    today = today or timezone.localdate()
    if today > period.objection_deadline:
        raise ValidationError(
            _("异议期已于 %(day)s 截止，不能再提出异议。") % {"day": f"{period.objection_deadline:%Y-%m-%d}"}
        )
    if not UnitScore.objects.filter(run_id=period.publicised_run_id, organisation=organisation).exists():
        raise ValidationError(
            {"organisation": _("%(unit)s不在本次公示的考核结果中。") % {"unit": organisation}}
        )
    if indicator is not None and indicator.scheme_id != period.scheme_id:
        raise ValidationError({"indicator": _("请选择本方案的指标。")})
    return _save(
        Objection(
            period=period,
            run_id=period.publicised_run_id,
            organisation=organisation,
            indicator=indicator,
            text=_text("text", text, _("异议内容")),
            filed_by=user,
        ),
        None,
    )


@transaction.atomic
def answer_objection(
    *, user, objection: Objection, accept: bool, answer: str, points=None, version: int | None = None
) -> Objection:
    """The office's answer. Accepting with ``points`` records an adjustment on the objection's indicator,
    counted from the next run."""
    objection = (
        # Only the objection's row: the indicator is an outer join, which PostgreSQL will not lock.
        Objection.objects.select_for_update(of=("self",))
        .select_related("period__scheme", "indicator")
        .get(pk=objection.pk)
    )
    _check_office(user, objection.period.scheme)
    if version is not None and version != objection.version:
        raise ValidationError(_("这条异议已被他人处理，请刷新后查看。"))
    if objection.status != ObjectionStatus.PENDING:
        raise ValidationError(_("这条异议已答复。"))
    if objection.period.status == PeriodStatus.PUBLISHED:
        raise ValidationError(_("考核结果已发布，不能再答复异议。"))
    answer = _text("answer", answer, _("答复意见"))
    if points not in (None, ""):
        if not accept:
            raise ValidationError({"points": _("不予采纳的异议不调整分数。")})
        if objection.indicator is None:
            raise ValidationError({"points": _("异议未指明指标，请登记分数调整时选择指标。")})
        adjust_score(
            user=user,
            period=objection.period,
            organisation=objection.organisation,
            indicator=objection.indicator,
            points=points,
            reason=answer[:300],
            objection=objection,
        )
    objection.status = ObjectionStatus.ACCEPTED if accept else ObjectionStatus.REJECTED
    objection.answer, objection.answered_by, objection.answered_at = answer, user, timezone.now()
    objection.save()
    return objection


@transaction.atomic
def adjust_score(
    *,
    user,
    period: Period,
    organisation: Organisation,
    indicator: Indicator,
    points,
    reason: str,
    objection: Objection | None = None,
) -> Adjustment:
    """A correction of a unit's points on a leaf indicator, with the reason: counted from the next run."""
    period = _locked_period(period)
    _check_office(user, period.scheme)
    if period.status == PeriodStatus.PUBLISHED:
        raise ValidationError(_("考核结果已发布，不能再调整分数。"))
    if (
        indicator.scheme_id != period.scheme_id
        or indicator.category == Category.VETO
        or indicator.children.exists()
    ):
        raise ValidationError({"indicator": _("请选择本方案中计分的末级指标（一票否决项不能调整分值）。")})
    points = _decimal("points", points, _("调整分值"))
    if points == 0:
        raise ValidationError({"points": _("调整分值不能为 0。")})
    if abs(points) > indicator.max_points:
        raise ValidationError(
            {"points": _("调整分值不能超过该指标的分值 %(max)s 分。") % {"max": indicator.max_points}}
        )
    return Adjustment.objects.create(
        period=period,
        organisation=organisation,
        indicator=indicator,
        points=points,
        reason=_text("reason", reason, _("调整理由"), limit=300),
        objection=objection,
        created_by=user,
    )


@transaction.atomic
def publish(*, user, period: Period, today: dt.date | None = None) -> Period:
    """发布 the latest run, after the objection window and every objection answered. Final: its scores are
    frozen, and a later run (a new version, compared with it on screen) cannot replace it."""
    period = _locked_period(period)
    _check_office(user, period.scheme)
    if period.status == PeriodStatus.PUBLISHED:
        raise ValidationError(
            _("考核结果已于 %(day)s 发布，发布后不再更改。")
            % {"day": f"{timezone.localtime(period.published_at):%Y-%m-%d}"}
        )
    run = _latest_run(period)
    _check_ready(period, run)
    pending = Objection.objects.filter(period=period, status=ObjectionStatus.PENDING).count()
    if pending:
        raise ValidationError(_("还有 %(n)d 条异议未答复。") % {"n": pending})
    today = today or timezone.localdate()
    if period.status == PeriodStatus.PUBLICISED and today <= period.objection_deadline:
        raise ValidationError(
            _("异议期到 %(day)s 截止，截止后才能发布。") % {"day": f"{period.objection_deadline:%Y-%m-%d}"}
        )
    if period.status == PeriodStatus.OPEN and period.scheme.objection_days:
        raise ValidationError(_("请先公示考核结果，异议期满后再发布。"))
    period.status, period.published_run, period.published_at = PeriodStatus.PUBLISHED, run, timezone.now()
    period.save()
    return period
