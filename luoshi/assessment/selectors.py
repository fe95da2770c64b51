"""Reads of the assessment module, scoped to the user and fetched in a fixed number of queries."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Prefetch, Q

from luoshi.assessment.measures import MEASURES
from luoshi.assessment.models import (
    BookTarget,
    Indicator,
    IndicatorScore,
    ManualScore,
    Objection,
    Period,
    PeriodStatus,
    ResponsibilityBook,
    ReviewStatus,
    RuleKind,
    Scheme,
    ScoreRun,
    UnitGroup,
    UnitScore,
)
from luoshi.assessment.querysets import assessed_unit_ids
from luoshi.ledgers.models import Item
from luoshi.orgs.models import Organisation
from luoshi.orgs.selectors import access_profile


def is_office(user, scheme: Scheme) -> bool:
    return scheme.office_id in access_profile(user).supervisor_org_ids


def scheme_list(user):
    return (
        Scheme.objects.visible_to(user)
        .select_related("office")
        .annotate(group_count=Count("groups", distinct=True), period_count=Count("periods", distinct=True))
    )


def editable_schemes(user):
    return Scheme.objects.filter(office_id__in=access_profile(user).supervisor_org_ids)


def scheme_for_detail(user, pk: int) -> Scheme:
    """The scheme with its groups (and members), indicators, books and the periods the user may see."""
    groups = UnitGroup.objects.annotate(member_count=Count("members")).prefetch_related(
        Prefetch("members__organisation", queryset=Organisation.objects.order_by("path"))
    )
    books = ResponsibilityBook.objects.select_related("organisation").prefetch_related(
        Prefetch("targets", queryset=BookTarget.objects.select_related("indicator")), "copies"
    )
    return (
        Scheme.objects.visible_to(user)
        .select_related("office")
        .prefetch_related(
            "ledgers",
            Prefetch("groups", queryset=groups),
            Prefetch("books", queryset=books.order_by("organisation__path")),
            Prefetch("periods", queryset=Period.objects.visible_to(user).order_by("-start", "kind")),
        )
        .get(pk=pk)
    )


def indicator_tree(scheme: Scheme) -> list[Indicator]:
    """First-level indicators in order, each with ``.sub`` (its children in order)."""
    indicators = list(scheme.indicators.order_by("sort_order", "id"))
    children = defaultdict(list)
    for indicator in indicators:
        children[indicator.parent_id].append(indicator)
    for indicator in indicators:
        indicator.sub = children.get(indicator.pk, [])
    return children.get(None, [])


def flattened_tree(scheme: Scheme) -> list[Indicator]:
    """Every indicator, each first-level one followed by its children (``level`` 1 or 2)."""
    rows = []
    for root in indicator_tree(scheme):
        root.level = 1
        rows.append(root)
        for child in root.sub:
            child.level, child.sub = 2, []
            rows.append(child)
    return rows


def period_for_detail(user, pk: int) -> Period:
    return (
        Period.objects.visible_to(user)
        .select_related("scheme__office", "published_run", "publicised_run")
        .get(pk=pk)
    )


def runs_shown(user, period: Period):
    """The runs the user may open: every run to the office, the announced one(s) to everyone else."""
    runs = period.runs.select_related("created_by").order_by("-number")
    if is_office(user, period.scheme):
        return runs
    return runs.filter(pk__in=[pk for pk in (period.published_run_id, period.publicised_run_id) if pk])


def run_to_show(user, period: Period, number: int | None = None) -> ScoreRun | None:
    """The run asked for by ``number`` if the user may see it; otherwise the published run; before
    publication the office's latest run, and the publicised one for everyone else."""
    runs = runs_shown(user, period)
    if number is not None:
        return runs.filter(number=number).first()
    if period.published_run_id:
        return runs.filter(pk=period.published_run_id).first()
    if is_office(user, period.scheme):
        return runs.first()
    return runs.filter(pk=period.publicised_run_id).first() if period.publicised_run_id else None


def run_for(user, pk: int) -> ScoreRun:
    """A run by id, if the user may see its period and the run itself."""
    run = ScoreRun.objects.select_related("period__scheme__office", "created_by").get(pk=pk)
    period = Period.objects.visible_to(user).filter(pk=run.period_id).first()
    if period is None or not runs_shown(user, run.period).filter(pk=run.pk).exists():
        raise ScoreRun.DoesNotExist
    return run


@dataclass
class GroupRanking:
    group: UnitGroup
    scores: list[UnitScore]
    red_list: list[UnitScore]
    black_list: list[UnitScore]


def ranking(run: ScoreRun) -> list[GroupRanking]:
    """Each group's ranking in the run, best first, with its red and black lists (红榜/黑榜)."""
    from luoshi.assessment.ranking import top_and_bottom

    size = run.period.scheme.list_size
    rows = (
        UnitScore.objects.filter(run=run)
        .select_related("organisation", "group")
        .order_by("group__sort_order", "group_id", "rank", "organisation__path")
    )
    groups: dict[int, GroupRanking] = {}
    for score in rows:
        groups.setdefault(score.group_id, GroupRanking(score.group, [], [], [])).scores.append(score)
    for entry in groups.values():
        ranks = {score: score.rank for score in entry.scores}
        entry.red_list, entry.black_list = top_and_bottom(ranks, size)
    return list(groups.values())


def ranking_chart(rankings: list[GroupRanking]) -> list[dict]:
    """Chart data for each group's ranking bars and every unit's score composition."""
    return [
        {
            "group": entry.group.name,
            "units": [str(score.organisation) for score in entry.scores],
            "basic": [float(score.basic) for score in entry.scores],
            "bonus": [float(score.bonus) for score in entry.scores],
            "deduction": [-float(score.deduction) for score in entry.scores],
            "total": [float(score.total) for score in entry.scores],
        }
        for entry in rankings
    ]


def latest_published(user) -> Period | None:
    """The most recently published period the user may see (for the battle map)."""
    return (
        Period.objects.visible_to(user)
        .filter(published_run__isnull=False)
        .select_related("scheme", "published_run__period__scheme")
        .order_by("-published_at", "-pk")
        .first()
    )


def may_see_breakdown(user, run: ScoreRun, organisation_id: int) -> bool:
    """The office sees every unit's breakdown; a unit and the leaders in charge of it see its own."""
    return is_office(user, run.period.scheme) or organisation_id in assessed_unit_ids(user)


@dataclass
class BreakdownLine:
    indicator: Indicator
    level: int
    score: IndicatorScore | None
    measures: list[tuple[str, str, str]]  # (name, description, value) of each measure the rule used


def breakdown(run: ScoreRun, organisation_id: int) -> tuple[UnitScore, list[BreakdownLine], dict]:
    """How the unit's score was reached in the run: every indicator in tree order with its points, the
    measure values its rule used, the notes (manual grounds, adjustments with who and why), and the items
    each measure counted (by name: a list of items)."""
    unit = UnitScore.objects.select_related("group", "organisation").get(
        run=run, organisation_id=organisation_id
    )
    scored = {
        line.indicator_id: line
        for line in IndicatorScore.objects.filter(run=run, organisation_id=organisation_id)
    }
    lines = []
    for indicator in flattened_tree(run.period.scheme):
        score = scored.get(indicator.pk)
        if score is None:
            continue  # a specific indicator the unit did not sign, or added after the run
        measures = [
            (name, str(MEASURES[name].description) if name in MEASURES else "", value)
            for name, value in (score.inputs.items() if score else ())
        ]
        lines.append(BreakdownLine(indicator, indicator.level, score, measures))
    item_ids = {pk for ids in unit.counted_items.values() for pk in ids}
    items = (
        Item.objects.filter(pk__in=item_ids)
        .select_related("ledger")
        .only("pk", "title", "code", "ledger__name")
    )
    by_pk = {item.pk: item for item in items}
    order = list(MEASURES)
    counted = {
        name: [by_pk[pk] for pk in unit.counted_items[name] if pk in by_pk]
        for name in sorted(
            unit.counted_items, key=lambda name: order.index(name) if name in order else len(order)
        )
    }
    return unit, lines, counted


@dataclass
class Change:
    organisation: Organisation
    group: UnitGroup
    before: UnitScore | None
    after: UnitScore | None
    indicators: list[tuple[Indicator, Decimal | None, Decimal | None]]

    @property
    def total_change(self) -> Decimal | None:
        if self.before is None or self.after is None:
            return None
        return self.after.total - self.before.total


def run_changes(older: ScoreRun, newer: ScoreRun) -> list[Change]:
    """The units whose total, rank, grade or any indicator's points differ between two runs."""
    before = {
        s.organisation_id: s
        for s in UnitScore.objects.filter(run=older).select_related("organisation", "group")
    }
    after = {
        s.organisation_id: s
        for s in UnitScore.objects.filter(run=newer).select_related("organisation", "group")
    }
    points = defaultdict(dict)
    for run, index in ((older, 0), (newer, 1)):
        for unit, indicator, value in IndicatorScore.objects.filter(run=run).values_list(
            "organisation_id", "indicator_id", "points"
        ):
            points[(unit, indicator)][index] = value
    differing = defaultdict(list)
    for (unit, indicator), values in points.items():
        if values.get(0) != values.get(1):
            differing[unit].append((indicator, values.get(0), values.get(1)))
    indicators = Indicator.objects.in_bulk(
        {indicator for rows in differing.values() for indicator, *_ in rows}
    )
    changes = []
    for unit in sorted(set(before) | set(after)):
        old, new = before.get(unit), after.get(unit)
        same = (
            old
            and new
            and (old.total, old.rank, old.grade, old.vetoed) == (new.total, new.rank, new.grade, new.vetoed)
        )
        if same and not differing.get(unit):
            continue
        shown = new or old
        rows = sorted(
            ((indicators[i], a, b) for i, a, b in differing.get(unit, [])),
            key=lambda row: (row[0].sort_order, row[0].pk),
        )
        changes.append(Change(shown.organisation, shown.group, old, new, rows))
    return sorted(changes, key=lambda change: (change.group.sort_order, change.organisation.path))


def manual_scores(period: Period):
    return (
        ManualScore.objects.filter(period=period)
        .select_related("organisation", "indicator", "entered_by", "reviewed_by")
        .prefetch_related("evidence")
        .order_by("status", "indicator__sort_order", "organisation__path")
    )


def manual_indicators(scheme: Scheme):
    return scheme.indicators.filter(rule_kind=RuleKind.MANUAL, children__isnull=True).order_by(
        "sort_order", "id"
    )


def pending_reviews(period: Period) -> int:
    return ManualScore.objects.filter(period=period, status=ReviewStatus.PENDING).count()


def objections(user, period: Period):
    """All of the period's objections to the office; a unit's own to its people and leaders in charge."""
    rows = Objection.objects.filter(period=period).select_related(
        "organisation", "indicator", "filed_by", "answered_by", "run"
    )
    if is_office(user, period.scheme):
        return rows.order_by("status", "-created_at")
    return rows.filter(organisation_id__in=assessed_unit_ids(user)).order_by("-created_at")


def objectable_units(user, period: Period):
    """The units of the publicised run the user may object for: those where they are liaison."""
    if period.status != PeriodStatus.PUBLICISED:
        return Organisation.objects.none()
    profile = access_profile(user)
    if not profile.liaison_paths:
        return Organisation.objects.none()
    condition = Q(pk__in=[])
    for path in profile.liaison_paths:
        condition |= Q(path__startswith=path)
    scored = UnitScore.objects.filter(run_id=period.publicised_run_id).values("organisation_id")
    return Organisation.objects.filter(condition, pk__in=scored).order_by("path")


def unit_trend(scheme: Scheme, organisation_id: int) -> list[tuple[Period, UnitScore]]:
    """The unit's published results period by period, for the trend chart."""
    periods = Period.objects.filter(scheme=scheme, published_run__isnull=False).order_by("start", "kind")
    scores = {
        score.run_id: score
        for score in UnitScore.objects.filter(
            organisation_id=organisation_id, run_id__in=periods.values("published_run_id")
        )
    }
    return [
        (period, scores[period.published_run_id]) for period in periods if period.published_run_id in scores
    ]
