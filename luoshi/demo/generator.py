"""Generate a fictional district (or city) with nine months of supervision work.

``generate_demo`` builds the demo through the services, replaying every item's life at the
moment it happens (with a frozen clock), so the data obeys every rule the services enforce.
``generate_bulk`` builds the same kind of data at city scale with ``bulk_create`` and computes the
derived fields (status, percent, last reported period, warning) the way the services would.
Both are deterministic for a seed and a "today".
"""

import contextlib
import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from luoshi.audit.context import AuditContext
from luoshi.audit.context import current as audit_context
from luoshi.core.text import pinyin_full, pinyin_initials
from luoshi.demo.assessment import write_assessment
from luoshi.demo.plan import (
    DEMO_PASSWORD,
    TZ,
    Plan,
    build_plan,
    final_status,
    item_rng,
    ledger_created,
    plan_life,
    plan_lives,
)
from luoshi.ledgers import services
from luoshi.ledgers.models import (
    EventKind,
    ExtensionRequest,
    ExtensionStatus,
    Item,
    ItemEvent,
    ItemStatus,
    Ledger,
    LedgerField,
    Milestone,
    ProgressReport,
    ReportStatus,
)
from luoshi.ledgers.periods import period_containing
from luoshi.ledgers.warnings import compute_warning
from luoshi.orgs import services as org_services
from luoshi.orgs.models import PATH_STEP, LeaderCharge, Membership, Organisation, Role, User

# Rows that make a database "not empty" for the demo commands.
BUSINESS_MODELS = (Organisation, Ledger, Item)


def has_business_data() -> bool:
    return any(model.objects.exists() for model in BUSINESS_MODELS)


@dataclass
class Result:
    plan: Plan
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0


# A clock the services read ------------------------------------------------------------------------


class FrozenClock:
    """Patches ``django.utils.timezone.now`` so services, ``auto_now`` fields and ``localdate`` see ``now``."""

    def __init__(self):
        self.now: dt.datetime | None = None
        self._real = timezone.now

    def __call__(self):
        return self.now if self.now is not None else self._real()

    def __enter__(self):
        timezone.now = self
        return self

    def __exit__(self, *exc):
        timezone.now = self._real


def _actor_context(user) -> None:
    audit_context.set(AuditContext(user_id=user.pk, username=user.username))


# The demo: every step through the services ------------------------------------------------------


def generate_demo(
    *,
    seed: int = 2026,
    n_orgs: int = 100,
    n_items: int = 480,
    today: dt.date | None = None,
    log: Callable[[str], None] | None = None,
) -> Result:
    started = time.monotonic()
    plan = build_plan(seed=seed, n_orgs=n_orgs, n_items=n_items, today=today)
    writer = ServiceWriter(plan, seed, log=log or (lambda message: None))
    token = audit_context.set(AuditContext(username="demo"))
    try:
        with transaction.atomic():
            writer.run()
        # The clock is real again: bring every warning up to today.
        services.refresh_stale_warnings(plan.today)
        with transaction.atomic():
            writer.write_assessment()
    finally:
        audit_context.reset(token)
    return Result(plan=plan, counts=count_rows(), seconds=time.monotonic() - started)


class ServiceWriter:
    def __init__(self, plan: Plan, seed: int, log):
        self.plan, self.seed, self.log = plan, seed, log
        self.orgs: list[Organisation] = []
        self.users: list[User] = []
        self.ledgers: list[Ledger] = []
        self.items: dict[int, Item] = {}
        self.history: list = []
        self.liaison_of: dict[int, User] = {}
        self.rng = random.Random(f"{seed}-writer")  # nosec B311 # seeded, repeatable demo data, never a secret
        # Nothing may look as if it happened in the future.
        self.latest = timezone.now() - dt.timedelta(minutes=5)

    def run(self):
        plan = self.plan
        with FrozenClock() as clock:
            clock.now = dt.datetime.combine(plan.year_start - dt.timedelta(days=30), dt.time(9), tzinfo=TZ)
            self.write_orgs()
            self.write_people()
            self.write_ledgers()
            self.log(f"单位 {len(self.orgs)}，人员 {len(self.users)}，台账 {len(self.ledgers)}")
            events = []
            for item in plan_lives(plan, self.seed):
                self.queue(item, events)
            events.sort(key=lambda event: (event[0], event[1]))
            self.log(f"事项 {len(plan.items)}，回放 {len(events)} 个操作")
            for when, _seq, name, actor, step in events:
                clock.now = when
                _actor_context(actor)
                try:
                    step()
                except Exception as error:
                    raise RuntimeError(
                        f"demo step {name!r} at {when:%Y-%m-%d %H:%M} failed: {error}"
                    ) from error
            self.write_history()
            self.log(f"另直接写入较早的进展 {len(self.history)} 条")

    def write_assessment(self):
        """The year's assessment over the departments and townships, from the record just replayed."""
        plan = self.plan
        units = {
            tag: [self.orgs[spec.index] for spec in plan.orgs if spec.tag == tag]
            for tag in ("dept", "township")
        }
        write_assessment(
            office=self.orgs[plan.office],
            supervisors=[self.users[index] for index in plan.supervisors],
            departments=units["dept"],
            townships=units["township"],
            year=plan.year,
            today=plan.today,
            seed=self.seed,
        )
        self.log("考核方案与各季度考核结果已生成")

    # Units, people, ledgers ------------------------------------------------------------------

    def write_orgs(self):
        for spec in self.plan.orgs:
            parent = self.orgs[spec.parent] if spec.parent is not None else None
            self.orgs.append(
                org_services.create_organisation(
                    name=spec.name, parent=parent, short_name=spec.short, kind=spec.kind, sort_order=spec.sort
                )
            )

    def write_people(self):
        for spec in self.plan.people:
            user = org_services.create_user(
                username=spec.username, full_name=spec.full_name, phone=spec.phone
            )
            for org, role, title in spec.memberships:
                org_services.grant_role(user=user, organisation=self.orgs[org], role=role, title=title)
                if role == Role.LIAISON:
                    self.liaison_of.setdefault(org, user)
            if spec.charges:
                org_services.set_leader_charges(
                    leader=user, organisations=[self.orgs[i] for i in spec.charges]
                )
            self.users.append(user)
        # One hash for everyone: hashing is deliberately slow, and every demo account shares the password.
        User.objects.filter(pk__in=[user.pk for user in self.users]).update(
            password=make_password(DEMO_PASSWORD)
        )

    def write_ledgers(self):
        office = self.orgs[self.plan.office]
        for spec in self.plan.ledgers:
            ledger = Ledger.objects.create(
                name=spec.name,
                year=self.plan.year,
                campaign=spec.campaign,
                owner_office=office,
                item_kind=spec.item_kind,
                description=spec.description,
                default_report_cycle=spec.cycle,
            )
            for order, values in enumerate(spec.fields):
                LedgerField.objects.create(ledger=ledger, sort_order=order, **values)
            self.ledgers.append(ledger)

    # Items -------------------------------------------------------------------------------------

    def queue(self, item, events):
        life = item.life
        sup = self.users[self.plan.supervisors[0]]
        liaison = self.liaison_of[item.lead_org]

        def add(when, name, actor, step):
            # A global counter keeps each item's steps in the order they were planned.
            events.append((min(when, self.latest), self._counter(), f"{name} · {item.title}", actor, step))

        add(life.created, "create", sup, lambda: self.create(item, sup))
        if life.assigned:
            add(life.assigned, "assign", sup, lambda: self.transition(item, "assign", sup))
        if life.accepted:
            add(life.accepted, "accept", liaison, lambda: self.transition(item, "accept", liaison))
        for name, due in self.milestone_days(item):
            add(
                dt.datetime.combine(due, dt.time(17, 30), tzinfo=TZ),
                "milestone",
                sup,
                lambda name=name, due=due: self.finish_milestone(item, name, due, sup),
            )
        history = self.history_reports(item)
        for report in life.reports:
            author = self.users[report.author]
            if any(report is h for h in history):
                self.history.append((item, report))
                continue
            if report.submitted is None:
                add(
                    self.latest,
                    "draft report",
                    author,
                    lambda r=report, a=author: self.save(item, r, a, False),
                )
                continue
            add(report.submitted, "report", author, lambda r=report, a=author: self.save(item, r, a, True))
            if report.returned:
                reviewer = self.users[report.reviewer]
                add(
                    report.returned,
                    "return report",
                    reviewer,
                    lambda r=report, u=reviewer: self.review(r, u, False),
                )
                if report.resubmitted:
                    add(
                        report.resubmitted,
                        "resubmit",
                        author,
                        lambda r=report, a=author: self.save(item, r, a, True, revised=True),
                    )
            if report.reviewed:
                reviewer = self.users[report.reviewer]
                add(
                    report.reviewed,
                    "accept report",
                    reviewer,
                    lambda r=report, u=reviewer: self.review(r, u, True),
                )
        if life.extension:
            ext = life.extension
            add(ext.requested, "request extension", liaison, lambda: self.request_extension(item, liaison))
            if ext.decided:
                add(ext.decided, "decide extension", sup, lambda: self.decide_extension(item, sup))
        if life.completion_requested:
            add(
                life.completion_requested,
                "request completion",
                liaison,
                lambda: self.transition(
                    item, "request_completion", liaison, "已按要求完成全部工作任务，申请办结。"
                ),
            )
        if life.completed:
            add(life.completed, "complete", sup, lambda: self.transition(item, "complete", sup))
        if life.closed:
            add(life.closed, "close", sup, lambda: self.transition(item, "close", sup, "经核查，同意销号。"))
        if life.suspended:
            add(
                life.suspended,
                "suspend",
                sup,
                lambda: self.transition(item, "suspend", sup, "因上级政策调整，经领导同意暂缓实施。"),
            )

    _next = 0

    @staticmethod
    def history_reports(item) -> list:
        """Plain accepted reports between an item's first and its last two: they change nothing the later
        reports do not set again, so they are written directly (the services replay all the others)."""
        reports = item.life.reports
        co = [r for r in reports if r.org != item.lead_org and r.reviewed and not r.returned]
        lead = [r for r in reports if r.org == item.lead_org and r.percent is not None]
        if item.children or len(lead) < 4:
            return co
        return [r for r in lead[1:-2] if r.reviewed and not r.returned and r.percent != 100] + co

    def write_history(self):
        """The reports ``history_reports`` set aside, with their timeline entries."""
        reports, events = [], []
        for spec, r in self.history:
            item = self.items[spec.index]
            period_late = period_containing(r.period_start, spec.cycle).late_after(
                item.ledger.report_grace_days
            )
            reports.append(
                ProgressReport(
                    item_id=item.pk,
                    organisation_id=self.orgs[r.org].pk,
                    period_start=r.period_start,
                    period_end=r.period_end,
                    text=r.text,
                    percent_complete=r.percent,
                    measures=r.measures,
                    problems=r.problems,
                    next_steps=r.next_steps,
                    status=ReportStatus.ACCEPTED,
                    author_id=self.users[r.author].pk,
                    submitted_at=r.submitted,
                    is_late=timezone.localtime(r.submitted, TZ).date() > period_late,
                    reviewer_id=self.users[r.reviewer].pk,
                    reviewed_at=r.reviewed,
                    created_at=r.submitted,
                    updated_at=r.reviewed,
                )
            )
        with manual_timestamps(ProgressReport, ItemEvent):
            ProgressReport.objects.bulk_create(reports, batch_size=1000)
            for report, (_spec, r) in zip(reports, self.history, strict=True):
                events.append(
                    ItemEvent(
                        item_id=report.item_id,
                        kind=EventKind.REPORT_SUBMITTED,
                        report=report,
                        actor_id=report.author_id,
                        created_at=r.submitted,
                        data={"percent": r.percent},
                    )
                )
                events.append(
                    ItemEvent(
                        item_id=report.item_id,
                        kind=EventKind.REPORT_ACCEPTED,
                        report=report,
                        actor_id=report.reviewer_id,
                        created_at=r.reviewed,
                    )
                )
            ItemEvent.objects.bulk_create(events, batch_size=1000)

    def _counter(self):
        self._next += 1
        return self._next

    def create(self, spec, sup):
        parent = self.items[spec.parent] if spec.parent is not None else None
        item = services.create_item(
            ledger=self.ledgers[spec.ledger],
            user=sup,
            co_orgs=[self.orgs[i] for i in spec.co_orgs],
            extra=spec.extra,
            parent=parent,
            kind=spec.kind,
            code=spec.code,
            title=spec.title,
            description=spec.description,
            source=spec.source,
            lead_leader=self.users[spec.lead_leader] if spec.lead_leader is not None else None,
            lead_org=self.orgs[spec.lead_org],
            owner=self.users[spec.owner] if spec.owner is not None else None,
            start_date=spec.start,
            deadline=spec.deadline,
            is_standing=spec.standing,
            report_cycle=spec.cycle,
            sort_order=spec.sort,
        )
        self.items[spec.index] = item
        if spec.life.milestones:
            services.schedule_milestones(item=item, user=sup, phases=spec.life.milestones)

    def milestone_days(self, spec):
        """The due days of milestones finished by today (not for items that fell behind)."""
        if not spec.life.milestones or spec.fate in ("behind", "silent", "overdue", "ext_refused"):
            return []
        schedule = services.backward_schedule(spec.deadline, spec.life.milestones)
        if schedule[0][2] < spec.start:
            return []
        return [(name, due) for name, _days, _start, due in schedule if due < self.plan.today]

    def finish_milestone(self, spec, name, due, sup):
        milestone = Milestone.objects.select_related("item__ledger").filter(
            item=self.items[spec.index], name=name
        )
        for row in milestone:
            services.update_milestone(
                milestone=row, user=sup, done_on=due - dt.timedelta(days=self.rng.randint(0, 3))
            )

    def transition(self, spec, action, user, comment=""):
        services.transition_item(
            item=Item(pk=self.items[spec.index].pk), action=action, user=user, comment=comment
        )

    def save(self, spec, plan_report, author, submit, revised=False):
        item = self.items[spec.index]
        percent = plan_report.percent
        if percent is None:  # a summary report: the progress rolled up from the children today
            percent = Item.objects.values_list("percent_complete", flat=True).get(pk=item.pk)
        text = plan_report.text + ("（已按审核意见补充完善）" if revised else "")
        existing = None
        if revised:
            existing = ProgressReport.objects.get(pk=plan_report.pk)
        report = services.save_report(
            item=item,
            user=author,
            text=text,
            percent_complete=percent,
            period_day=plan_report.period_start,
            measures=plan_report.measures,
            problems=plan_report.problems,
            next_steps=plan_report.next_steps,
            submit=submit,
            report=existing,
        )
        plan_report.pk = report.pk

    def review(self, plan_report, user, accept):
        report = ProgressReport.objects.select_related("item__ledger", "item__lead_org").get(
            pk=plan_report.pk
        )
        comment = "" if accept else plan_report.return_comment
        services.review_report(report=report, user=user, accept=accept, comment=comment)

    def request_extension(self, spec, liaison):
        ext = spec.life.extension
        item = Item.objects.select_related("ledger", "lead_org").get(pk=self.items[spec.index].pk)
        ext.pk = services.request_extension(
            item=item, user=liaison, new_deadline=ext.new_deadline, reason=ext.reason
        ).pk

    def decide_extension(self, spec, sup):
        ext = spec.life.extension
        services.decide_extension(
            request=ExtensionRequest(pk=ext.pk),
            user=sup,
            approve=ext.approve,
            comment=ext.comment,
            excused=ext.excused,
        )


# City scale: bulk_create ------------------------------------------------------------------------


@contextlib.contextmanager
def manual_timestamps(*models):
    """Let bulk rows keep the created_at/updated_at we give them (history, not the moment of loading)."""
    saved = []
    for model in models:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _next_pk(model) -> int:
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1


def generate_bulk(
    *,
    seed: int = 2026,
    n_orgs: int = 5000,
    n_items: int = 50000,
    n_reports: int | None = None,
    today: dt.date | None = None,
    batch_size: int = 5000,
    log: Callable[[str], None] | None = None,
) -> Result:
    started = time.monotonic()
    log = log or (lambda message: None)
    plan = build_plan(seed=seed, n_orgs=n_orgs, n_items=n_items, today=today)
    log(
        f"计划完成：单位 {len(plan.orgs)}，人员 {len(plan.people)}，事项 {len(plan.items)}"
        f"（{time.monotonic() - started:.1f}s）"
    )
    writer = BulkWriter(plan, seed, batch_size=batch_size, log=log, started=started)
    with (
        transaction.atomic(),
        manual_timestamps(Item, ProgressReport, ItemEvent, ExtensionRequest, Milestone),
    ):
        writer.run(n_reports)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return Result(plan=plan, counts=count_rows(), seconds=time.monotonic() - started)


class BulkWriter:
    def __init__(self, plan: Plan, seed: int, *, batch_size: int, log, started: float):
        self.plan, self.seed, self.batch_size, self.log, self.started = plan, seed, batch_size, log, started
        self.reports: list[ProgressReport] = []
        self.events: list[ItemEvent] = []
        self.report_count = 0
        self.event_count = 0

    def say(self, message):
        self.log(f"{message}（{time.monotonic() - self.started:.1f}s）")

    def run(self, n_reports):
        plan = self.plan
        self.write_orgs()
        self.write_people()
        self.write_ledgers()
        self.say(f"单位 {len(plan.orgs)}、人员 {len(plan.people)} 已写入")
        keep = self.tune_reports(n_reports)
        self.write_items(keep)
        self.say(f"事项 {len(plan.items)}、进展 {self.report_count}、动态 {self.event_count} 已写入")

    def flush(self, final=False):
        if self.reports and (final or len(self.reports) >= self.batch_size):
            ProgressReport.objects.bulk_create(self.reports, batch_size=self.batch_size)
            self.report_count += len(self.reports)
            self.reports = []
        if self.events and (final or len(self.events) >= self.batch_size):
            ItemEvent.objects.bulk_create(self.events, batch_size=self.batch_size)
            self.event_count += len(self.events)
            self.events = []

    def write_orgs(self):
        base = _next_pk(Organisation)
        self.org_pk = [base + spec.index for spec in self.plan.orgs]
        parents_path = {}
        rows = []
        for spec in self.plan.orgs:
            pk = self.org_pk[spec.index]
            parent_path, depth = ("", 0) if spec.parent is None else parents_path[spec.parent]
            path = f"{parent_path}{pk:0{PATH_STEP}d}/"
            parents_path[spec.index] = (path, depth + 1)
            rows.append(
                Organisation(
                    pk=pk,
                    parent_id=self.org_pk[spec.parent] if spec.parent is not None else None,
                    name=spec.name,
                    short_name=spec.short,
                    kind=spec.kind,
                    sort_order=spec.sort,
                    path=path,
                    depth=depth,
                    pinyin=pinyin_full(spec.name),
                    pinyin_initials=pinyin_initials(spec.short or spec.name),
                )
            )
        Organisation.objects.bulk_create(rows, batch_size=self.batch_size)

    def write_people(self):
        base = _next_pk(User)
        self.user_pk = [base + spec.index for spec in self.plan.people]
        password = make_password(DEMO_PASSWORD)
        users, memberships, charges = [], [], []
        for spec in self.plan.people:
            pk = self.user_pk[spec.index]
            users.append(
                User(
                    pk=pk,
                    username=spec.username,
                    full_name=spec.full_name,
                    phone=spec.phone,
                    password=password,
                    pinyin=pinyin_full(spec.full_name),
                    pinyin_initials=pinyin_initials(spec.full_name),
                )
            )
            for org, role, title in spec.memberships:
                memberships.append(
                    Membership(user_id=pk, organisation_id=self.org_pk[org], role=role, title=title)
                )
            for org in spec.charges:
                charges.append(LeaderCharge(leader_id=pk, organisation_id=self.org_pk[org]))
        User.objects.bulk_create(users, batch_size=self.batch_size)
        Membership.objects.bulk_create(memberships, batch_size=self.batch_size)
        LeaderCharge.objects.bulk_create(charges, batch_size=self.batch_size)

    def write_ledgers(self):
        self.ledgers = []
        for spec in self.plan.ledgers:
            ledger = Ledger.objects.create(
                name=spec.name,
                year=self.plan.year,
                campaign=spec.campaign,
                owner_office_id=self.org_pk[self.plan.office],
                item_kind=spec.item_kind,
                description=spec.description,
                default_report_cycle=spec.cycle,
            )
            LedgerField.objects.bulk_create(
                LedgerField(ledger=ledger, sort_order=order, **values)
                for order, values in enumerate(spec.fields)
            )
            self.ledgers.append(ledger)

    def tune_reports(self, n_reports) -> float:
        """Switch some items to weekly reports, or keep a share of reports, to land near ``n_reports``."""
        if not n_reports:
            return 1.0
        rng = random.Random(f"{self.seed}-tune")  # nosec B311 # seeded, repeatable demo data, never a secret
        leaves = [item for item in self.plan.items if not item.children]
        sample = rng.sample(leaves, min(300, len(leaves)))
        created = ledger_created(self.plan, self.seed)

        def natural(items):
            """Reports per item, from the very lives the writer will plan (same per-item seeds)."""
            total = 0
            for item in items:
                life = plan_life(item, self.plan, item_rng(self.seed, item), created[item.ledger], 2)
                total += len(life.reports)
                item.life = None
            return total / max(1, len(items))

        per_item = natural(sample)
        parents = len(self.plan.items) - len(leaves)
        wanted = max(0.0, (n_reports - parents * 3) / max(1, len(leaves)))
        for _attempt in range(4):
            if per_item >= wanted * 0.97:
                break
            # A monthly item turned weekly reports about 25 more times in nine months.
            monthly = [item for item in leaves if item.cycle in ("monthly", "semimonthly")]
            if not monthly:
                break
            share = min(1.0, (wanted - per_item) * len(leaves) / (len(monthly) * 25))
            for item in monthly:
                if rng.random() < share:
                    item.cycle = "weekly"
            per_item = natural(sample)
        keep = min(1.0, wanted / per_item) if per_item else 1.0
        self.say(f"每个事项约 {per_item:.1f} 期进展，保留比例 {keep:.2f}")
        return keep

    def write_items(self, keep: float):
        plan = self.plan
        base = _next_pk(Item)
        item_pk = {spec.index: base + spec.index for spec in plan.items}
        rng = random.Random(f"{self.seed}-bulk")  # nosec B311 # seeded, repeatable demo data, never a secret
        ledgers = self.ledgers
        org, user = self.org_pk, self.user_pk
        rows: dict[int, Item] = {}
        extensions, milestones = [], []
        parents = []
        for spec in plan_lives(plan, self.seed):
            life = spec.life
            pk = item_pk[spec.index]
            row = Item(
                pk=pk,
                ledger=ledgers[spec.ledger],
                parent_id=item_pk[spec.parent] if spec.parent is not None else None,
                kind=spec.kind,
                code=spec.code,
                title=spec.title,
                description=spec.description,
                source=spec.source,
                lead_leader_id=user[spec.lead_leader] if spec.lead_leader is not None else None,
                lead_org_id=org[spec.lead_org],
                owner_id=user[spec.owner] if spec.owner is not None else None,
                start_date=spec.start,
                deadline=spec.deadline,
                original_deadline=spec.deadline,
                assessed_deadline=spec.deadline,
                is_standing=spec.standing,
                report_cycle=spec.cycle,
                extra=spec.extra,
                sort_order=spec.sort,
                status=final_status(spec),
                created_at=life.created,
                updated_at=life.created,
            )
            rows[spec.index] = row
            if spec.children:
                parents.append(spec)
                continue
            self.leaf_rows(spec, row, pk, rng, keep, extensions, milestones)
            spec.life.reports = []  # written; a city's million reports need not stay in memory
            self.flush()
        # Parents: progress rolls up from the children (deepest first), and their own summary reports.
        for spec in reversed(parents):
            row = rows[spec.index]
            kids = [rows[i] for i in spec.children if rows[i].status != ItemStatus.SUSPENDED]
            weight = sum((k.weight for k in kids), Decimal(0))
            if weight:
                row.percent_complete = round(
                    sum((k.weight * k.percent_complete for k in kids), Decimal(0)) / weight
                )
            for report in spec.life.reports:
                report.percent = _percent_at(plan, spec, report.period_end)
            counted = [r.period_end for r in spec.life.reports if r.status in ("submitted", "accepted")]
            row.last_report_period_end = max(counted, default=None)
            self.report_rows(spec, row, item_pk[spec.index], spec.life.reports)
            self.transition_events(spec, row)
            self.flush()
        for spec in plan.items:
            row = rows[spec.index]
            warning = compute_warning(row, plan.today, has_children=bool(spec.children))
            row.warning_color, row.schedule_category = warning.color, warning.category
            row.warning_reason_code, row.warning_reason_args = warning.code, warning.args
            row.warning_as_of = plan.today
        Item.objects.bulk_create(rows.values(), batch_size=self.batch_size)
        through = Item.co_orgs.through
        through.objects.bulk_create(
            (
                through(item_id=item_pk[s.index], organisation_id=org[o])
                for s in plan.items
                for o in s.co_orgs
            ),
            batch_size=self.batch_size,
        )
        ExtensionRequest.objects.bulk_create(extensions, batch_size=self.batch_size)
        Milestone.objects.bulk_create(milestones, batch_size=self.batch_size)
        self.flush(final=True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [Organisation, User, Item]):
                    cursor.execute(sql)

    def leaf_rows(self, spec, row, pk, rng, keep, extensions, milestones):
        plan, life, user = self.plan, spec.life, self.user_pk
        if keep < 1.0 and life.reports:
            last = life.reports[-1]
            life.reports = [r for r in life.reports if r is last or r.percent == 100 or rng.random() < keep]
        self.report_rows(spec, row, pk, life.reports)
        lead_reports = [r for r in life.reports if r.org == spec.lead_org and r.submitted]
        # As the services count them: the lead unit's submitted or accepted report for the latest
        # period sets both (a returned one no longer counts; none left: 0 and no period).
        counted = [r for r in lead_reports if r.status in ("submitted", "accepted")]
        if counted:
            latest = max(counted, key=lambda r: r.period_end)
            row.percent_complete = latest.percent
            row.last_report_period_end = latest.period_end
        ext = life.extension
        if ext:
            status = ExtensionStatus.PENDING
            if ext.decided:
                status = ExtensionStatus.APPROVED if ext.approve else ExtensionStatus.REFUSED
            extensions.append(
                ExtensionRequest(
                    item_id=pk,
                    requested_by_id=user[_liaison(plan, spec.lead_org)],
                    old_deadline=ext.old_deadline,
                    new_deadline=ext.new_deadline,
                    reason=ext.reason,
                    status=status,
                    decided_by_id=user[plan.supervisors[0]] if ext.decided else None,
                    decided_at=ext.decided,
                    decision_comment=ext.comment if ext.decided else "",
                    excused=ext.excused and ext.approve,
                    created_at=ext.requested,
                    updated_at=ext.decided or ext.requested,
                )
            )
            if status == ExtensionStatus.APPROVED:
                row.deadline = ext.new_deadline
                if ext.excused:
                    row.assessed_deadline = ext.new_deadline
        if life.completed:
            row.completed_on = life.completed.date()
            row.percent_complete = 100
        if life.suspended:
            row.status_before_suspension = ItemStatus.IN_PROGRESS if lead_reports else ItemStatus.ACCEPTED
        if life.milestones:
            schedule = services.backward_schedule(spec.deadline, life.milestones)
            if schedule[0][2] >= spec.start:
                on_time = spec.fate not in ("behind", "silent", "overdue", "ext_refused")
                for order, (name, days, start, due) in enumerate(schedule):
                    done = (
                        due - dt.timedelta(days=rng.randint(0, 3)) if on_time and due < plan.today else None
                    )
                    milestones.append(
                        Milestone(
                            item_id=pk,
                            name=name,
                            duration_days=days,
                            start_date=start,
                            due_date=due,
                            done_on=done,
                            sort_order=order,
                            created_at=life.created,
                            updated_at=life.created,
                        )
                    )
        self.transition_events(spec, row)

    def report_rows(self, spec, row, pk, reports):
        plan, user, org = self.plan, self.user_pk, self.org_pk
        ledger = row.ledger
        for r in reports:
            submitted = r.resubmitted or r.submitted
            if r.submitted:
                period_late = _late_after(r.period_start, spec.cycle, ledger.report_grace_days)
                late = timezone.localtime(submitted, TZ).date() > period_late
            else:
                late = False
            reviewer = user[r.reviewer] if r.reviewer is not None else None
            self.reports.append(
                ProgressReport(
                    item_id=pk,
                    organisation_id=org[r.org],
                    period_start=r.period_start,
                    period_end=r.period_end,
                    text=r.text,
                    percent_complete=r.percent or 0,
                    measures=r.measures,
                    problems=r.problems,
                    next_steps=r.next_steps,
                    status=r.status,
                    author_id=user[r.author],
                    submitted_at=submitted,
                    is_late=late,
                    reviewer_id=reviewer if (r.reviewed or r.returned) else None,
                    reviewed_at=r.reviewed or r.returned,
                    review_comment=r.return_comment if r.status == ReportStatus.RETURNED else "",
                    created_at=r.submitted or life_now(plan),
                    updated_at=r.reviewed or submitted or life_now(plan),
                )
            )
            if r.returned:
                self.events.append(
                    ItemEvent(
                        item_id=pk,
                        kind=EventKind.REPORT_RETURNED,
                        actor_id=reviewer,
                        created_at=r.returned,
                        comment=r.return_comment,
                    )
                )

    def transition_events(self, spec, row):
        life, user, plan = spec.life, self.user_pk, self.plan
        sup = user[plan.supervisors[0]]
        liaison = user[_liaison(plan, spec.lead_org)]
        pk = row.pk

        def event(when, kind, actor, **values):
            if when is not None:
                self.events.append(
                    ItemEvent(item_id=pk, kind=kind, actor_id=actor, created_at=when, **values)
                )

        def step(when, actor, action, old, new, comment=""):
            event(
                when,
                EventKind.TRANSITION,
                actor,
                action=action,
                from_status=old,
                to_status=new,
                comment=comment,
            )

        S = ItemStatus
        event(life.created, EventKind.CREATED, sup)
        step(life.assigned, sup, "assign", S.DRAFT, S.ASSIGNED)
        step(life.accepted, liaison, "accept", S.ASSIGNED, S.ACCEPTED)
        first = min(
            (r.submitted for r in life.reports if r.submitted and r.org == spec.lead_org), default=None
        )
        step(first, liaison, "start", S.ACCEPTED, S.IN_PROGRESS)
        ext = life.extension
        if ext:
            event(ext.requested, EventKind.EXTENSION_REQUESTED, liaison, comment=ext.reason)
            kind = EventKind.EXTENSION_APPROVED if ext.approve else EventKind.EXTENSION_REFUSED
            event(ext.decided, kind, sup, comment=ext.comment)
        step(
            life.completion_requested,
            liaison,
            "request_completion",
            S.IN_PROGRESS,
            S.COMPLETION_REQUESTED,
            "已按要求完成全部工作任务，申请办结。",
        )
        step(life.completed, sup, "complete", S.COMPLETION_REQUESTED, S.COMPLETED)
        step(life.closed, sup, "close", S.COMPLETED, S.CLOSED, "经核查，同意销号。")
        step(
            life.suspended,
            sup,
            "suspend",
            row.status_before_suspension or S.IN_PROGRESS,
            S.SUSPENDED,
            "因上级政策调整，经领导同意暂缓实施。",
        )
        updated = [t for t in (life.created, life.accepted, life.completed, life.closed, life.suspended) if t]
        row.updated_at = max(updated)


def life_now(plan):
    return dt.datetime.combine(plan.today, dt.time(9), tzinfo=TZ)


def _liaison(plan, org_index) -> int:
    """The first liaison of a unit (the supervisor when it has none), from an index built once per plan."""
    index = getattr(plan, "_liaisons", None)
    if index is None:
        index = {}
        for person in plan.people:
            for org, role, _title in person.memberships:
                if role == Role.LIAISON:
                    index.setdefault(org, person.index)
        plan._liaisons = index
    return index.get(org_index, plan.supervisors[0])


def _late_after(period_start, cycle, grace_days):
    return period_containing(period_start, cycle).late_after(grace_days)


def _percent_at(plan, spec, day) -> int:
    """A parent's progress on ``day``: the (equal-weight) mean of its children's, as the roll-up does."""
    values = []
    for index in spec.children:
        child = plan.items[index]
        life = child.life
        if life.suspended and life.suspended.date() <= day:
            continue
        if child.children:
            values.append(_percent_at(plan, child, day))
        elif life.accepted is None or life.accepted.date() > day:
            values.append(0)
        elif life.completion_requested and life.completion_requested.date() <= day:
            values.append(100)
        else:
            values.append(life.percent_on(day) if life.percent_on else 0)
    return round(sum(values) / len(values)) if values else 0


# Counting -------------------------------------------------------------------------------------


def _by(model, field_name) -> dict:
    rows = model.objects.order_by().values(field_name).annotate(n=Count("pk"))
    return {row[field_name]: row["n"] for row in rows}


def count_rows() -> dict:
    return {
        "orgs": Organisation.objects.count(),
        "users": User.objects.count(),
        "memberships": _by(Membership, "role"),
        "ledgers": Ledger.objects.count(),
        "items": Item.objects.count(),
        "item_status": _by(Item, "status"),
        "warning": _by(Item, "warning_color"),
        "reports": ProgressReport.objects.count(),
        "report_status": _by(ProgressReport, "status"),
        "late_reports": ProgressReport.objects.filter(is_late=True).count(),
        "extensions": _by(ExtensionRequest, "status"),
        "milestones": Milestone.objects.count(),
        "events": ItemEvent.objects.count(),
    }
