"""Assessment test data: a scheme as an office sets one up, through the services, on ``world``.

``office_scheme(world)`` gives the 2026 scheme of 区委督查室 with two groups — 区直部门 (lead_unit,
co_unit, unrelated_unit) and 垂管单位 (sub_unit) — and the indicators offices use:

    1 重点工作落实 (common, 60): 80-based per-event formula, capped
    2 报送质量 (common, 20): 20 − 0.1 per late report − 0.5 per missing one
    3 个性指标 (specific, 20): manual; every unit signs it in its book
    4 创新争先 (bonus, 5): manual
    5 督办扣分 (deduction, 10): 2 per supervision order
    6 问责 (veto): any accountability record

The Q3 2026 period (07-01 to 09-30) is scored as of 2026-10-15 by default.
"""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from luoshi.assessment import services
from luoshi.assessment.models import Category, PeriodKind, RuleKind
from luoshi.ledgers.models import Item, ItemStatus
from luoshi.orgs.models import Role
from luoshi.orgs.tests.factories import UserFactory, grant

Q3_START, Q3_END, Q3_AS_OF = dt.date(2026, 7, 1), dt.date(2026, 9, 30), dt.date(2026, 10, 15)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
KEY_WORK_RULE = "MIN(100, 80 + 2*按时办结_牵头 + 1*按时办结_配合 - 5*超期_牵头 - 2.5*超期_配合) * 0.6"


def evidence(name="佐证.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def second_supervisor(world):
    """Another supervisor of the office: the reviewer of what ``world.supervisor`` enters."""
    user = UserFactory(username="reviewer", full_name="钱复核")
    grant(user, world.office, Role.SUPERVISOR)
    return user


def office_scheme(world, **fields):
    user = world.supervisor
    scheme = services.save_scheme(
        user=user, office=world.office, year=2026, name=fields.pop("name", "2026年度绩效考核"), **fields
    )
    services.save_group(
        user=user,
        scheme=scheme,
        name="区直部门",
        units=[world.lead_unit, world.co_unit, world.unrelated_unit],
    )
    services.save_group(user=user, scheme=scheme, name="垂管单位", units=[world.sub_unit], sort_order=1)

    def add(name, category, points, **rule):
        return services.save_indicator(
            user=user, scheme=scheme, name=name, category=category, max_points=points, **rule
        )

    scheme.key_work = add(
        "重点工作落实", Category.COMMON, 60, code="1", rule_kind=RuleKind.FORMULA, formula=KEY_WORK_RULE
    )
    scheme.reporting = add(
        "报送质量",
        Category.COMMON,
        20,
        code="2",
        rule_kind=RuleKind.FORMULA,
        formula="20 - 0.1*迟报 - 0.5*漏报",
    )
    scheme.specific = add("个性指标", Category.SPECIFIC, 20, code="3", rule_kind=RuleKind.MANUAL)
    scheme.bonus = add("创新争先", Category.BONUS, 5, code="4", rule_kind=RuleKind.MANUAL)
    scheme.orders = add(
        "督办扣分",
        Category.DEDUCTION,
        10,
        code="5",
        rule_kind=RuleKind.MEASURE,
        measure="督办单",
        points_per_unit=2,
    )
    scheme.veto = add(
        "问责", Category.VETO, 0, code="6", rule_kind=RuleKind.MEASURE, measure="问责", points_per_unit=1
    )
    for unit in (world.lead_unit, world.co_unit, world.unrelated_unit, world.sub_unit):
        services.sign_book(
            user=user,
            scheme=scheme,
            organisation=unit,
            targets=[(scheme.specific, "完成年度专项任务")],
            signed_on=dt.date(2026, 2, 1),
            signatory="单位主要负责人",
        )
    return scheme


def q3(world, scheme):
    return services.create_period(
        user=world.supervisor,
        scheme=scheme,
        kind=PeriodKind.QUARTER,
        name="2026年第三季度",
        start=Q3_START,
        end=Q3_END,
    )


def shaped_item(world, *, lead=None, co=(), deadline, completed_on=None, assessed_deadline=None, **fields):
    """An assigned item (or done, when ``completed_on`` is given) with dates in the past, as the record
    would hold them after a quarter's work: the workflow itself is tested in ``ledgers``."""
    item = world.make_item(lead_org=lead or world.lead_unit, co_orgs=list(co))
    status = ItemStatus.COMPLETED if completed_on else ItemStatus.IN_PROGRESS
    Item.objects.filter(pk=item.pk).update(
        status=fields.pop("status", status),
        start_date=fields.pop("start_date", dt.date(2026, 1, 1)),
        deadline=deadline,
        original_deadline=deadline,
        assessed_deadline=assessed_deadline or deadline,
        completed_on=completed_on,
        **fields,
    )
    return Item.objects.get(pk=item.pk)
