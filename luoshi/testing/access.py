"""Tools for access-matrix tests: the URLconf as a list of routes, a scene of objects inside and outside
every role's scope, the outcomes a request may have, and a snapshot of the rows an action could touch.

``tests/security/test_access_matrix.py`` uses them to request every URL as every role of the ``world``
(``luoshi.testing.fixtures``) with an object inside the world's scope, one nobody in it may see, and an
id that does not exist.
"""

import datetime as dt
from dataclasses import dataclass

from axes.models import AccessAttempt
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from luoshi.assessment.models import (
    Adjustment,
    BookCopy,
    BookTarget,
    GroupMember,
    Indicator,
    IndicatorScore,
    ManualEvidence,
    ManualScore,
    Objection,
    Period,
    ResponsibilityBook,
    Scheme,
    ScoreRun,
    UnitGroup,
    UnitScore,
)
from luoshi.exchange.models import ImportBatch, OutlineDraft
from luoshi.ledgers import services
from luoshi.ledgers.models import (
    Evidence,
    ExtensionRequest,
    Item,
    ItemAttachment,
    ItemEvent,
    ItemStatus,
    Ledger,
    LedgerField,
    Milestone,
    ProgressReport,
    SavedFilter,
    Tag,
)
from luoshi.ledgers.tests.factories import ItemFactory, LedgerFactory, LedgerFieldFactory, advance
from luoshi.notifications.models import Channel, Delivery, Notification, Preference
from luoshi.orgs.models import LeaderCharge, Membership, Organisation, Role, User
from luoshi.orgs.tests.factories import OrganisationFactory, UserFactory, grant
from luoshi.security.models import UserSession
from luoshi.supervision.models import (
    Accountability,
    Escalation,
    EscalationPolicy,
    EscalationRule,
    Finding,
    FindingPhoto,
    Inspection,
    Instruction,
    InstructionRecipient,
    Interview,
    OrderEvent,
    OrderEvidence,
    SupervisionOrder,
    Urge,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MISSING_PK = 999_999

# The URLconf --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # with namespaces, e.g. "ledgers:item_detail"; "<unnamed …>" for a pattern without a name
    kwargs: tuple[str, ...]  # the URL's keyword arguments, from every level of includes


def url_routes(resolver: URLResolver | None = None, namespace: str = "", kwargs=()) -> dict[str, Route]:
    """Every pattern of the URLconf by full name, recursing into includes."""
    resolver = resolver or get_resolver()
    routes = {}
    for entry in resolver.url_patterns:
        names = (*kwargs, *entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            prefix = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            routes.update(url_routes(entry, prefix, names))
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else f"<unnamed {namespace}{entry.pattern}>"
            routes[name] = Route(name, names)
    return routes


# The scene: the world's objects in a state every screen has something to show, and a foreign twin ----


@dataclass
class Scene:
    """``world`` plus, inside its scope and outside everyone's, an item with every kind of dependent row.

    Inside (the world's office and units): ``item`` in progress (led by lead_unit, co-unit co_unit,
    lead leader ``leader``) with two milestones (``milestone`` is the first), the lead unit's submitted
    ``lead_report`` and its ``evidence``, the co-unit's ``draft_report`` and an ``attachment`` the lead
    liaison uploaded; ``item2`` (same people) with a pending ``extension``; an unused custom ``field``
    on the world's ledger.

    Outside: ``foreign_office`` owns ``foreign_ledger``; its ``foreign_item`` is led by ``foreign_unit``
    (a sibling of lead_unit under the district government, overseen by no one in the world) with the
    same dependent rows. No user of the world belongs to any of them.
    """

    world: object
    item: Item
    lead_report: ProgressReport
    draft_report: ProgressReport
    evidence: Evidence
    attachment: ItemAttachment
    milestone: Milestone
    item2: Item
    extension: ExtensionRequest
    field: LedgerField

    foreign_office: Organisation
    foreign_unit: Organisation
    foreign_supervisor: User
    foreign_liaison: User
    foreign_ledger: Ledger
    foreign_item: Item
    foreign_lead_report: ProgressReport
    foreign_draft_report: ProgressReport
    foreign_evidence: Evidence
    foreign_attachment: ItemAttachment
    foreign_milestone: Milestone
    foreign_extension: ExtensionRequest
    foreign_field: LedgerField
    foreign_filter: SavedFilter

    def user(self, role: str) -> User | None:
        """The world's user for a role name (``None`` for "anonymous")."""
        return None if role == "anonymous" else getattr(self.world, role)

    def saved_filter_of(self, user: User) -> SavedFilter:
        return services.save_filter(user=user, name=f"{user.username}的筛选", query="status=in_progress")

    def membership_of(self, user: User) -> Membership:
        return Membership.objects.get(user=user)


def _populate(item, *, supervisor, liaison, co_liaison, tag: str):
    """Move ``item`` to in progress with milestones, a submitted lead report (with evidence) and a
    co-unit draft."""
    services.schedule_milestones(item=item, user=supervisor, phases=[(f"{tag}方案制定", 5), ("组织实施", 10)])
    item = advance(item, ItemStatus.IN_PROGRESS, supervisor=supervisor, liaison=liaison)
    upload = SimpleUploadedFile(f"{tag}佐证.pdf", PDF, content_type="application/pdf")
    lead_report = services.save_report(
        item=item, user=liaison, text=f"{tag}牵头单位进展", percent_complete=40, files=[upload]
    )
    draft = services.save_report(
        item=item, user=co_liaison, text=f"{tag}配合单位草稿", percent_complete=10, submit=False
    )
    item = Item.objects.get(pk=item.pk)
    return item, lead_report, draft, lead_report.evidence.get(), item.milestones.order_by("due_date").first()


def _attachment(item, liaison, tag: str) -> ItemAttachment:
    upload = SimpleUploadedFile(f"{tag}任务分解表.pdf", PDF + tag.encode(), content_type="application/pdf")
    return services.attach_to_item(item=item, user=liaison, upload=upload, description=f"{tag}会议决定")


def _extension(item, liaison, tag: str) -> ExtensionRequest:
    return services.request_extension(
        item=item, user=liaison, new_deadline=item.deadline + dt.timedelta(days=30), reason=f"{tag}征地未完成"
    )


def build_scene(world) -> Scene:
    w = world
    item, lead_report, draft, evidence, milestone = _populate(
        w.item, supervisor=w.supervisor, liaison=w.lead_liaison, co_liaison=w.co_liaison, tag="本区"
    )
    item2 = w.make_item(title="老旧小区改造提升", co_orgs=[w.co_unit], lead_leader=w.leader)
    item2 = advance(item2, ItemStatus.IN_PROGRESS, supervisor=w.supervisor, liaison=w.lead_liaison)
    extension = _extension(item2, w.lead_liaison, "本区")

    foreign_office = OrganisationFactory(name="外区督查室")
    foreign_unit = OrganisationFactory(name="区卫生健康委员会", parent=w.government)
    foreign_co_unit = OrganisationFactory(name="区医疗保障局", parent=w.government)
    foreign_supervisor = UserFactory(username="foreign_supervisor", full_name="外区督办")
    grant(foreign_supervisor, foreign_office, Role.SUPERVISOR)
    foreign_liaison = UserFactory(username="foreign_liaison", full_name="卫健联络")
    grant(foreign_liaison, foreign_unit, Role.LIAISON)
    foreign_co_liaison = UserFactory(username="foreign_co_liaison", full_name="医保联络")
    grant(foreign_co_liaison, foreign_co_unit, Role.LIAISON)
    foreign_ledger = LedgerFactory(name="外区保密台账", owner_office=foreign_office)
    foreign_item = ItemFactory(
        ledger=foreign_ledger,
        user=foreign_supervisor,
        title="外区医疗卫生体制改革",
        lead_org=foreign_unit,
        co_orgs=[foreign_co_unit],
    )
    foreign_item, foreign_lead_report, foreign_draft, foreign_evidence, foreign_milestone = _populate(
        foreign_item,
        supervisor=foreign_supervisor,
        liaison=foreign_liaison,
        co_liaison=foreign_co_liaison,
        tag="外区",
    )
    return Scene(
        world=w,
        item=item,
        lead_report=lead_report,
        draft_report=draft,
        evidence=evidence,
        attachment=_attachment(item, w.lead_liaison, "本区"),
        milestone=milestone,
        item2=item2,
        extension=extension,
        field=LedgerFieldFactory(ledger=w.ledger, key="investment_note", label="投资说明"),
        foreign_office=foreign_office,
        foreign_unit=foreign_unit,
        foreign_supervisor=foreign_supervisor,
        foreign_liaison=foreign_liaison,
        foreign_ledger=foreign_ledger,
        foreign_item=foreign_item,
        foreign_lead_report=foreign_lead_report,
        foreign_draft_report=foreign_draft,
        foreign_evidence=foreign_evidence,
        foreign_attachment=_attachment(foreign_item, foreign_liaison, "外区"),
        foreign_milestone=foreign_milestone,
        foreign_extension=_extension(foreign_item, foreign_liaison, "外区"),
        foreign_field=LedgerFieldFactory(ledger=foreign_ledger, key="secret_note", label="外区字段"),
        foreign_filter=services.save_filter(user=foreign_supervisor, name="外区筛选", query="status=draft"),
    )


# Outcomes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a request must get: a status, where a redirect goes, and whether the database may change."""

    label: str
    status: int
    location: str | None = None  # URL name a redirect must lead to ("login": the sign-in page)
    changes: bool | None = None  # True: must write; False: must not; None: not checked
    refusal: bool = False  # a Chinese error message must be queued for the next page

    def __str__(self):
        return self.label


OK = Outcome("ok", 200)
FORM = Outcome("form", 200, changes=False)  # a POST redisplays its form: nothing written
DONE = Outcome("done", 302, changes=True)
DONE_JSON = Outcome("done (json)", 200, changes=True)  # an htmx/Tom Select endpoint that answers in JSON
REFUSED = Outcome("refused", 302, changes=False, refusal=True)
NOT_FOUND = Outcome("404", 404, changes=False)
LOGIN = Outcome("login", 302, location="login", changes=False)


def redirect_to(name: str) -> Outcome:
    return Outcome(f"redirect:{name}", 302, location=name)


def error_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def location_matches(response, name: str) -> bool:
    return response["Location"].split("?")[0] == reverse(name)


# Snapshot ---------------------------------------------------------------------------------------------

SNAPSHOT_MODELS = (
    Scheme,
    Scheme.ledgers.through,
    UnitGroup,
    GroupMember,
    Indicator,
    ResponsibilityBook,
    BookTarget,
    BookCopy,
    Period,
    ScoreRun,
    UnitScore,
    IndicatorScore,
    ManualScore,
    ManualEvidence,
    Objection,
    Adjustment,
    Organisation,
    User,
    Membership,
    LeaderCharge,
    Ledger,
    LedgerField,
    Tag,
    Item,
    Item.co_orgs.through,
    Item.tags.through,
    Milestone,
    ItemEvent,
    ProgressReport,
    Evidence,
    ItemAttachment,
    ExtensionRequest,
    SavedFilter,
    UserSession,
    AccessAttempt,
    ImportBatch,
    OutlineDraft,
    Instruction,
    InstructionRecipient,
    SupervisionOrder,
    OrderEvent,
    OrderEvidence,
    Interview,
    Accountability,
    Inspection,
    Inspection.team.through,
    Inspection.targets.through,
    Finding,
    FindingPhoto,
    Urge,
    EscalationPolicy,
    EscalationRule,
    Escalation,
    Notification,
    Preference,
    Channel,
    Delivery,
)
VOLATILE = {"last_login", "last_seen"}  # set by signing in and by activity, not by the action under test


def snapshot() -> dict[str, list[tuple]]:
    """Every row an action of the business or admin screens could write (the world is small)."""
    return {
        model._meta.label: list(
            model._default_manager.order_by("pk").values_list(
                *(f.attname for f in model._meta.concrete_fields if f.attname not in VOLATILE)
            )
        )
        for model in SNAPSHOT_MODELS
    }


def snapshot_diff(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]
