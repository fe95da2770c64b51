"""The plan of a generated data set: units, people, ledgers, items and each item's life, as plain data.

The plan is pure Python and deterministic for a seed (and a "today"). Two writers turn it into rows:
``generator.write_with_services`` replays every life through the ledger services (the demo), and
``generator.write_in_bulk`` derives the end state directly and uses ``bulk_create`` (large sets).
"""

import datetime as dt
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from luoshi.core.calendar import add_working_days, working_days_between
from luoshi.core.text import chinese_numeral
from luoshi.demo import names as N
from luoshi.ledgers.models import FieldTarget, FieldType, ItemKind, ItemSource, ItemStatus, ReportCycle
from luoshi.ledgers.periods import period_containing
from luoshi.ledgers.warnings import expected_percent
from luoshi.orgs.models import OrgKind, Role

DEMO_PASSWORD = "Luoshi@2026"  # nosec B105 # the published demo password, never used in production
# The logins printed by `luoshi demo`, one per role.
LOGINS = [
    ("supervisor", Role.SUPERVISOR),
    ("leader", Role.LEADER),
    ("liaison", Role.LIAISON),
    ("handler", Role.HANDLER),
    ("sysadmin", Role.SYSTEM_ADMIN),
    ("secadmin", Role.SECURITY_ADMIN),
    ("auditor", Role.AUDIT_ADMIN),
]
SHOWCASE_UNIT = "区发改局"  # the liaison and handler logins work here; it leads items in every state

TZ = ZoneInfo(settings.TIME_ZONE)

# Item fates: what has happened to a leaf item by today. Weights are per mille.
FATES = {
    "on_track": 330,
    "behind": 90,
    "silent": 50,  # stopped reporting: red for a missing report
    "overdue": 60,
    "ext_approved": 50,
    "ext_refused": 30,
    "completion_requested": 40,
    "completed": 110,
    "closed": 100,
    "suspended": 20,
    "assigned": 30,
    "draft": 20,
}
INSTRUCTION_FATES = {**FATES, "completed": 220, "closed": 260, "on_track": 150}


# Specs -----------------------------------------------------------------------------------------


@dataclass
class OrgSpec:
    index: int
    name: str
    short: str
    kind: str
    parent: int | None
    tag: str  # party_root, gov_root, office, party_dept, dept, section, township, village, grid, enterprise, district
    sort: int = 0


@dataclass
class PersonSpec:
    index: int
    username: str
    full_name: str
    memberships: list = field(default_factory=list)  # (org index, role, title)
    charges: list = field(default_factory=list)  # org indexes
    phone: str = ""


@dataclass
class LedgerSpec:
    index: int
    name: str
    item_kind: str
    cycle: str
    description: str = ""
    campaign: str = ""
    fields: list = field(default_factory=list)  # dicts for LedgerField
    share: float = 0.0


@dataclass
class ReportPlan:
    period_start: dt.date
    period_end: dt.date
    org: int
    author: int
    percent: int
    text: str
    problems: str
    next_steps: str
    measures: dict
    submitted: dt.datetime | None  # None: still a draft
    late: bool = False
    returned: dt.datetime | None = None
    return_comment: str = ""
    resubmitted: dt.datetime | None = None
    reviewed: dt.datetime | None = None  # accepted at
    reviewer: int | None = None

    @property
    def status(self) -> str:
        if self.submitted is None:
            return "draft"
        if self.returned and not self.resubmitted:
            return "returned"
        return "accepted" if self.reviewed else "submitted"


@dataclass
class ExtensionPlan:
    requested: dt.datetime
    old_deadline: dt.date
    new_deadline: dt.date
    reason: str
    decided: dt.datetime | None
    approve: bool
    excused: bool = False
    comment: str = ""


@dataclass
class Life:
    created: dt.datetime
    assigned: dt.datetime | None = None
    accepted: dt.datetime | None = None
    reports: list = field(default_factory=list)
    extension: ExtensionPlan | None = None
    completion_requested: dt.datetime | None = None
    completed: dt.datetime | None = None
    closed: dt.datetime | None = None
    suspended: dt.datetime | None = None
    milestones: list = field(default_factory=list)  # (name, working days)
    # the trajectory of progress: percent(day)
    pace: float = 1.0
    lead_days: int = 0
    cap: int = 95
    percent_on: object = None  # day → planned percent complete (leaves only)


@dataclass
class ItemSpec:
    index: int
    ledger: int
    parent: int | None
    kind: str
    code: str
    title: str
    source: str
    lead_org: int
    co_orgs: list
    lead_leader: int | None
    owner: int | None
    start: dt.date
    deadline: dt.date | None
    standing: bool
    cycle: str
    extra: dict
    fate: str
    sort: int
    description: str = ""
    weight: Decimal = Decimal("1")
    children: list = field(default_factory=list)
    life: Life | None = None
    reporter: int | None = None
    co_reporter: tuple | None = None  # (org index, person index) of a co-unit that reports too
    milestones_kind: str = ""  # a key of names.MILESTONE_PHASES: schedule milestones backward


@dataclass
class Plan:
    today: dt.date
    year_start: dt.date
    year: int
    orgs: list
    people: list
    ledgers: list
    items: list
    office: int
    supervisors: list  # person indexes
    logins: dict  # login name → person index

    def leaves(self):
        return [item for item in self.items if not item.children]


# Helpers ---------------------------------------------------------------------------------------


def at(day: dt.date, rng: random.Random, earliest: dt.datetime | None = None) -> dt.datetime:
    """A moment in office hours on ``day`` (moved to a working day), not before ``earliest``."""
    day = add_working_days(day, 0)
    moment = dt.datetime(day.year, day.month, day.day, rng.randint(8, 17), rng.randint(0, 59), tzinfo=TZ)
    if earliest is not None and moment <= earliest:
        moment = earliest + dt.timedelta(minutes=rng.randint(5, 90))
    return moment


def weighted(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def clamp(value, low, high):
    return max(low, min(high, value))


# Units and people ------------------------------------------------------------------------------


class OrgBuilder:
    def __init__(self):
        self.orgs: list[OrgSpec] = []
        self.children = Counter()

    def add(self, name, short, kind, parent, tag) -> int:
        self.children[parent] += 1
        self.orgs.append(OrgSpec(len(self.orgs), name, short, kind, parent, tag, sort=self.children[parent]))
        return len(self.orgs) - 1


def _local_names(rng, words, suffix, count):
    prefixes = ["", "新", "东", "西", "南", "北", "上", "下", "中", "大", "小", "前", "后"]
    combos = [p + w for p, w in itertools.product(prefixes, words)]
    rng.shuffle(combos)
    # Unprefixed names first: they read most naturally.
    combos.sort(key=lambda name: name not in words)
    return [name + suffix for name in combos[:count]]


def _add_district(
    b: OrgBuilder,
    rng,
    *,
    prefix: str,
    gov_parent,
    party_parent,
    villages_per_township: int,
    townships: int,
    with_party: bool,
    with_sections: bool,
):
    """One district's units; ``prefix`` replaces 青川区 in names (for the city)."""

    def rename(name, short):
        if prefix == N.DISTRICT:
            return name, short
        district_short = prefix[:2]
        return name.replace(N.DISTRICT, prefix), short.replace("区", district_short, 1)

    if with_party:
        for name, short in N.PARTY_DEPARTMENTS:
            b.add(
                *rename(name, short),
                OrgKind.PARTY_COMMITTEE if short == "区委办" else OrgKind.DEPARTMENT,
                party_parent,
                "party_dept",
            )
    for name, short in N.GOVERNMENT_DEPARTMENTS:
        index = b.add(*rename(name, short), OrgKind.DEPARTMENT, gov_parent, "dept")
        if with_sections:
            for section in N.SECTIONS.get(short, []):
                b.add(section, "", OrgKind.OTHER, index, "section")
    town_names = list(N.TOWNSHIPS)
    if townships > len(town_names):
        extra = _local_names(rng, N.VILLAGE_WORDS + N.COMMUNITY_WORDS, "", townships - len(town_names) + 20)
        extra = [name for name in extra if name + "街道" not in {t for _, t in town_names}]
        for name in extra[: townships - len(town_names)]:
            if rng.random() < 0.5:
                town_names.append((f"{name}街道办事处", f"{name}街道"))
            else:
                town_names.append((f"{name}镇人民政府", f"{name}镇"))
    for t_index, (name, short) in enumerate(town_names[:townships]):
        town = b.add(
            name if prefix == N.DISTRICT else f"{prefix}{name}",
            short,
            OrgKind.TOWNSHIP,
            gov_parent,
            "township",
        )
        is_street = short.endswith("街道")
        words = N.COMMUNITY_WORDS if is_street else N.VILLAGE_WORDS
        for v_index, village in enumerate(
            _local_names(rng, words, "社区" if is_street else "村", villages_per_township)
        ):
            full = f"{village}{'居民委员会' if is_street else '村民委员会'}"
            v = b.add(full, village, OrgKind.VILLAGE, town, "village")
            if is_street and t_index < 1 and v_index < 2:
                for grid in N.GRID_NAMES:
                    b.add(grid, f"{village}{grid}", OrgKind.OTHER, v, "grid")
    for name, short in N.ENTERPRISES:
        b.add(*rename(name, short), OrgKind.ENTERPRISE, gov_parent, "enterprise")


CITY_DISTRICTS = [
    "锦江区",
    "东湖区",
    "望江区",
    "龙泉区",
    "新桥区",
    "翠屏区",
    "南苑区",
    "白鹤县",
    "石门县",
    "清溪县",
    "桃源县",
    "金沙县",
    "云台县",
    "玉溪县",
    "凤鸣县",
    "安宁县",
    "长乐县",
    "永丰县",
    "临川县",
    "宝山县",
]


def build_orgs(rng: random.Random, n_orgs: int) -> tuple[list[OrgSpec], int]:
    """About ``n_orgs`` units; returns them and the index of the supervision office."""
    b = OrgBuilder()
    if n_orgs <= 300:
        party = b.add("中共青川区委员会", "区委", OrgKind.PARTY_COMMITTEE, None, "party_root")
        gov = b.add("青川区人民政府", "区政府", OrgKind.GOVERNMENT, None, "gov_root")
        office = b.add(*N.SUPERVISION_OFFICE, OrgKind.DEPARTMENT, party, "office")
        fixed = 3 + len(N.PARTY_DEPARTMENTS) + len(N.GOVERNMENT_DEPARTMENTS) + 6 + len(N.ENTERPRISES) + 4
        townships = 12 if n_orgs >= 80 else 4
        villages = clamp(round((n_orgs - fixed - townships) / townships), 0, 40)
        _add_district(
            b,
            rng,
            prefix=N.DISTRICT,
            gov_parent=gov,
            party_parent=party,
            villages_per_township=villages,
            townships=townships,
            with_party=True,
            with_sections=True,
        )
        return b.orgs, office
    party = b.add("中共青川市委员会", "市委", OrgKind.PARTY_COMMITTEE, None, "party_root")
    gov = b.add("青川市人民政府", "市政府", OrgKind.GOVERNMENT, None, "gov_root")
    office = b.add("中共青川市委督查室", "市委督查室", OrgKind.DEPARTMENT, party, "office")
    for name, short in N.PARTY_DEPARTMENTS:
        b.add(
            name.replace("青川区", "青川市"),
            short.replace("区", "市", 1),
            OrgKind.DEPARTMENT,
            party,
            "party_dept",
        )
    for name, short in N.GOVERNMENT_DEPARTMENTS:
        b.add(name.replace("青川区", "青川市"), short.replace("区", "市", 1), OrgKind.DEPARTMENT, gov, "dept")
    districts = clamp(n_orgs // 400, 2, len(CITY_DISTRICTS))
    per_district = (n_orgs - len(b.orgs)) // districts
    townships = clamp(per_district // 16, 4, 40)
    villages = max(1, (per_district - 1 - len(N.GOVERNMENT_DEPARTMENTS) - 4 - townships) // townships)
    for name in CITY_DISTRICTS[:districts]:
        root = b.add(f"{name}人民政府", name, OrgKind.GOVERNMENT, gov, "district")
        _add_district(
            b,
            rng,
            prefix=name,
            gov_parent=root,
            party_parent=root,
            villages_per_township=villages,
            townships=townships,
            with_party=False,
            with_sections=False,
        )
    return b.orgs, office


def build_people(rng: random.Random, orgs: list[OrgSpec], office: int) -> tuple[list[PersonSpec], dict, list]:
    people: list[PersonSpec] = []
    used_usernames: set[str] = set()
    by_short = {}
    for org in orgs:
        by_short.setdefault(org.short or org.name, org.index)
    from luoshi.core.text import pinyin_full

    def person(full_name=None, username=None) -> PersonSpec:
        full_name = full_name or N.person_name(rng)
        if username is None:
            base = pinyin_full(full_name) or "user"
            username, n = base, 1
            while username in used_usernames:
                n += 1
                username = f"{base}{n}"
        used_usernames.add(username)
        spec = PersonSpec(len(people), username, full_name, phone=f"13{rng.randint(100000000, 999999999)}")
        people.append(spec)
        return spec

    logins = {}
    party_root = next(org.index for org in orgs if org.tag == "party_root")
    gov_root = next(org.index for org in orgs if org.tag == "gov_root")
    city = orgs[party_root].short == "市委"
    # Leaders and their areas of charge.
    for number, (title, body, charges) in enumerate(N.LEADERS):
        username = "leader" if "常务副区长" in title else None
        spec = person(username=username)
        if city:
            title = title.replace("区", "市")
            charges = [c.replace("区", "市", 1) for c in charges]
        spec.memberships.append((party_root if body == "party" else gov_root, Role.LEADER, title))
        spec.charges = [by_short[c] for c in charges if c in by_short]
        if username:
            logins["leader"] = spec.index
        if number == 0:
            logins.setdefault("top_leader", spec.index)
    if city:
        # Each district's head oversees the district; a deputy oversees half of its townships.
        for org in orgs:
            if org.tag == "district":
                spec = person()
                spec.memberships.append((org.index, Role.LEADER, f"{org.short}长"))
                spec.charges = [org.index]
    # The supervision office: three supervisors and the three separated admin duties.
    supervisors = []
    for number, title in enumerate(["督查室主任", "督查室副主任", "督查专员"]):
        spec = person(username="supervisor" if number == 0 else None)
        spec.memberships.append((office, Role.SUPERVISOR, title))
        supervisors.append(spec.index)
    logins["supervisor"] = supervisors[0]
    for username, role, title in [
        ("sysadmin", Role.SYSTEM_ADMIN, "系统管理员"),
        ("secadmin", Role.SECURITY_ADMIN, "安全管理员"),
        ("auditor", Role.AUDIT_ADMIN, "审计管理员"),
    ]:
        spec = person(username=username)
        spec.memberships.append((office, role, title))
        logins[username] = spec.index
    # A liaison and one or two handlers in every unit that leads work; villages in a city too.
    showcase = by_short.get(SHOWCASE_UNIT, by_short.get(SHOWCASE_UNIT.replace("区", "市", 1)))
    for org in orgs:
        staffed = org.tag in {"party_dept", "dept", "township", "enterprise", "district"} or (
            city and org.tag == "village"
        )
        if org.tag == "section":
            spec = person()
            spec.memberships.append((org.index, Role.HANDLER, "科员"))
            continue
        if not staffed:
            continue
        is_showcase = org.index == showcase
        spec = person(username="liaison" if is_showcase else None)
        spec.memberships.append((org.index, Role.LIAISON, "督查联络员"))
        if is_showcase:
            logins["liaison"] = spec.index
        if city:  # a city's 20,000 people: about four per unit
            handlers = rng.choice([2, 3, 3])
        else:
            handlers = 2 if is_showcase or (org.tag != "village" and rng.random() < 0.5) else 1
        for number in range(handlers):
            spec = person(username="handler" if is_showcase and number == 0 else None)
            spec.memberships.append(
                (org.index, Role.HANDLER, rng.choice(["科员", "副科长", "科长", "主任科员"]))
            )
            if is_showcase and number == 0:
                logins["handler"] = spec.index
    return people, logins, supervisors


# Ledgers ---------------------------------------------------------------------------------------


def build_ledgers(year: int) -> list[LedgerSpec]:
    def f(target, key, label, field_type, required=False, choices=(), unit=""):
        return {
            "target": target,
            "key": key,
            "label": label,
            "field_type": field_type,
            "required": required,
            "choices": list(choices),
            "unit_label": unit,
        }

    return [
        LedgerSpec(
            0,
            f"{year}年区委重点工作",
            ItemKind.KEY_WORK,
            ReportCycle.MONTHLY,
            "区委全会和区委经济工作会议确定的年度重点工作。",
            share=0.25,
        ),
        LedgerSpec(
            1,
            f"{year}年政府工作报告重点任务",
            ItemKind.WORK_POINT,
            ReportCycle.MONTHLY,
            "区十八届人大五次会议政府工作报告确定的重点任务分解。",
            share=0.25,
        ),
        LedgerSpec(
            2,
            f"{year}年重点项目建设",
            ItemKind.PROJECT,
            ReportCycle.MONTHLY,
            "区级重点项目挂图作战。",
            fields=[
                f(FieldTarget.ITEM, "total_investment", "总投资", FieldType.NUMBER, True, unit="万元"),
                f(FieldTarget.ITEM, "annual_plan", "年度计划投资", FieldType.NUMBER, True, unit="万元"),
                f(FieldTarget.ITEM, "project_type", "项目类型", FieldType.CHOICE, True, N.PROJECT_TYPES),
                f(FieldTarget.ITEM, "location", "建设地点", FieldType.TEXT),
                f(FieldTarget.REPORT, "investment", "本期完成投资", FieldType.NUMBER, True, unit="万元"),
                f(FieldTarget.REPORT, "image_progress", "形象进度", FieldType.TEXT),
            ],
            share=0.09,
        ),
        LedgerSpec(
            3,
            "区委第二轮巡察反馈问题整改",
            ItemKind.PROBLEM,
            ReportCycle.SEMIMONTHLY,
            "区委第二巡察组反馈问题及整改措施。",
            campaign=f"{year}年第二轮巡察",
            fields=[
                f(FieldTarget.ITEM, "category", "问题类别", FieldType.CHOICE, True, N.PROBLEM_CATEGORIES),
                f(FieldTarget.ITEM, "inspection_group", "巡察组", FieldType.TEXT),
            ],
            share=0.12,
        ),
        LedgerSpec(
            4,
            f"{year}年民生实事",
            ItemKind.TASK,
            ReportCycle.MONTHLY,
            "区人大票决的十件民生实事。",
            fields=[
                f(FieldTarget.ITEM, "target", "年度目标", FieldType.TEXT, True),
                f(FieldTarget.ITEM, "funds", "计划投入资金", FieldType.NUMBER, unit="万元"),
            ],
            share=0.10,
        ),
        LedgerSpec(
            5,
            f"{year}年区委重点调研课题",
            ItemKind.TOPIC,
            ReportCycle.QUARTERLY,
            "区领导领衔的重点调研课题。",
            fields=[f(FieldTarget.ITEM, "output", "成果形式", FieldType.CHOICE, True, N.TOPIC_OUTPUTS)],
            share=0.04,
        ),
        LedgerSpec(
            6,
            "领导批示件办理",
            ItemKind.TASK,
            ReportCycle.WEEKLY,
            "区委、区政府主要领导批示件的交办和办理。",
            share=0.15,
        ),
    ]


# Items -----------------------------------------------------------------------------------------


class ItemBuilder:
    def __init__(self, rng, plan_orgs, people, today, year_start):
        self.rng = rng
        self.orgs = plan_orgs
        self.people = people
        self.today = today
        self.year_start = year_start
        self.year_end = year_start + dt.timedelta(days=364)
        self.items: list[ItemSpec] = []
        self.top_count = Counter()
        tags = {}
        for org in plan_orgs:
            tags.setdefault(org.tag, []).append(org.index)
        self.by_tag = tags
        self.short = {org.short: org.index for org in plan_orgs if org.short}
        self.staff = {}  # org → (liaisons, handlers)
        self.leaders_of = {}  # org → leaders charging it
        self.top_leaders = []
        for person in people:
            for org, role, _title in person.memberships:
                if role == Role.LIAISON:
                    self.staff.setdefault(org, ([], []))[0].append(person.index)
                elif role == Role.HANDLER:
                    self.staff.setdefault(org, ([], []))[1].append(person.index)
                elif role == Role.LEADER and len(self.top_leaders) < 3:
                    self.top_leaders.append(person.index)
            for org in person.charges:
                self.leaders_of.setdefault(org, []).append(person.index)
        self.lead_pool = [i for i in tags.get("dept", []) + tags.get("party_dept", []) if i in self.staff]
        self.township_pool = [i for i in tags.get("township", []) if i in self.staff]
        self.enterprise_pool = [i for i in tags.get("enterprise", []) if i in self.staff]
        self.showcase = self.short.get(SHOWCASE_UNIT, self.short.get(SHOWCASE_UNIT.replace("区", "市", 1)))

    # who ---------------------------------------------------------------------------------------

    def pick_lead(self, pools: list[list[int]], weights: list[float]) -> int:
        pool = self.rng.choices(pools, weights=weights)[0] or self.lead_pool
        if self.showcase is not None and self.showcase in pool and self.rng.random() < 0.12:
            return self.showcase
        return self.rng.choice(pool)

    def co_orgs(self, lead: int) -> list[int]:
        count = self.rng.choices([0, 1, 2, 3], weights=[3, 4, 3, 1])[0]
        pool = self.lead_pool + self.township_pool
        chosen = {self.rng.choice(pool) for _ in range(count)} - {lead}
        return sorted(chosen)

    def leader_for(self, org: int, top: bool = False) -> int | None:
        if top and self.top_leaders:
            return self.rng.choice(self.top_leaders)
        node = org
        while node is not None:
            if node in self.leaders_of:
                return self.rng.choice(self.leaders_of[node])
            node = self.orgs[node].parent
        return self.rng.choice(self.top_leaders) if self.top_leaders else None

    def owner_for(self, org: int) -> int | None:
        liaisons, handlers = self.staff.get(org, ([], []))
        if handlers:
            return self.rng.choice(handlers)
        return liaisons[0] if liaisons else None

    # what --------------------------------------------------------------------------------------

    def add(
        self,
        ledger: LedgerSpec,
        parent: ItemSpec | None,
        kind,
        code,
        title,
        lead,
        *,
        fate="on_track",
        source=ItemSource.MEETING,
        extra=None,
        cycle=None,
        start=None,
        deadline=None,
        standing=False,
        top_leader=False,
    ) -> ItemSpec:
        item = ItemSpec(
            index=len(self.items),
            ledger=ledger.index,
            parent=parent.index if parent else None,
            kind=kind,
            code=code,
            title=title,
            source=source,
            lead_org=lead,
            co_orgs=self.co_orgs(lead),
            lead_leader=self.leader_for(lead, top_leader),
            owner=self.owner_for(lead),
            start=start or self.year_start,
            deadline=None if standing else deadline,
            standing=standing,
            cycle=cycle or ledger.cycle,
            extra=extra or {},
            fate=fate,
            sort=(len(parent.children) if parent else self.top_count[ledger.index]) + 1,
        )
        if parent:
            parent.children.append(item.index)
        else:
            self.top_count[ledger.index] += 1
        self.items.append(item)
        return item

    def unit_name(self, lead: int) -> str:
        org = self.orgs[lead]
        if org.tag == "township":
            return org.short
        return self.orgs[self.rng.choice(self.township_pool)].short if self.township_pool else ""

    def parent_dates(self):
        start = self.year_start + dt.timedelta(days=self.rng.randint(0, 10))
        deadline = self.year_end - dt.timedelta(days=self.rng.randint(0, 20))
        return start, deadline

    def tree_ledger(
        self,
        ledger: LedgerSpec,
        count: int,
        vocabulary,
        *,
        levels=3,
        top_kind=ItemKind.KEY_WORK,
        mid_kind=ItemKind.WORK_POINT,
        leaf_kind=ItemKind.TASK,
        extra_for=None,
        prefixes=(),
    ):
        """Key work → work point → task (levels=3) or problem → measure (levels=2)."""
        rng = self.rng
        made = 0
        top_number = 0
        for round_number in itertools.count():
            vocab = list(vocabulary)
            if round_number:
                rng.shuffle(vocab)
            for entry in vocab:
                if made >= count:
                    return
                top_number += 1
                prefix = prefixes[(round_number - 1) % len(prefixes)] if round_number and prefixes else ""
                start, deadline = self.parent_dates()
                standing = rng.random() < 0.06
                lead = self.pick_lead([self.lead_pool], [1])
                title = prefix + entry[0]
                extra = extra_for(entry, None) if extra_for else None
                top = self.add(
                    ledger,
                    None,
                    top_kind,
                    chinese_numeral(top_number) if top_number <= 99 else str(top_number),
                    title,
                    lead,
                    start=start,
                    deadline=deadline,
                    standing=standing,
                    top_leader=True,
                    cycle=ReportCycle.QUARTERLY,
                    extra=extra,
                )
                made += 1
                children = entry[1]
                for mid_number, child in enumerate(children, 1):
                    if made >= count:
                        return
                    if levels == 2:
                        self.leaf(ledger, top, f"{top.code}.{mid_number}", child, leaf_kind, extra_for, entry)
                        made += 1
                        continue
                    mid_title, tasks = child
                    lead = self.pick_lead([self.lead_pool], [1])
                    mid = self.add(
                        ledger,
                        top,
                        mid_kind,
                        f"（{chinese_numeral(mid_number)}）",
                        mid_title,
                        lead,
                        start=top.start,
                        deadline=top.deadline,
                        standing=top.standing,
                        cycle=ReportCycle.QUARTERLY,
                    )
                    made += 1
                    for task_number, task in enumerate(tasks, 1):
                        if made >= count:
                            return
                        self.leaf(ledger, mid, str(task_number), task, leaf_kind, extra_for, entry)
                        made += 1

    def leaf(
        self,
        ledger,
        parent,
        code,
        title,
        kind,
        extra_for=None,
        entry=None,
        *,
        pools=None,
        fates=FATES,
        source=ItemSource.MEETING,
    ) -> ItemSpec:
        rng = self.rng
        pools = pools or ([self.lead_pool, self.township_pool, self.enterprise_pool], [6, 3, 1])
        lead = self.pick_lead(*pools)
        if "{unit}" in title:
            title = title.format(unit=self.unit_name(lead))
        fate = weighted(rng, fates)
        extra = extra_for(entry, title) if extra_for else None
        item = self.add(ledger, parent, kind, code, title, lead, fate=fate, extra=extra, source=source)
        self.schedule(item, parent)
        if kind == ItemKind.TOPIC and item.deadline:
            item.milestones_kind = "topic"
        elif item.deadline and rng.random() < 0.12:
            item.milestones_kind = "task"
        return item

    def schedule(self, item: ItemSpec, parent: ItemSpec | None):
        """Start and deadline that fit the item's fate (and its parent's window)."""
        rng, today = self.rng, self.today
        low = parent.start if parent else self.year_start
        high = parent.deadline if parent and parent.deadline else self.year_end
        item.start = low + dt.timedelta(days=rng.randint(0, 45))
        fate = item.fate

        def between(a: dt.date, b: dt.date) -> dt.date:
            if b <= a:
                return a
            return a + dt.timedelta(days=rng.randint(0, (b - a).days))

        if fate in ("draft", "assigned"):
            item.start = today - dt.timedelta(days=rng.randint(0, 6))
            item.deadline = between(today + dt.timedelta(days=30), high)
        elif fate in ("overdue", "ext_refused"):
            item.deadline = between(
                max(item.start + dt.timedelta(days=50), today - dt.timedelta(days=90)),
                today - dt.timedelta(days=5),
            )
        elif fate == "ext_approved":
            item.deadline = between(
                max(item.start + dt.timedelta(days=60), today - dt.timedelta(days=40)),
                today + dt.timedelta(days=15),
            )
        elif fate in ("completed", "closed"):
            item.deadline = between(item.start + dt.timedelta(days=70), high)
        else:
            item.deadline = between(today + dt.timedelta(days=20), high)
            if fate in ("on_track", "behind", "silent") and rng.random() < 0.08:
                item.standing = True
        if item.deadline and item.deadline < item.start:
            item.deadline = item.start + dt.timedelta(days=30)
        if item.standing:
            item.deadline = None

    def instruction(self, ledger: LedgerSpec, number: int):
        """A leader's instruction: short-lived, flat, weekly reports."""
        rng, today = self.rng, self.today
        lead = self.pick_lead([self.township_pool, self.lead_pool], [3, 2])
        org = self.orgs[lead]
        unit = org.short if org.tag == "township" else self.unit_name(lead)
        title = rng.choice(N.INSTRUCTIONS).format(unit=unit)
        fate = weighted(rng, INSTRUCTION_FATES)
        item = self.add(
            ledger,
            None,
            ItemKind.TASK,
            f"批〔{self.year_start.year}〕{number}号",
            title,
            lead,
            fate=fate,
            source=ItemSource.INSTRUCTION,
            top_leader=True,
        )
        span = (today - self.year_start).days
        length = rng.randint(20, 60)
        if fate in ("draft", "assigned"):
            item.start = today - dt.timedelta(days=rng.randint(0, 5))
        elif fate in ("overdue", "ext_refused"):
            item.start = today - dt.timedelta(days=length + rng.randint(8, 40))
        elif fate in ("completed", "closed"):
            item.start = self.year_start + dt.timedelta(days=rng.randint(0, max(1, span - length - 10)))
        elif fate == "ext_approved":
            item.start = today - dt.timedelta(days=length - rng.randint(0, 10))
        else:
            item.start = today - dt.timedelta(days=rng.randint(10, max(11, length - 10)))
        item.start = max(item.start, self.year_start)
        item.deadline = item.start + dt.timedelta(days=length)
        if (
            fate not in ("overdue", "ext_refused", "completed", "closed", "ext_approved")
            and item.deadline <= today
        ):
            item.deadline = today + dt.timedelta(days=rng.randint(10, 30))
        return item


def build_items(rng, orgs, people, ledgers, today, year_start, n_items) -> list[ItemSpec]:
    b = ItemBuilder(rng, orgs, people, today, year_start)
    townships = [orgs[i].short for i in b.township_pool]
    by_share = {ledger.index: max(1, round(n_items * ledger.share)) for ledger in ledgers}
    kw, gov, projects, problems, livelihood, topics, instructions = ledgers

    b.tree_ledger(kw, by_share[0], N.KEY_WORKS, prefixes=townships)
    b.tree_ledger(gov, by_share[1], N.KEY_WORKS[::-1], prefixes=townships)

    project_pools = ([b.lead_pool, b.enterprise_pool, b.township_pool], [5, 3, 2])
    for number in range(by_share[2]):
        base = N.PROJECT_NAMES[number % len(N.PROJECT_NAMES)]
        if number >= len(N.PROJECT_NAMES):
            base = f"{rng.choice(townships)}{base}" if townships else f"{base}（{number}）"
        total = rng.randint(8, 400) * 500
        extra = {
            "total_investment": str(total),
            "annual_plan": str(total * rng.randint(25, 60) // 100),
            "project_type": rng.choice(N.PROJECT_TYPES),
            "location": rng.choice(townships) if townships else "",
        }
        item = b.leaf(
            projects, None, f"XM-{number + 1:03d}", f"{base}项目", ItemKind.PROJECT, pools=project_pools
        )
        item.extra = extra
        if item.deadline and rng.random() < 0.8:
            item.milestones_kind = "project"

    def problem_extra(entry, title):
        return {"category": rng.choice(N.PROBLEM_CATEGORIES), "inspection_group": "区委第二巡察组"}

    b.tree_ledger(
        problems,
        by_share[3],
        N.PROBLEMS,
        levels=2,
        top_kind=ItemKind.PROBLEM,
        leaf_kind=ItemKind.MEASURE,
        extra_for=problem_extra,
        prefixes=townships,
    )
    for item in b.items:
        if item.ledger == problems.index:
            item.source = ItemSource.INSPECTION
            item.cycle = ReportCycle.MONTHLY

    def livelihood_extra(entry, title):
        return {"target": f"{entry[0]}，年底前全部完成", "funds": str(rng.randint(50, 3000) * 10)}

    b.tree_ledger(
        livelihood,
        by_share[4],
        N.LIVELIHOOD,
        levels=2,
        top_kind=ItemKind.TASK,
        leaf_kind=ItemKind.MEASURE,
        extra_for=livelihood_extra,
        prefixes=townships,
    )
    for number in range(by_share[5]):
        title = N.TOPICS[number % len(N.TOPICS)]
        if number >= len(N.TOPICS):
            title = title.replace("青川", rng.choice(townships)) if townships else title
        item = b.leaf(topics, None, f"KT-{number + 1:02d}", title, ItemKind.TOPIC)
        item.extra = {"output": rng.choice(N.TOPIC_OUTPUTS)}
        item.lead_leader = b.leader_for(item.lead_org, top=number % 3 == 0)
    for number in range(by_share[6]):
        b.instruction(instructions, number + 1)

    # The liaison and handler logins see items in every state.
    if b.showcase is not None:
        leaves = [item for item in b.items if not item.children and item.ledger != instructions.index]
        present = {item.fate for item in leaves if item.lead_org == b.showcase}
        for fate in FATES:
            if fate in present:
                continue
            for item in leaves:
                if item.fate == fate and item.lead_org != b.showcase:
                    item.lead_org = b.showcase
                    item.co_orgs = [org for org in item.co_orgs if org != b.showcase]
                    item.lead_leader = b.leader_for(b.showcase)
                    item.owner = b.owner_for(b.showcase)
                    break
    # At least one standing (长期坚持) task, however small the set.
    if not any(item.standing for item in b.items):
        for item in b.items:
            if not item.children and item.fate == "on_track":
                item.standing, item.deadline = True, None
                break
    # Items with children: their span covers their children's.
    for item in reversed(b.items):
        if item.children and not item.standing:
            kids = [b.items[i] for i in item.children]
            item.start = min([item.start, *[k.start for k in kids]])
            deadlines = [k.deadline for k in kids if k.deadline]
            if deadlines:
                item.deadline = max([item.deadline, *deadlines])
    return b.items


# Lives -----------------------------------------------------------------------------------------


def plan_life(item: ItemSpec, plan: "Plan", rng: random.Random, ledger_created: dt.datetime, grace_days: int):
    """Everything that happens to one item, in order, up to ``plan.today``."""
    today = plan.today
    sup = plan.supervisors
    if item.fate in ("draft", "assigned") or item.source == ItemSource.INSTRUCTION:
        created = at(item.start - dt.timedelta(days=rng.randint(0, 2)), rng)
        created = min(created, at(today, rng))
        if created.date() > today:
            created = dt.datetime.combine(today, dt.time(8, 30), tzinfo=TZ)
    else:
        created = ledger_created
    life = Life(created=created)
    item.life = life
    if item.fate == "draft":
        return life
    life.assigned = created + dt.timedelta(minutes=rng.randint(1, 30))
    if item.fate == "assigned":
        return life
    accept_day = add_working_days(life.assigned.date(), rng.randint(1, 3))
    if accept_day > today:
        accept_day = today
    life.accepted = at(accept_day, rng, earliest=life.assigned)

    fate = item.fate
    deadline = item.deadline
    end = today  # the last day the unit works and reports
    if fate in ("on_track", "silent", "completion_requested"):
        life.lead_days = rng.randint(20, 45)
    elif fate == "behind":
        life.pace = rng.uniform(0.35, 0.75)
    elif fate in ("overdue", "ext_refused"):
        life.pace, life.cap = rng.uniform(0.55, 0.85), 90
    elif fate == "suspended":
        life.pace = 0.6
        end = today - dt.timedelta(days=rng.randint(10, 50))
        end = min(max(end, life.accepted.date() + dt.timedelta(days=5)), today)
        life.suspended = at(end, rng, earliest=life.accepted)
    elif fate in ("completed", "closed"):
        life.lead_days = rng.randint(10, 40)
        latest = min(deadline, today - dt.timedelta(days=12 if fate == "closed" else 5))
        earliest = life.accepted.date() + dt.timedelta(days=25)
        span = (latest - earliest).days
        end = (
            earliest + dt.timedelta(days=rng.randint(max(0, span - 40), max(0, span))) if span > 0 else latest
        )
        end = max(end, life.accepted.date())
    elif fate == "ext_approved":
        life.lead_days = rng.randint(0, 15)

    # An extension asked before the deadline.
    if fate in ("ext_approved", "ext_refused") and deadline:
        ask = max(
            add_working_days(deadline, -rng.randint(4, 12)), life.accepted.date() + dt.timedelta(days=3)
        )
        ask = min(ask, today)
        requested = at(ask, rng, earliest=life.accepted)
        decided_day = min(add_working_days(ask, rng.randint(1, 4)), today)
        approve = fate == "ext_approved"
        pending = approve and rng.random() < 0.2 and deadline > today
        if pending:  # asked this week, not yet decided
            ask = max(add_working_days(today, -1), life.accepted.date())
        new_deadline = max(deadline + dt.timedelta(days=rng.randint(30, 90)), today + dt.timedelta(days=15))
        life.extension = ExtensionPlan(
            requested=requested,
            old_deadline=deadline,
            new_deadline=new_deadline,
            reason=rng.choice(N.EXTENSION_REASONS),
            decided=None if pending else at(decided_day, rng, earliest=requested),
            approve=approve,
            comment="同意延期，请倒排工期确保按新时限完成。"
            if approve
            else "延期理由不充分，请加大力度按原时限完成。",
        )
    final_deadline = life.extension.new_deadline if life.extension and life.extension.approve else deadline

    def percent_on(day: dt.date) -> int:
        if final_deadline is None:
            weeks = max(0, (day - item.start).days) // 7
            return clamp(10 + 2 * weeks, 5, 90)
        lead = dt.timedelta(days=life.lead_days)
        return clamp(round(life.pace * expected_percent(item.start, final_deadline, day + lead)), 0, life.cap)

    life.percent_on = percent_on
    if fate in ("completed", "closed", "completion_requested"):
        if fate == "completion_requested":
            end = max(life.accepted.date(), add_working_days(today, -rng.randint(1, 4)))
        life.completion_requested = at(end, rng, earliest=life.accepted)
        if fate != "completion_requested":
            life.completed = at(
                min(add_working_days(end, rng.randint(1, 4)), today), rng, earliest=life.completion_requested
            )
            if fate == "closed":
                life.closed = at(
                    min(add_working_days(life.completed.date(), rng.randint(2, 6)), today),
                    rng,
                    earliest=life.completed,
                )

    # Reports, one per period, from the period of acceptance to the last working day.
    silent_from = today - dt.timedelta(days=rng.randint(40, 80)) if fate == "silent" else None
    late_share = rng.choice([0.03, 0.08, 0.15, 0.35])
    reporter = item.reporter
    period = period_containing(life.accepted.date(), item.cycle)
    last_percent = 0
    while period.start <= end:
        late = rng.random() < late_share
        if late:
            day = add_working_days(period.due, grace_days + rng.randint(1, 6))
        else:
            day = add_working_days(period.due, -rng.randint(0, 2))
            day = max(day, period.start, life.accepted.date())
        is_final = life.completion_requested is not None and day >= end
        if is_final:
            day = end
        if day > today or (silent_from and period.start > silent_from):
            if period.start <= today and rng.random() < 0.04 and not silent_from:
                # A report written but not yet submitted.
                life.reports.append(
                    _report(item, plan, rng, period, reporter, last_percent, None, final=False)
                )
            break
        if day > end:
            break
        submitted = at(day, rng, earliest=life.accepted)
        if life.completion_requested and is_final:
            submitted = min(submitted, life.completion_requested - dt.timedelta(minutes=10))
            submitted = max(submitted, life.accepted + dt.timedelta(minutes=5))
        percent = 100 if is_final else max(last_percent, percent_on(min(period.end, today)))
        last_percent = percent
        report = _report(item, plan, rng, period, reporter, percent, submitted, final=is_final)
        report.late = late
        review_day = add_working_days(day, rng.randint(1, 3))
        # A returned report is revised within days, before the item is done or suspended.
        if rng.random() < 0.08 and not is_final and (end >= today or add_working_days(review_day, 6) < end):
            report.returned = at(min(review_day, today), rng, earliest=submitted)
            report.return_comment = rng.choice(N.RETURN_COMMENTS)
            report.reviewer = rng.choice(sup)
            if report.returned.date() < today or rng.random() < 0.5:
                resubmit = add_working_days(report.returned.date(), rng.randint(1, 3))
                if resubmit <= today:
                    report.resubmitted = at(resubmit, rng, earliest=report.returned)
                    review_day = add_working_days(resubmit, rng.randint(1, 2))
                    if review_day <= today:
                        report.reviewed = at(review_day, rng, earliest=report.resubmitted)
        elif review_day <= today:
            report.reviewed = at(review_day, rng, earliest=submitted)
            report.reviewer = rng.choice(sup)
        life.reports.append(report)
        if item.co_reporter and rng.random() < 0.8:
            co_org, co_author = item.co_reporter
            co = _report(
                item, plan, rng, period, co_author, percent, submitted + dt.timedelta(minutes=37), final=False
            )
            co.org = co_org
            if review_day <= today:
                co.reviewed = at(review_day, rng, earliest=co.submitted)
                co.reviewer = rng.choice(sup)
            life.reports.append(co)
        if is_final:
            break
        period = period_containing(period.end + dt.timedelta(days=1), item.cycle)
    if life.completion_requested and not any(r.percent == 100 for r in life.reports):
        period = period_containing(end, item.cycle)
        if not any(r.period_start == period.start and r.org == item.lead_org for r in life.reports):
            submitted = max(life.completion_requested - dt.timedelta(minutes=30), life.accepted)
            life.reports.append(_report(item, plan, rng, period, reporter, 100, submitted, final=True))
    if item.milestones_kind and item.deadline and item.fate not in ("draft", "assigned"):
        total = working_days_between(item.start, item.deadline)
        phases = N.MILESTONE_PHASES[item.milestones_kind]
        weight = sum(days for _, days in phases)
        usable = max(len(phases), total - 3)
        life.milestones = [(name, max(1, usable * days // weight)) for name, days in phases]
    return life


def _report(item, plan, rng, period, author, percent, submitted, *, final):
    title = item.title
    progress = rng.choice(N.PROGRESS_PHRASES)
    if final:
        text = f"{title}各项任务已全部完成，{progress}，申请办结。"
    else:
        text = f"{progress}；截至{period.end.month}月{period.end.day}日，完成进度{percent}%。"
    measures = {}
    if "annual_plan" in item.extra:
        plan_total = int(item.extra["annual_plan"])
        measures = {
            "investment": str(max(0, plan_total * rng.randint(2, 12) // 100)),
            "image_progress": rng.choice(
                ["土方开挖", "主体施工", "二次结构", "装饰装修", "设备安装", "竣工验收"]
            ),
        }
    return ReportPlan(
        period_start=period.start,
        period_end=period.end,
        org=item.lead_org,
        author=author,
        percent=percent,
        text=text,
        problems=rng.choice(N.PROBLEM_PHRASES),
        next_steps=rng.choice(N.NEXT_PHRASES),
        measures=measures,
        submitted=submitted,
        late=False,
    )


# The whole plan --------------------------------------------------------------------------------


def build_plan(
    *, seed: int = 2026, n_orgs: int = 100, n_items: int = 480, today: dt.date | None = None
) -> Plan:
    """Everything but the lives (see ``plan_lives``), which the writers compute item by item."""
    from django.utils import timezone

    today = today or timezone.localdate()
    rng = random.Random(seed)  # nosec B311 # seeded, repeatable demo data, never a secret
    year_start = today - dt.timedelta(days=270)
    year = (year_start + dt.timedelta(days=120)).year
    orgs, office = build_orgs(rng, n_orgs)
    people, logins, supervisors = build_people(rng, orgs, office)
    ledgers = build_ledgers(year)
    items = build_items(rng, orgs, people, ledgers, today, year_start, n_items)
    plan = Plan(
        today=today,
        year_start=year_start,
        year=year,
        orgs=orgs,
        people=people,
        ledgers=ledgers,
        items=items,
        office=office,
        supervisors=supervisors,
        logins=logins,
    )
    staff = {}
    for person in people:
        for org, role, _title in person.memberships:
            if role in (Role.LIAISON, Role.HANDLER):
                staff.setdefault(org, []).append((role, person.index))
    for item in items:
        members = staff.get(item.lead_org, [])
        item.reporter = item.owner if item.owner is not None else (members[0][1] if members else None)
        if item.co_orgs and rng.random() < 0.1:
            org = item.co_orgs[0]
            co_staff = staff.get(org)
            if co_staff:
                item.co_reporter = (org, co_staff[0][1])
        if item.owner is None and members:
            item.owner = members[0][1]
    return plan


def ledger_created(plan: Plan, seed: int) -> dict:
    """When each ledger's items were created and assigned: a week or so before the work year."""
    days = {}
    for ledger in plan.ledgers:
        rng = random.Random(f"{seed}-ledger-{ledger.index}")  # nosec B311 # seeded, repeatable demo data, never a secret
        days[ledger.index] = at(plan.year_start - dt.timedelta(days=rng.randint(3, 12)), rng)
    return days


def item_rng(seed: int, item: ItemSpec) -> random.Random:
    return random.Random(f"{seed}-item-{item.index}")  # nosec B311 # seeded, repeatable demo data, never a secret


def plan_lives(plan: Plan, seed: int, grace_days: int = 2):
    """Yield each item with its life; deterministic per item, so a writer may recompute any of them."""
    ledger_days = ledger_created(plan, seed)
    excused = False
    for item in plan.items:
        rng = item_rng(seed, item)
        created = ledger_days[item.ledger] + dt.timedelta(seconds=item.index)
        if item.children:
            item.life = _parent_life(item, plan, rng, created)
        else:
            plan_life(item, plan, rng, created, grace_days)
            extension = item.life.extension
            if extension and extension.approve and not excused:
                # One extension is excused: on-time statistics count against the new deadline.
                extension.excused = excused = True
                extension.comment = "因上级政策调整导致延期，经研究同意免责延期。"
        yield item


def _parent_life(item: ItemSpec, plan: Plan, rng, created) -> Life:
    """Key works and work points: accepted, and their lead unit sums up progress each quarter."""
    life = Life(created=created, assigned=created + dt.timedelta(minutes=1))
    life.accepted = at(add_working_days(created.date(), rng.randint(1, 3)), rng, earliest=life.assigned)
    period = period_containing(life.accepted.date(), item.cycle)
    while True:
        day = add_working_days(period.due, -rng.randint(0, 3))
        if day > plan.today:
            break
        submitted = at(max(day, life.accepted.date()), rng, earliest=life.accepted)
        report = _report(item, plan, rng, period, item.reporter, 0, submitted, final=False)
        review_day = add_working_days(day, rng.randint(1, 3))
        if review_day <= plan.today:
            report.reviewed = at(review_day, rng, earliest=submitted)
            report.reviewer = rng.choice(plan.supervisors)
        report.percent = None  # the rolled-up percent of the day, filled in by the writer
        life.reports.append(report)
        period = period_containing(period.end + dt.timedelta(days=1), item.cycle)
    return life


def final_status(item: ItemSpec) -> str:
    life = item.life
    if life.assigned is None:
        return ItemStatus.DRAFT
    if life.accepted is None:
        return ItemStatus.ASSIGNED
    if life.suspended:
        return ItemStatus.SUSPENDED
    if life.closed:
        return ItemStatus.CLOSED
    if life.completed:
        return ItemStatus.COMPLETED
    if life.completion_requested:
        return ItemStatus.COMPLETION_REQUESTED
    lead_submitted = any(r.submitted for r in life.reports if r.org == item.lead_org)
    return ItemStatus.IN_PROGRESS if lead_submitted else ItemStatus.ACCEPTED
