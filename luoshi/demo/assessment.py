"""The demo's assessment: the year's scheme over the demo's departments and townships, its completed
quarters scored from the replayed record, reviewed, publicised and published, the current one scored.

Everything goes through ``luoshi.assessment.services``, as an office would do it on screen.
"""

import datetime as dt
import random
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from luoshi.assessment import services
from luoshi.assessment.models import Category, PeriodKind, RuleKind
from luoshi.core.calendar import add_working_days

# The smallest PDF the upload check accepts: the demo's evidence of a manual score.
EVIDENCE_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
KEY_WORK = "MIN(100, 80 + 2*按时办结_牵头 + 1*按时办结_配合 - 5*超期_牵头 - 2.5*超期_配合) * 0.5"


def _quarters(year: int, today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """The year's quarters that have begun by ``today``: (name, first day, last day)."""
    quarters = []
    for number, (start_month, end_month, end_day) in enumerate(
        ((1, 3, 31), (4, 6, 30), (7, 9, 30), (10, 12, 31)), 1
    ):
        start = dt.date(year, start_month, 1)
        if start < today:
            quarters.append(
                (f"{year}年第{'一二三四'[number - 1]}季度", start, dt.date(year, end_month, end_day))
            )
    return quarters


def write_assessment(*, office, supervisors, departments, townships, year: int, today: dt.date, seed: int):
    """The scheme, its books and its quarters. ``supervisors``: two or more of the office's; the first
    enters the manual scores, the second reviews them."""
    rng = random.Random(f"{seed}-assessment")  # nosec B311 # seeded, repeatable demo data, never a secret
    entering, reviewing = supervisors[0], supervisors[1]
    scheme = services.save_scheme(
        user=entering,
        office=office,
        year=year,
        name=f"{year}年度绩效考核",
        bonus_cap=Decimal(5),
        deduction_cap=Decimal(10),
        list_size=3,
        objection_days=5,
    )
    services.save_group(user=entering, scheme=scheme, name="区直部门", units=departments)
    services.save_group(user=entering, scheme=scheme, name="镇街", units=townships, sort_order=1)

    def add(name, category, points, **rule):
        return services.save_indicator(
            user=entering, scheme=scheme, name=name, category=category, max_points=points, **rule
        )

    add(
        "重点工作落实",
        Category.COMMON,
        50,
        code="1",
        rule_kind=RuleKind.FORMULA,
        formula=KEY_WORK,
        criteria="基础分80分，牵头事项按时办结每项加2分、超期每项扣5分，配合事项减半，满分100分折算为50分",
    )
    add(
        "进展报送",
        Category.COMMON,
        20,
        code="2",
        rule_kind=RuleKind.FORMULA,
        formula="MAX(0, 20 - 0.1*迟报 - 0.5*漏报)",
        criteria="逾期报送每次扣0.1分，应报未报每次扣0.5分",
    )
    add(
        "督查整改",
        Category.COMMON,
        10,
        code="3",
        rule_kind=RuleKind.FORMULA,
        formula="10 * 整改完成率",
        criteria="按督查发现问题整改销号率计分",
    )
    specific = add(
        "个性指标",
        Category.SPECIFIC,
        20,
        code="4",
        rule_kind=RuleKind.MANUAL,
        criteria="按目标责任书所列年度重点任务完成情况评分",
    )
    add(
        "办结加分",
        Category.BONUS,
        3,
        code="5",
        rule_kind=RuleKind.MEASURE,
        measure="办结_牵头",
        points_per_unit=Decimal("0.2"),
    )
    add(
        "督办扣分",
        Category.DEDUCTION,
        10,
        code="6",
        rule_kind=RuleKind.FORMULA,
        formula="2*督办单 + 0.5*催办",
    )
    add(
        "问责",
        Category.VETO,
        0,
        code="7",
        rule_kind=RuleKind.MEASURE,
        measure="问责",
        points_per_unit=Decimal(1),
        criteria="本期被问责的单位实行一票否决",
    )
    members = [*departments, *townships]
    for unit in members:
        services.sign_book(
            user=entering,
            scheme=scheme,
            organisation=unit,
            targets=[(specific, "完成本单位年度重点任务")],
            signed_on=dt.date(year, 2, 1),
            signatory="单位主要负责人",
        )
    for name, start, end in _quarters(year, today):
        period = services.create_period(
            user=entering, scheme=scheme, kind=PeriodKind.QUARTER, name=name, start=start, end=end
        )
        for unit in members:
            score = services.enter_manual_score(
                user=entering,
                period=period,
                organisation=unit,
                indicator=specific,
                points=Decimal(rng.randint(28, 40)) / 2,
                reason="按年度重点任务完成情况评定",
                evidence=[
                    SimpleUploadedFile("任务完成情况.pdf", EVIDENCE_PDF, content_type="application/pdf")
                ],
            )
            services.review_manual_score(user=reviewing, score=score, approve=True)
        # A quarter is scored about ten days after it ends; the current one as of today.
        as_of = min(today, end + dt.timedelta(days=10))
        services.run_scoring(user=entering, period=period, as_of=as_of)
        if end >= today:
            continue
        period = services.publicise(user=entering, period=period, today=as_of)
        closes = period.objection_deadline
        if closes < today:
            services.publish(user=entering, period=period, today=add_working_days(closes, 1))
    return scheme
