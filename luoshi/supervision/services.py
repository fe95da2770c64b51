"""Every write of the supervision module: each in a transaction, each refusing bad input in Chinese."""

import dataclasses
import datetime as dt
import itertools
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.core.bulk import id_ranges, insert_rows, update_rows
from luoshi.core.calendar import add_working_days, is_working_day, working_days_between
from luoshi.core.exceptions import StaleObjectError
from luoshi.core.uploads import CheckedUpload, check_upload, storing
from luoshi.ledgers import services as item_services
from luoshi.ledgers.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    EventKind,
    Item,
    ItemEvent,
    ItemKind,
    ItemSource,
    ItemStatus,
    Ledger,
    ScheduleCategory,
    WarningColor,
    warning_reason_text,
)
from luoshi.ledgers.periods import period_containing
from luoshi.ledgers.permissions import supervises_ledger
from luoshi.notifications.models import Event, Notification
from luoshi.notifications.services import Message, notify, notify_many
from luoshi.orgs.models import LeaderCharge, Membership, Organisation, Role, User
from luoshi.orgs.selectors import access_profile, subtree_id_list
from luoshi.supervision.models import (
    Accountability,
    AccountabilityForm,
    Escalation,
    EscalationAction,
    EscalationPolicy,
    EscalationRule,
    EscalationStyle,
    Finding,
    FindingPhoto,
    Inspection,
    InspectionKind,
    InspectionStatus,
    Instruction,
    InstructionRecipient,
    Interview,
    NoticeColour,
    OrderEvent,
    OrderEvidence,
    OrderKind,
    OrderLevel,
    OrderStatus,
    SupervisionOrder,
    Urge,
)
from luoshi.supervision.workflows import ORDER_WORKFLOW

# Urging and escalation ---------------------------------------------------------------------------------

DEFAULT_URGE_MESSAGE = _("请抓紧推进并按时报送进展。")


def _check_urgeable(items: list[Item], user: User) -> None:
    """All or nothing: the first item the user may not urge refuses the whole batch, by its name."""
    if not items:
        raise ValidationError({"items": _("请先勾选要催办的事项。")})
    visible = set(
        Item.objects.visible_to(user).filter(pk__in=[item.pk for item in items]).values_list("pk", flat=True)
    )
    for item in items:
        if item.pk not in visible:
            raise ValidationError(
                _("「%(item)s」不在您的督办范围内，不能催办；本次没有催办任何事项。") % {"item": item}
            )
        if not supervises_ledger(user, item.ledger):
            raise ValidationError(
                _("「%(item)s」不是您所在督办单位的台账事项，不能催办；本次没有催办任何事项。")
                % {"item": item}
            )
    for item in items:
        if item.is_done:
            raise ValidationError(_("「%(item)s」已办结，无需催办；本次没有催办任何事项。") % {"item": item})
        if item.status not in OPEN_STATUSES:
            raise ValidationError(
                _("「%(item)s」尚未交办或已中止，不能催办；本次没有催办任何事项。") % {"item": item}
            )


def _people_of(role: str, organisation_ids) -> dict[int, list[User]]:
    """Active people holding ``role`` in each unit, one query for all units."""
    found: dict[int, list[User]] = {}
    memberships = (
        Membership.objects.filter(organisation_id__in=set(organisation_ids), role=role, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    for membership in memberships:
        found.setdefault(membership.organisation_id, []).append(membership.user)
    return found


def _record_urges(
    items: list[Item], *, user: User | None, message: str, escalations=None, announce: bool = True
) -> list[Urge]:
    """Urge rows, timeline entries, the items' counters and the messages, for items already checked.

    ``escalations`` (item pk → Escalation) links urges an escalation rule made to the rung that made them;
    such an urge's message names the rule.
    """
    escalations = escalations or {}
    urges = Urge.objects.bulk_create(
        [
            Urge(
                item=item,
                organisation_id=item.lead_org_id,
                recipient_id=item.owner_id,
                urged_by=user,
                escalation=escalations.get(item.pk),
                message=_urge_message(message, escalations.get(item.pk)),
            )
            for item in items
        ]
    )
    ItemEvent.objects.bulk_create(
        [
            ItemEvent(
                item_id=urge.item_id,
                kind=EventKind.URGED,
                actor=user,
                comment=urge.message,
                data={"urge": urge.pk},
            )
            for urge in urges
        ]
    )
    Item.objects.filter(pk__in=[item.pk for item in items]).update(urge_count=F("urge_count") + 1)
    for item in items:
        item.urge_count += 1
    if announce:
        _announce_urges(items, urges, user)
    return urges


def _urge_message(message: str, escalation: Escalation | None) -> str:
    if escalation is None or escalation.action != EscalationAction.URGE:
        return message
    return f"{escalation.rule_text}。{message}"


def _announce_urges(items, urges, user) -> None:
    liaisons = _people_of(Role.LIAISON, {item.lead_org_id for item in items})
    leaders = leaders_in_charge_of([item.lead_org for item in items])
    owners = _owners(items)
    by_item = {item.pk: item for item in items}
    messages = []
    for urge in urges:
        item = by_item[urge.item_id]
        recipients = {person.pk: person for person in liaisons.get(item.lead_org_id, [])}
        recipients.update({leader.pk: leader for leader in leaders[item.lead_org_id]})
        if item.owner_id in owners:
            recipients[item.owner_id] = owners[item.owner_id]
        messages.append(
            Message(
                event=Event.URGED,
                recipients=list(recipients.values()),
                title=_("催办：%(item)s") % {"item": item.title},
                body=urge.message,
                url=item.get_absolute_url(),
                key=f"urge:{urge.pk}",
                organisations=[item.lead_org],
                actor=user,
            )
        )
    notify_many(messages)


@transaction.atomic
def urge(*, items: Iterable[Item], user: User, message: str) -> list[Urge]:
    """催办 one item or a filtered batch: the lead unit's liaisons and the responsible person are told, the
    leader in charge copied; counted on each item. Refuses the whole batch if any item may not be urged."""
    items = list(Item.objects.filter(pk__in=[item.pk for item in items]).select_related("ledger", "lead_org"))
    _check_urgeable(items, user)
    message = (message or "").strip() or str(DEFAULT_URGE_MESSAGE)
    if len(message) > 2000:
        raise ValidationError({"message": _("催办内容不能超过 2000 字。")})
    return _record_urges(items, user=user, message=message)


# The escalation ladder ---------------------------------------------------------------------------------

LADDER_ORDER = tuple(EscalationAction.values)
STANDARD_LADDER = (
    (EscalationAction.REMIND, -3),
    (EscalationAction.URGE_NOTICE, 1),
    (EscalationAction.SUPERVISION_NOTICE, 5),
    (EscalationAction.LEADERS_MEETING, 10),
)
THREE_COLOUR_LADDER = (
    (EscalationAction.REMIND, -3),
    (EscalationAction.BLUE_NOTICE, 1),
    (EscalationAction.ORANGE_NOTICE, 3),
    (EscalationAction.RED_NOTICE, 5),
    (EscalationAction.INTERVIEW, 10),
)
DEFAULT_LADDERS = {
    EscalationStyle.STANDARD: STANDARD_LADDER,
    EscalationStyle.THREE_COLOUR: THREE_COLOUR_LADDER,
}
DEFAULT_URGENT_START = {
    EscalationStyle.STANDARD: EscalationAction.SUPERVISION_NOTICE,
    EscalationStyle.THREE_COLOUR: EscalationAction.ORANGE_NOTICE,
}
# What a warning before the deadline does by default: a yellow item is urged, a red one gets a notice.
DEFAULT_ON_YELLOW = EscalationAction.URGE
DEFAULT_ON_RED = {
    EscalationStyle.STANDARD: EscalationAction.SUPERVISION_NOTICE,
    EscalationStyle.THREE_COLOUR: EscalationAction.BLUE_NOTICE,
}
# Rungs a style does not use: the three-colour notices replace the 催办单 and 督办通知单, and back.
STYLE_EXCLUDES = {
    EscalationStyle.STANDARD: {
        EscalationAction.BLUE_NOTICE,
        EscalationAction.ORANGE_NOTICE,
        EscalationAction.RED_NOTICE,
    },
    EscalationStyle.THREE_COLOUR: {EscalationAction.URGE_NOTICE, EscalationAction.SUPERVISION_NOTICE},
}
# The notice each rung issues: (kind, colour, level).
NOTICE_OF_RUNG = {
    EscalationAction.URGE_NOTICE: (OrderKind.URGE_NOTICE, "", OrderLevel.GENERAL),
    EscalationAction.SUPERVISION_NOTICE: (OrderKind.SUPERVISION_NOTICE, "", OrderLevel.KEY),
    EscalationAction.BLUE_NOTICE: (OrderKind.INSPECTION_NOTICE, NoticeColour.BLUE, OrderLevel.GENERAL),
    EscalationAction.ORANGE_NOTICE: (OrderKind.INSPECTION_NOTICE, NoticeColour.ORANGE, OrderLevel.KEY),
    EscalationAction.RED_NOTICE: (OrderKind.INSPECTION_NOTICE, NoticeColour.RED, OrderLevel.LISTED),
}
NOTICE_REPLY_WORKING_DAYS = 3
# Items escalated in one transaction: a few seconds of notices at most.
ESCALATION_BATCH = 500
# Rows fetched at a time by the daily scans.
READ_CHUNK = 2000


@dataclasses.dataclass(frozen=True)
class Rung:
    """A step of the ladder, reached ``offset_days`` working days from the deadline or, when ``colour`` is
    set, by a warning of that colour before it."""

    action: str
    offset_days: int = 0
    rule_id: int | None = None
    colour: str = ""

    @property
    def label(self) -> str:
        return str(EscalationAction(self.action).label)


@dataclasses.dataclass(frozen=True)
class Ladder:
    """A ledger's policy as the daily job reads it: active, the rungs in order, where urgent items start,
    and what a yellow or red warning before the deadline does."""

    is_active: bool
    rungs: tuple[Rung, ...]
    urgent_start: str
    on_yellow: str = ""
    on_red: str = ""

    def for_colour(self, colour: str) -> tuple[Rung, ...]:
        """The rungs a warning of ``colour`` reaches: red is worse than yellow, so it reaches both."""
        reached = []
        if colour in (WarningColor.YELLOW, WarningColor.RED) and self.on_yellow:
            reached.append(Rung(self.on_yellow, colour=WarningColor.YELLOW))
        if colour == WarningColor.RED and self.on_red:
            reached.append(Rung(self.on_red, colour=WarningColor.RED))
        return tuple(reached)

    def for_item(self, urgent: bool) -> tuple[Rung, ...]:
        """The rungs an item climbs. An urgent one (a leader's instruction) skips the notices below
        ``urgent_start``: that rung takes the place, and the offset, of the first notice after the deadline."""
        if not urgent or self.urgent_start not in {rung.action for rung in self.rungs}:
            return self.rungs
        before = [rung for rung in self.rungs if rung.offset_days <= 0]
        after = [rung for rung in self.rungs if rung.offset_days > 0]
        if not after:
            return self.rungs
        start = next(index for index, rung in enumerate(after) if rung.action == self.urgent_start)
        first = dataclasses.replace(
            after[start], offset_days=min(after[0].offset_days, after[start].offset_days)
        )
        return (*before, first, *after[start + 1 :])


def default_policy(ledger, style: str = EscalationStyle.STANDARD) -> EscalationPolicy:
    """The common ladder, not yet saved (it is created when a supervisor first edits it); its rungs are in
    ``policy.default_rungs``."""
    policy = EscalationPolicy(
        ledger=ledger,
        style=style,
        is_active=True,
        urgent_start=DEFAULT_URGENT_START[style],
        on_yellow=DEFAULT_ON_YELLOW,
        on_red=DEFAULT_ON_RED[style],
    )
    policy.default_rungs = [Rung(action, offset) for action, offset in DEFAULT_LADDERS[style]]
    return policy


def policy_for(ledger) -> tuple[EscalationPolicy, list[Rung]]:
    """The ledger's policy and rungs in ladder order: the saved one, or the default if none was saved."""
    policy = EscalationPolicy.objects.filter(ledger=ledger).first()
    if policy is None:
        policy = default_policy(ledger)
        return policy, list(policy.default_rungs)
    return policy, _ordered([Rung(r.action, r.offset_days, r.pk) for r in policy.rules.all()])


def _ordered(rungs) -> list[Rung]:
    return sorted(rungs, key=lambda rung: LADDER_ORDER.index(rung.action))


def _ladders(ledger_ids) -> dict[int, Ladder]:
    """Every given ledger's ladder, two queries for all of them; a ledger without a policy gets the default."""
    ladders = {}
    policies = EscalationPolicy.objects.filter(ledger_id__in=set(ledger_ids)).prefetch_related("rules")
    for policy in policies:
        rungs = _ordered([Rung(rule.action, rule.offset_days, rule.pk) for rule in policy.rules.all()])
        ladders[policy.ledger_id] = Ladder(
            policy.is_active, tuple(rungs), policy.urgent_start, policy.on_yellow, policy.on_red
        )
    default = Ladder(
        True,
        tuple(Rung(action, offset) for action, offset in STANDARD_LADDER),
        DEFAULT_URGENT_START[EscalationStyle.STANDARD],
        DEFAULT_ON_YELLOW,
        DEFAULT_ON_RED[EscalationStyle.STANDARD],
    )
    return {pk: ladders.get(pk, default) for pk in ledger_ids}


@transaction.atomic
def save_policy(
    *,
    ledger,
    user: User,
    style: str,
    is_active: bool,
    urgent_start: str,
    rungs: Iterable[tuple[str, int]],
    on_yellow: str,
    on_red: str,
    version: int | None = None,
) -> EscalationPolicy:
    """Save a ledger's ladder (creating it on the first edit): offsets strictly increasing along the ladder,
    at most one rung per action, only the rungs of the chosen style; ``on_yellow`` and ``on_red`` (blank:
    nothing) are the rungs a warning of that colour reaches before the deadline, red at least as high."""
    if not supervises_ledger(user, ledger):
        raise ValidationError(_("只有本台账督办单位的督办员可以设置督办规则。"))
    rungs = list(rungs)
    errors = []
    actions = [action for action, _offset in rungs]
    if not rungs:
        errors.append(_("请至少设置一个督办阶梯。"))
    for action in sorted(set(actions), key=LADDER_ORDER.index):
        if actions.count(action) > 1:
            errors.append(_("「%(action)s」只能设置一次。") % {"action": EscalationAction(action).label})
        if action in STYLE_EXCLUDES[style]:
            errors.append(
                _("「%(action)s」不属于“%(style)s”，请删除或改选督办方式。")
                % {"action": EscalationAction(action).label, "style": EscalationStyle(style).label}
            )
    ordered = sorted(rungs, key=lambda rung: LADDER_ORDER.index(rung[0]))
    for (lower, low_offset), (higher, high_offset) in itertools.pairwise(ordered):
        if lower != higher and high_offset <= low_offset:
            errors.append(
                _("「%(higher)s」的工作日数（%(high)d）必须大于「%(lower)s」的（%(low)d）：阶梯应逐级后延。")
                % {
                    "higher": EscalationAction(higher).label,
                    "high": high_offset,
                    "lower": EscalationAction(lower).label,
                    "low": low_offset,
                }
            )
    for action, offset in rungs:
        if not -60 <= offset <= 250:
            errors.append(
                _("「%(action)s」的工作日数应在 -60 到 250 之间。")
                % {"action": EscalationAction(action).label}
            )
    if urgent_start not in actions:
        errors.append(_("紧急事项起始等级必须是已设置的督办阶梯之一。"))
    errors.extend(_colour_errors(style, on_yellow, on_red))
    if errors:
        raise ValidationError(errors)

    policy = EscalationPolicy.objects.select_for_update().filter(ledger=ledger).first()
    if policy is None:
        policy = EscalationPolicy(ledger=ledger)
    elif version is not None:
        policy.version = version  # the save refuses it if someone saved the policy since
    policy.style, policy.is_active, policy.urgent_start = style, is_active, urgent_start
    policy.on_yellow, policy.on_red = on_yellow, on_red
    policy.save()
    existing = {rule.action: rule for rule in policy.rules.all()}
    for action, offset in ordered:
        rule = existing.pop(action, None) or EscalationRule(policy=policy, action=action)
        if rule.pk is None or rule.offset_days != offset:
            rule.offset_days = offset
            rule.sort_order = LADDER_ORDER.index(action)
            rule.save()
    for rule in existing.values():
        rule.delete()
    return policy


def _colour_errors(style: str, on_yellow: str, on_red: str) -> list[str]:
    errors = []
    for colour, action in ((WarningColor.YELLOW.label, on_yellow), (WarningColor.RED.label, on_red)):
        if not action:
            continue
        if action not in EscalationAction.values or action == EscalationAction.REMIND:
            errors.append(_("%(colour)s时的督办动作不正确。") % {"colour": colour})
        elif action in STYLE_EXCLUDES[style]:
            errors.append(
                _("%(colour)s时的「%(action)s」不属于“%(style)s”，请改选。")
                % {
                    "colour": colour,
                    "action": EscalationAction(action).label,
                    "style": EscalationStyle(style).label,
                }
            )
    if (
        on_yellow in LADDER_ORDER
        and on_red in LADDER_ORDER
        and LADDER_ORDER.index(on_red) < LADDER_ORDER.index(on_yellow)
    ):
        errors.append(_("红色预警时的督办动作不能轻于黄色预警时的。"))
    return errors


def _rule_text(rung: Rung, urgent: bool, row: dict) -> str:
    if rung.colour:
        return _("%(colour)s（%(reason)s）：%(action)s") % {
            "colour": WarningColor(rung.colour).label,
            "reason": warning_reason_text(row["warning_reason_code"], row["warning_reason_args"]),
            "action": rung.label,
        }
    if rung.offset_days < 0:
        when = _("到期前%(n)d个工作日") % {"n": -rung.offset_days}
    elif rung.offset_days == 0:
        when = _("到期当日")
    else:
        when = _("超期%(n)d个工作日") % {"n": rung.offset_days}
    prefix = _("领导批示事项") if urgent else ""
    return f"{prefix}{when}：{rung.label}"


def _lagging_before_deadline(row: dict, on: dt.date) -> bool:
    """A warning reaches the ladder only while the item lags (behind its schedule or its reports) and its
    deadline has not passed: a yellow "due soon" on a punctual item is no reason to urge, and once the
    deadline is past the working-day offsets govern."""
    return row["schedule_category"] == ScheduleCategory.BEHIND and row["deadline"] >= on


def _is_urgent(row: dict) -> bool:
    """A leader's instruction puts an item on the fast track: one still open on it, or the item came from one."""
    return row["open_instructions"] > 0 or row["source"] == ItemSource.INSTRUCTION


def escalate(*, on: dt.date) -> dict:
    """The daily job: each open item with a deadline climbs to the highest rung of its ledger's ladder whose
    threshold (working days from the deadline) has come, or that its warning reaches while it lags before
    the deadline (``on_yellow``, ``on_red``), once per rung and deadline; rungs it skipped (an item found
    six days late) are not taken one by one. Safe to re-run and to run in two workers at once:
    rows are inserted ignoring conflicts and each run acts only on the rows it wrote itself.

    Each batch commits on its own: a notice writes the audit chain, whose head every other audited write
    waits for, so a morning with thousands of notices must not hold it for minutes. A run that stops
    half-way leaves whole batches behind it, and the next run takes the rest."""
    run = uuid.uuid4()
    counts = dict.fromkeys(LADDER_ORDER, 0)
    if not is_working_day(on):
        # Notices go out on working days; what came due over a weekend or holiday is taken the next one.
        return counts
    ledgers = list(Ledger.objects.filter(is_archived=False).values_list("pk", flat=True))
    ladders = {pk: ladder for pk, ladder in _ladders(ledgers).items() if ladder.is_active and ladder.rungs}
    if not ladders:
        return counts
    earliest = min(rung.offset_days for ladder in ladders.values() for rung in ladder.rungs)
    # No ladder starts before this deadline; a holiday week of slack keeps the bound generous.
    horizon = add_working_days(on, -earliest) + dt.timedelta(days=10) if earliest < 0 else on
    coloured = [pk for pk, ladder in ladders.items() if ladder.on_yellow or ladder.on_red]
    rows = (
        Item.objects.filter(ledger_id__in=list(ladders), status__in=OPEN_STATUSES, deadline__isnull=False)
        .filter(
            Q(deadline__lte=horizon)
            | Q(
                ledger_id__in=coloured,
                deadline__gte=on,
                schedule_category=ScheduleCategory.BEHIND,
                warning_color__in=[WarningColor.YELLOW, WarningColor.RED],
            )
        )
        .order_by("pk")
        .values(
            "pk",
            "deadline",
            "ledger_id",
            "open_instructions",
            "source",
            "warning_color",
            "schedule_category",
            "warning_reason_code",
            "warning_reason_args",
        )
    )
    thresholds: dict[tuple[dt.date, int], dt.date] = {}

    def threshold(deadline, offset):
        key = (deadline, offset)
        if key not in thresholds:
            thresholds[key] = add_working_days(deadline, offset)
        return thresholds[key]

    # Read before writing: only items near or past a deadline, or lagging, so the list stays small.
    rows = list(rows)
    for start in range(0, len(rows), ESCALATION_BATCH):
        with transaction.atomic():
            _escalate_batch(rows[start : start + ESCALATION_BATCH], ladders, threshold, on, run, counts)
    return counts


def _escalate_batch(rows, ladders, threshold, on, run, counts) -> None:
    due = {}
    for row in rows:
        urgent = _is_urgent(row)
        ladder = ladders[row["ledger_id"]]
        reached = [
            rung for rung in ladder.for_item(urgent) if threshold(row["deadline"], rung.offset_days) <= on
        ]
        if _lagging_before_deadline(row, on):
            reached.extend(ladder.for_colour(row["warning_color"]))
        if reached:
            # The highest rung reached; a deadline rung wins a tie, since it names its rule.
            rung = max(reached, key=lambda r: (LADDER_ORDER.index(r.action), not r.colour))
            due[row["pk"]] = (row, rung, urgent)
    if not due:
        return
    highest = {}
    for item_id, action, deadline in Escalation.objects.filter(item_id__in=list(due)).values_list(
        "item_id", "action", "deadline"
    ):
        if deadline == due[item_id][0]["deadline"]:
            highest[item_id] = max(highest.get(item_id, -1), LADDER_ORDER.index(action))
    fresh = [
        Escalation(
            item_id=item_id,
            action=rung.action,
            deadline=row["deadline"],
            rule_id=rung.rule_id,
            rule_text=_rule_text(rung, urgent, row),
            run=run,
        )
        for item_id, (row, rung, urgent) in due.items()
        if LADDER_ORDER.index(rung.action) > highest.get(item_id, -1)
    ]
    if not fresh:
        return
    Escalation.objects.bulk_create(fresh, ignore_conflicts=True)
    mine = list(
        Escalation.objects.filter(item_id__in=[e.item_id for e in fresh], run=run)
        .select_related("item", "item__ledger", "item__ledger__owner_office", "item__lead_org")
        .order_by("item_id")  # notices numbered in the order of the items
    )
    if mine:
        _act_on(mine, on, counts)


def _act_on(escalations: list[Escalation], on: dt.date, counts: dict) -> None:
    """What each new rung does: remind, urge, issue its notice, or refer the item to the leaders. A batch at
    a time, in a number of queries that does not grow with it: a catch-up morning takes thousands."""
    ItemEvent.objects.bulk_create(
        [
            ItemEvent(
                item_id=escalation.item_id,
                kind=EventKind.ESCALATED,
                actor=None,
                action=escalation.action,
                comment=escalation.rule_text,
                data={"escalation": escalation.pk, "deadline": escalation.deadline.isoformat()},
            )
            for escalation in escalations
        ]
    )
    for escalation in escalations:
        counts[escalation.action] += 1
    by_action: dict[str, list[Escalation]] = {}
    for escalation in escalations:
        group = "notice" if escalation.action in NOTICE_OF_RUNG else escalation.action
        by_action.setdefault(group, []).append(escalation)
    messages = _remind(by_action.get(EscalationAction.REMIND, []))
    messages += _issue_rule_notices(by_action.get("notice", []), on)
    messages += _refer(
        [e for action, group in by_action.items() if action in REFERRAL_ACTIONS for e in group]
    )
    notify_many(messages)

    urge_notices = [e for e in by_action.get("notice", []) if e.action == EscalationAction.URGE_NOTICE]
    if urge_notices:
        # A 催办单 is an urging too: counted on the item and the unit, its message is the notice itself.
        _record_urges(
            [e.item for e in urge_notices],
            user=None,
            message=str(_("按督办规则下发催办单。")),
            escalations={e.item_id: e for e in urge_notices},
            announce=False,
        )
    urged = by_action.get(EscalationAction.URGE, [])
    if urged:
        # The 催办 rung urges as a supervisor would: the unit, the person and the leader in charge are told.
        _record_urges(
            [e.item for e in urged],
            user=None,
            message=str(DEFAULT_URGE_MESSAGE),
            escalations={e.item_id: e for e in urged},
        )


# Rungs that refer the item to the leaders rather than write to the unit.
REFERRAL_ACTIONS = (
    EscalationAction.LEADERS_MEETING,
    EscalationAction.INTERVIEW,
    EscalationAction.ACCOUNTABILITY,
)


def _owners(items) -> dict[int, User]:
    return {
        person.pk: person for person in User.objects.filter(pk__in={i.owner_id for i in items if i.owner_id})
    }


def _remind(escalations: list[Escalation]) -> list[Message]:
    """The reminder rung: the lead unit's liaisons and the responsible person, under the reminder job's key."""
    if not escalations:
        return []
    items = [escalation.item for escalation in escalations]
    liaisons = _people_of(Role.LIAISON, {item.lead_org_id for item in items})
    owners = _owners(items)
    messages = []
    for escalation in escalations:
        item = escalation.item
        recipients = {p.pk: p for p in liaisons.get(item.lead_org_id, [])}
        if item.owner_id in owners:
            recipients[item.owner_id] = owners[item.owner_id]
        messages.append(
            Message(
                event=Event.DEADLINE_NEAR,
                recipients=list(recipients.values()),
                title=_("临期提醒：%(item)s") % {"item": item.title},
                body=_("完成时限为%(deadline)s（%(rule)s），请抓紧推进。")
                % {"deadline": item.deadline.isoformat(), "rule": escalation.rule_text},
                url=item.get_absolute_url(),
                key=deadline_reminder_key(item.pk, escalation.deadline),
                organisations=[item.lead_org],
            )
        )
    return messages


def _refer(escalations: list[Escalation]) -> list[Message]:
    """The top rungs: the office's supervisors and the leader in charge are told the item goes to them."""
    if not escalations:
        return []
    items = [escalation.item for escalation in escalations]
    supervisors = _people_of(Role.SUPERVISOR, {item.ledger.owner_office_id for item in items})
    leaders = leaders_in_charge_of([item.lead_org for item in items])
    messages = []
    for escalation in escalations:
        item = escalation.item
        recipients = {p.pk: p for p in supervisors.get(item.ledger.owner_office_id, [])}
        recipients.update({leader.pk: leader for leader in leaders[item.lead_org_id]})
        messages.append(
            Message(
                event=Event.ESCALATED,
                recipients=list(recipients.values()),
                title=_("%(action)s：%(item)s")
                % {"action": escalation.get_action_display(), "item": item.title},
                body=_("%(unit)s承办的事项%(rule)s，按督办规则%(action)s。")
                % {
                    "unit": item.lead_org,
                    "rule": escalation.rule_text,
                    "action": escalation.get_action_display(),
                },
                url=item.get_absolute_url(),
                key=f"escalation:{escalation.pk}",
            )
        )
    return messages


def _issue_rule_notices(escalations: list[Escalation], on: dt.date) -> list[Message]:
    """The notices of a batch of rungs, as ``issue_order`` issues one by a rule: numbered, linked to the item,
    copied to the leader in charge and the item's lead leader, in the order's and the item's history, and
    announced (the messages are returned for the caller to send with the rest). One audit event names
    them all, as an import's does, instead of one chain link per notice."""
    if not escalations:
        return []
    reply_deadline = add_working_days(on, NOTICE_REPLY_WORKING_DAYS)
    orders = []
    for escalation in escalations:
        item = escalation.item
        kind, colour, level = NOTICE_OF_RUNG[escalation.action]
        orders.append(
            SupervisionOrder(
                kind=kind,
                colour=colour,
                level=level,
                year=on.year,
                office_id=item.ledger.owner_office_id,
                organisation_id=item.lead_org_id,
                subject=(
                    _("关于「%(item)s」的%(notice)s")
                    % {"item": item.title, "notice": escalation.get_action_display()}
                )[:200],
                content=_(
                    "该事项完成时限为%(deadline)s，%(rule)s。请于回复时限前书面报告办理情况及下步措施。"
                )
                % {"deadline": escalation.deadline.isoformat(), "rule": escalation.rule_text},
                reply_deadline=reply_deadline,
                status=OrderStatus.ISSUED,
                issued_by=None,
                issued_on=on,
            )
        )
    _insert_numbered(orders)
    pairs = list(zip(escalations, orders, strict=True))
    update_rows(Escalation, ["order"], ((order.pk, escalation.pk) for escalation, order in pairs))
    insert_rows(
        SupervisionOrder.items.through,
        ["supervisionorder", "item"],
        ((order.pk, escalation.item_id) for escalation, order in pairs),
    )
    items = [escalation.item for escalation in escalations]
    in_charge = leaders_in_charge_of([item.lead_org for item in items])
    lead_leaders = {
        leader.pk: leader
        for leader in User.objects.filter(
            pk__in={item.lead_leader_id for item in items if item.lead_leader_id}, is_active=True
        )
    }
    copies = {}
    for escalation, order in pairs:
        copied = {leader.pk: leader for leader in in_charge[escalation.item.lead_org_id]}
        if escalation.item.lead_leader_id in lead_leaders:
            copied.setdefault(escalation.item.lead_leader_id, lead_leaders[escalation.item.lead_leader_id])
        copies[order.pk] = copied
    insert_rows(
        SupervisionOrder.copy_to.through,
        ["supervisionorder", "user"],
        ((order_pk, user_pk) for order_pk, copied in copies.items() for user_pk in copied),
    )
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(order=order, action="issued", to_status=OrderStatus.ISSUED, actor=None)
            for order in orders
        ]
    )
    ItemEvent.objects.bulk_create(
        [
            ItemEvent(
                item_id=escalation.item_id,
                kind=EventKind.ORDER_ISSUED,
                actor=None,
                comment=order.subject,
                data={"order": order.pk, "number": order.number, "kind": order.kind},
            )
            for escalation, order in pairs
        ]
    )
    record(
        action=AuditAction.CREATE,
        object_type=SupervisionOrder._meta.label,
        object_repr=_("督办规则下发%(n)d份通知") % {"n": len(orders)},
        after={
            "source": "escalation",
            "issued_on": on.isoformat(),
            "orders": id_ranges(order.pk for order in orders),
            "numbers": [order.number for order in orders],
        },
    )
    workers = _people_of(Role.LIAISON, {o.organisation_id for o in orders})
    for organisation, people in _people_of(Role.HANDLER, {o.organisation_id for o in orders}).items():
        workers.setdefault(organisation, []).extend(people)
    return [
        Message(
            event=Event.ORDER_ISSUED,
            recipients=[*workers.get(order.organisation_id, []), *copies[order.pk].values()],
            title=_("%(number)s %(subject)s") % {"number": order.number, "subject": order.subject},
            body=order.content,
            url=order.get_absolute_url(),
            key=f"order:{order.pk}",
            organisations=[escalation.item.lead_org],
        )
        for escalation, order in pairs
    ]


def _insert_numbered(orders: list[SupervisionOrder]) -> None:
    """Number new orders on from the last of their kind and year and insert them together; a number taken
    meanwhile (another issuer) makes the whole insert retry with fresh numbers."""
    for _attempt in range(ORDER_SERIAL_ATTEMPTS):
        last = _last_serials(orders)
        for order in orders:
            last[(order.kind, order.year)] = order.serial = last.get((order.kind, order.year), 0) + 1
        try:
            with transaction.atomic():
                SupervisionOrder.objects.bulk_create(orders)
        except IntegrityError:
            for order in orders:
                order.pk = None
            continue
        return
    raise ValidationError(_("督办单编号分配冲突，请稍后重试。"))


def deadline_reminder_key(item_id: int, deadline: dt.date) -> str:
    """One reminder per item and deadline, whether the ladder's first rung or the reminder job sends it."""
    return f"deadline:{item_id}:{deadline.isoformat()}"


# Reminders and digests (the daily jobs) ---------------------------------------------------------------

REPORT_REMINDER_WORKING_DAYS = 2
# Reports are expected once the unit has signed for the item, until it is done.
REPORTING_STATUSES = (ItemStatus.ACCEPTED, ItemStatus.IN_PROGRESS, ItemStatus.COMPLETION_REQUESTED)
DIGEST_LIST_LIMIT = 10


def _already_sent(keys) -> set[str]:
    """Keys some inbox already holds: a re-run skips them without calling ``notify`` item by item."""
    return set(Notification.objects.filter(key__in=list(keys)).values_list("key", flat=True).distinct())


def _send_item_reminders(rows, *, event, key_of, title_of, body_of) -> int:
    """One message per row to the item's owner and its lead unit's liaisons, skipping keys already sent."""
    keyed = {key_of(row): row for row in rows}
    sent_before = _already_sent(keyed)
    keyed = {key: row for key, row in keyed.items() if key not in sent_before}
    if not keyed:
        return 0
    liaisons = _people_of(Role.LIAISON, {row["lead_org_id"] for row in keyed.values()})
    owners = User.objects.filter(pk__in={row["owner_id"] for row in keyed.values() if row["owner_id"]})
    owners = {person.pk: person for person in owners}
    sent = 0
    for key, row in keyed.items():
        recipients = {person.pk: person for person in liaisons.get(row["lead_org_id"], [])}
        if row["owner_id"] in owners:
            recipients[row["owner_id"]] = owners[row["owner_id"]]
        notify(
            event=event,
            recipients=recipients.values(),
            title=title_of(row),
            body=body_of(row),
            url=reverse("ledgers:item_detail", args=[row["pk"]]),
            key=key,
        )
        sent += 1
    return sent


@transaction.atomic
def report_reminders(*, on: dt.date, days: int | None = None) -> dict:
    """报送提醒: items whose current report period closes within ``days`` working days (the setting
    ``REPORT_REMINDER_WORKING_DAYS``) and that have no report for it yet; once per item and period."""
    days = (
        getattr(settings, "REPORT_REMINDER_WORKING_DAYS", REPORT_REMINDER_WORKING_DAYS)
        if days is None
        else days
    )
    rows = Item.objects.filter(status__in=REPORTING_STATUSES, ledger__is_archived=False).values(
        "pk", "title", "report_cycle", "last_report_period_end", "lead_org_id", "owner_id"
    )
    periods = {}
    due_rows = []
    for row in rows.iterator(chunk_size=READ_CHUNK):
        cycle = row["report_cycle"]
        if cycle not in periods:
            period = period_containing(on, cycle)
            periods[cycle] = (period, working_days_between(on, period.due))
        period, left = periods[cycle]
        reported = row["last_report_period_end"] is not None and row["last_report_period_end"] >= period.end
        if 0 <= left <= days and not reported:
            due_rows.append({**row, "period": period})
    sent = _send_item_reminders(
        due_rows,
        event=Event.REPORT_DUE,
        key_of=lambda row: f"report_due:{row['pk']}:{row['period'].end.isoformat()}",
        title_of=lambda row: _("报送提醒：%(item)s") % {"item": row["title"]},
        body_of=lambda row: (
            _("本期（%(start)s至%(end)s）进展请于%(due)s前报送。")
            % {
                "start": row["period"].start.isoformat(),
                "end": row["period"].end.isoformat(),
                "due": row["period"].due.isoformat(),
            }
        ),
    )
    return {"due": len(due_rows), "sent": sent}


@transaction.atomic
def deadline_reminders(*, on: dt.date) -> dict:
    """临期提醒: the ledger's ``due_soon_days`` working days before the deadline, once per item and deadline
    (the same key as the ladder's reminder rung, so an item is never reminded twice of one deadline)."""
    longest = Ledger.objects.filter(is_archived=False).aggregate(n=Max("due_soon_days"))["n"] or 0
    horizon = add_working_days(on, longest) + dt.timedelta(days=10)
    rows = Item.objects.filter(
        status__in=OPEN_STATUSES, ledger__is_archived=False, deadline__gte=on, deadline__lte=horizon
    ).values("pk", "title", "deadline", "lead_org_id", "owner_id", "ledger__due_soon_days")
    due_rows = [
        row
        for row in rows.iterator(chunk_size=READ_CHUNK)
        if working_days_between(on, row["deadline"]) <= row["ledger__due_soon_days"]
    ]
    sent = _send_item_reminders(
        due_rows,
        event=Event.DEADLINE_NEAR,
        key_of=lambda row: deadline_reminder_key(row["pk"], row["deadline"]),
        title_of=lambda row: _("临期提醒：%(item)s") % {"item": row["title"]},
        body_of=lambda row: (
            _("完成时限为%(deadline)s，还有%(n)d个工作日，请抓紧推进。")
            % {"deadline": row["deadline"].isoformat(), "n": working_days_between(on, row["deadline"])}
        ),
    )
    return {"due": len(due_rows), "sent": sent}


def _digest_contents(leader: User, on: dt.date, since: dt.date) -> dict:
    """What one leader's digest says: their items by colour, new overdue ones, urges, orders, instructions."""
    profile = access_profile(leader)
    charged = Q(lead_leader=leader)
    if profile.charge_paths:
        charged |= Q(lead_org_id__in=subtree_id_list(leader, profile.charge_paths))
    items = Item.objects.filter(charged, status__in=OPEN_STATUSES)
    by_colour = dict(items.order_by().values_list("warning_color").annotate(n=Count("id")))
    newly_overdue = list(
        items.filter(deadline__gte=since, deadline__lt=on)
        .order_by("deadline", "pk")
        .values_list("title", flat=True)
    )
    overdue = items.filter(deadline__lt=on).count()
    urges = Urge.objects.filter(item__in=items.values("pk"), created_at__date__gte=since).count()
    orders = (
        SupervisionOrder.objects.filter(items__in=items.values("pk"), issued_on__gte=since)
        .values("pk")
        .distinct()
        .count()
    )
    instructions = Instruction.objects.filter(leader=leader, is_open=True).count()
    return {
        "by_colour": {colour: by_colour.get(colour, 0) for colour in WarningColor.values},
        "newly_overdue": newly_overdue,
        "overdue": overdue,
        "urges": urges,
        "orders": orders,
        "open_instructions": instructions,
        "total": sum(by_colour.values()),
    }


def _digest_body(contents: dict, since: dt.date, on: dt.date) -> str:
    colours = "，".join(
        f"{WarningColor(colour).label}{count}项" for colour, count in contents["by_colour"].items() if count
    )
    lines = [
        _("分管在办事项%(n)d项：%(colours)s。") % {"n": contents["total"], "colours": colours or _("无")},
        _("已超期%(n)d项，其中%(since)s以来新超期%(new)d项。")
        % {"n": contents["overdue"], "since": since.isoformat(), "new": len(contents["newly_overdue"])},
    ]
    lines += [f"· {title}" for title in contents["newly_overdue"][:DIGEST_LIST_LIMIT]]
    lines.append(
        _("%(since)s以来催办%(urges)d次，下发督办单（通知）%(orders)d份；您的批示未办结%(instructions)d件。")
        % {
            "since": since.isoformat(),
            "urges": contents["urges"],
            "orders": contents["orders"],
            "instructions": contents["open_instructions"],
        }
    )
    return "\n".join(str(line) for line in lines)


@transaction.atomic
def leader_digest(*, on: dt.date, weekly: bool = False) -> dict:
    """Each leader's daily (working days) or weekly summary: one DIGEST message per leader and day or week,
    covering what happened since their last digest of that kind."""
    if not weekly and not is_working_day(on):
        return {"sent": 0}
    kind = "weekly" if weekly else "daily"
    leaders = list(
        User.objects.filter(
            is_active=True, memberships__role=Role.LEADER, memberships__organisation__is_active=True
        )
        .distinct()
        .order_by("pk")
    )
    keys = {leader.pk: f"digest:{kind}:{leader.pk}:{on.isoformat()}" for leader in leaders}
    done = _already_sent(keys.values())
    last = dict(
        Notification.objects.filter(
            event=Event.DIGEST, key__startswith=f"digest:{kind}:", created_at__date__lt=on
        )
        .values("recipient_id")
        .annotate(at=Max("created_at"))
        .values_list("recipient_id", "at")
    )
    fallback = on - dt.timedelta(days=7 if weekly else 1)
    sent = 0
    for leader in leaders:
        if keys[leader.pk] in done:
            continue
        since = timezone.localdate(last[leader.pk]) if leader.pk in last else fallback
        contents = _digest_contents(leader, on, since)
        title = (_("督办周报（%(on)s）") if weekly else _("督办日报（%(on)s）")) % {"on": on.isoformat()}
        sent += notify(
            event=Event.DIGEST,
            recipients=[leader],
            title=title,
            body=_digest_body(contents, since, on),
            url=reverse("ledgers:item_list"),
            key=keys[leader.pk],
        )
    return {"sent": sent}


# Supervision orders and notices ---------------------------------------------------------------------


def leaders_in_charge(organisation: Organisation) -> list[User]:
    """分管领导 of a unit: the leaders charged with it, else with its nearest unit above that has any."""
    return leaders_in_charge_of([organisation])[organisation.pk]


def _path_prefixes(path: str) -> list[str]:
    return [path[: end + 1] for end, char in enumerate(path) if char == "/"]


def leaders_in_charge_of(organisations: Iterable[Organisation]) -> dict[int, list[User]]:
    """``leaders_in_charge`` of each unit, one query for all of them."""
    organisations = {org.pk: org for org in organisations}
    prefixes = {prefix for org in organisations.values() for prefix in _path_prefixes(org.path)}
    by_path: dict[str, list[User]] = {}
    charges = (
        LeaderCharge.objects.filter(organisation__path__in=prefixes, leader__is_active=True)
        .select_related("leader", "organisation")
        .order_by("leader_id")
    )
    for charge in charges:
        by_path.setdefault(charge.organisation.path, []).append(charge.leader)
    found = {}
    for pk, org in organisations.items():
        nearest = next((p for p in reversed(_path_prefixes(org.path)) if p in by_path), None)
        found[pk] = by_path[nearest] if nearest else []
    return found


def unit_workers(organisation: Organisation):
    """The unit's liaisons and handlers, who receive what is addressed to the unit."""
    return User.objects.filter(
        is_active=True,
        memberships__organisation=organisation,
        memberships__role__in=(Role.LIAISON, Role.HANDLER),
    ).distinct()


def _last_serials(orders: Iterable[SupervisionOrder]) -> dict[tuple[str, int], int]:
    """(kind, year) → the last number given, for the kinds and years of ``orders``."""
    orders = list(orders)
    taken = (
        SupervisionOrder.objects.filter(
            kind__in={order.kind for order in orders}, year__in={order.year for order in orders}
        )
        .order_by()
        .values_list("kind", "year")
        .annotate(last=Max("serial"))
    )
    return {(kind, year): serial for kind, year, serial in taken}


def _next_serial(kind: str, year: int) -> int:
    return _last_serials([SupervisionOrder(kind=kind, year=year)]).get((kind, year), 0) + 1


ORDER_SERIAL_ATTEMPTS = 20


@transaction.atomic
def issue_order(
    *,
    office: Organisation,
    organisation: Organisation,
    items: Iterable[Item],
    subject: str,
    content: str,
    reply_deadline: dt.date,
    kind: str = OrderKind.ORDER,
    level: str = OrderLevel.GENERAL,
    colour: str = "",
    copy_to: Iterable[User] = (),
    user: User | None = None,
    on: dt.date | None = None,
) -> SupervisionOrder:
    """Issue a 督办单 or a notice of the ladder to one unit; ``user=None`` means an escalation rule issued it.

    Numbered per kind and year (督〔2026〕15号): two issuers at once never get the same serial, because the
    insert runs in a savepoint and a clash on the unique number is retried with the next one.
    """
    on = on or timezone.localdate()
    items = list(items)
    subject, content = (subject or "").strip(), (content or "").strip()
    errors = {}
    if not items:
        errors["items"] = _("请至少选择一个督办事项。")
    if not subject:
        errors["subject"] = _("请填写督办单标题。")
    if not content:
        errors["content"] = _("请填写督办要求。")
    if reply_deadline is None:
        errors["reply_deadline"] = _("请填写回复时限。")
    elif reply_deadline < on:
        errors["reply_deadline"] = _("回复时限不能早于下发日期（%(on)s）。") % {"on": on.isoformat()}
    if colour and kind != OrderKind.INSPECTION_NOTICE:
        errors["colour"] = _("只有督查单可以选择颜色。")
    elif colour not in NoticeColour.values:
        errors["colour"] = _("颜色不正确。")
    if errors:
        raise ValidationError(errors)
    if user is not None:
        visible = set(
            Item.objects.visible_to(user)
            .filter(pk__in=[item.pk for item in items])
            .values_list("pk", flat=True)
        )
        for item in items:
            if item.pk not in visible or not supervises_ledger(user, item.ledger):
                raise ValidationError(
                    {"items": _("「%(item)s」不在您督办的范围内，不能对它下发督办单。") % {"item": item}}
                )
        if office.pk not in access_profile(user).supervisor_org_ids:
            raise ValidationError(
                {"office": _("您不是%(office)s的督办员，不能以它的名义下发。") % {"office": office}}
            )

    order = None
    for _attempt in range(ORDER_SERIAL_ATTEMPTS):
        candidate = SupervisionOrder(
            kind=kind,
            colour=colour,
            level=level,
            year=on.year,
            serial=_next_serial(kind, on.year),
            office=office,
            organisation=organisation,
            subject=subject,
            content=content,
            reply_deadline=reply_deadline,
            status=OrderStatus.ISSUED,
            issued_by=user,
            issued_on=on,
        )
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:
            continue
        order = candidate
        break
    if order is None:
        raise ValidationError(_("督办单编号分配冲突，请稍后重试。"))

    order.items.set(items)
    copied = {leader.pk: leader for leader in copy_to}
    if not copied:
        for leader in leaders_in_charge(organisation):
            copied[leader.pk] = leader
        lead_ids = {item.lead_leader_id for item in items if item.lead_leader_id}
        for leader in User.objects.filter(pk__in=lead_ids - set(copied), is_active=True):
            copied[leader.pk] = leader
    order.copy_to.set(list(copied.values()))

    OrderEvent.objects.create(order=order, action="issued", to_status=OrderStatus.ISSUED, actor=user)
    ItemEvent.objects.bulk_create(
        [
            ItemEvent(
                item=item,
                kind=EventKind.ORDER_ISSUED,
                actor=user,
                comment=subject,
                data={"order": order.pk, "number": order.number, "kind": kind},
            )
            for item in items
        ]
    )
    recipients = {person.pk: person for person in unit_workers(organisation)}
    recipients.update(copied)
    notify(
        event=Event.ORDER_ISSUED,
        recipients=recipients.values(),
        title=_("%(number)s %(subject)s") % {"number": order.number, "subject": subject},
        body=content,
        url=order.get_absolute_url(),
        key=f"order:{order.pk}",
        organisations=[organisation],
        actor=user,
    )
    return order


ORDER_REPLY_LIMIT = 5000


def _lock_order(pk: int) -> SupervisionOrder:
    return SupervisionOrder.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=pk)


# What a closed order answers to each step but reopening: the state says it, not a generic refusal.
CLOSED_REFUSALS = {
    "sign": _("该督办单已办结，不能再签收。"),
    "reply": _("该督办单已办结，不能再回复。"),
    "close": _("该督办单已办结，无需再次办结。"),
}


def _order_step(order, action: str, user, *, comment: str = "", version: int | None = None):
    """The locked order moved along ``action`` (not saved yet), with its old and new status.

    Refuses a stale ``version`` (``StaleObjectError``, the view answers 409), any step on a closed
    order but reopening, and whatever the workflow refuses; nothing is changed then.
    """
    locked = _lock_order(order.pk)
    if version is not None and locked.version != version:
        raise StaleObjectError(locked)
    if locked.status == OrderStatus.CLOSED and action in CLOSED_REFUSALS:
        raise ValidationError(CLOSED_REFUSALS[action])
    old, new, _transition = ORDER_WORKFLOW.apply(locked, action, user, comment)
    return locked, old, new


def _order_event(order, action: str, old: str, new: str, user, comment: str = "") -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, action=action, from_status=old, to_status=new, actor=user, comment=comment
    )


def _copy_state_to(source: SupervisionOrder, target: SupervisionOrder) -> None:
    """The caller's instance gets the stored state, so a page rendered after the step shows it."""
    if target is source:
        return
    for field in SupervisionOrder._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def available_order_actions(order: SupervisionOrder, user) -> list:
    return ORDER_WORKFLOW.available(order, user)


def office_supervisors(office: Organisation):
    return User.objects.filter(
        is_active=True, memberships__organisation=office, memberships__role=Role.SUPERVISOR
    ).distinct()


@transaction.atomic
def sign_order(
    *, order: SupervisionOrder, user, version: int | None = None, now: dt.datetime | None = None
) -> SupervisionOrder:
    """签收 by a liaison or handler of the unit."""
    locked, old, new = _order_step(order, "sign", user, version=version)
    locked.signed_by, locked.signed_at = user, now or timezone.now()
    locked.save()
    _order_event(locked, "sign", old, new, user)
    _copy_state_to(locked, order)
    return locked


def _check_evidence(upload) -> CheckedUpload:
    return check_upload(upload, max_bytes=settings.EVIDENCE_MAX_BYTES)


@transaction.atomic
def reply_order(
    *,
    order: SupervisionOrder,
    user,
    reply: str,
    files: Iterable = (),
    version: int | None = None,
    now: dt.datetime | None = None,
) -> SupervisionOrder:
    """回复: the unit's account of what it did, with evidence; replying signs an order not yet signed.

    A reply after the reply deadline is marked late. The issuing office's supervisors are told.
    """
    at = now or timezone.now()
    reply = (reply or "").strip()
    locked, old, new = _order_step(order, "reply", user, version=version)
    if not reply:
        raise ValidationError({"reply": _("请填写办理情况。")})
    if len(reply) > ORDER_REPLY_LIMIT:
        raise ValidationError({"reply": _("办理情况不能超过 %(n)d 个字。") % {"n": ORDER_REPLY_LIMIT}})
    # Every file is checked before any is stored: a bad second file must not leave the first on disk.
    checked_files = [(upload, _check_evidence(upload)) for upload in files]
    if locked.signed_at is None:
        locked.signed_by, locked.signed_at = user, at
    locked.reply, locked.replied_by, locked.replied_at = reply, user, at
    locked.reply_is_late = timezone.localdate(at) > locked.reply_deadline
    locked.save()
    for upload, checked in checked_files:
        evidence = OrderEvidence(
            order=locked,
            original_name=upload.name[:200],
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            sm3=checked.sm3,
            uploaded_by=user,
        )
        with storing(evidence, upload):
            evidence.save()
    event = _order_event(locked, "reply", old, new, user, reply)
    late = _("（逾期回复）") if locked.reply_is_late else ""
    notify(
        event=Event.ORDER_REPLIED,
        recipients=office_supervisors(locked.office),
        title=_("%(unit)s已回复%(number)s%(late)s")
        % {"unit": locked.organisation, "number": locked.number, "late": late},
        body=reply,
        url=locked.get_absolute_url(),
        key=f"order_reply:{event.pk}",
        organisations=[locked.office],
        actor=user,
    )
    _copy_state_to(locked, order)
    return locked


@transaction.atomic
def close_order(
    *,
    order: SupervisionOrder,
    user,
    comment: str = "",
    version: int | None = None,
    now: dt.datetime | None = None,
) -> SupervisionOrder:
    """办结 by a supervisor of the issuing office, once the unit has replied."""
    comment = (comment or "").strip()
    locked, old, new = _order_step(order, "close", user, comment=comment, version=version)
    locked.closed_by, locked.closed_at = user, now or timezone.now()
    locked.decision_comment = comment
    locked.save()
    _order_event(locked, "close", old, new, user, comment)
    _copy_state_to(locked, order)
    return locked


@transaction.atomic
def reopen_order(
    *,
    order: SupervisionOrder,
    user,
    comment: str,
    reply_deadline: dt.date | None,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> SupervisionOrder:
    """重新督办: a replied or closed order goes back to the unit with the reason and a new reply deadline."""
    on = timezone.localdate(now or timezone.now())
    comment = (comment or "").strip()
    locked, old, new = _order_step(order, "reopen", user, comment=comment, version=version)
    if reply_deadline is None:
        raise ValidationError({"reply_deadline": _("请填写新的回复时限。")})
    if reply_deadline < on:
        raise ValidationError(
            {"reply_deadline": _("新的回复时限不能早于今天（%(on)s）。") % {"on": on.isoformat()}}
        )
    locked.reply_deadline = reply_deadline
    locked.signed_by = locked.signed_at = None
    locked.reply, locked.replied_by, locked.replied_at, locked.reply_is_late = "", None, None, False
    locked.closed_by = locked.closed_at = None
    locked.decision_comment = comment
    locked.save()
    event = _order_event(
        locked,
        "reopen",
        old,
        new,
        user,
        _("%(comment)s（新的回复时限：%(deadline)s）")
        % {"comment": comment, "deadline": reply_deadline.isoformat()},
    )
    notify(
        event=Event.ORDER_ISSUED,
        recipients=unit_workers(locked.organisation),
        title=_("%(number)s重新督办：%(subject)s") % {"number": locked.number, "subject": locked.subject},
        body=comment,
        url=locked.get_absolute_url(),
        key=f"order_reopen:{event.pk}",
        organisations=[locked.organisation],
        actor=user,
    )
    _copy_state_to(locked, order)
    return locked


# Interviews and accountability ------------------------------------------------------------------------


def _check_office(user, office: Organisation) -> None:
    if office is None or office.pk not in access_profile(user).supervisor_org_ids:
        raise ValidationError({"office": _("只有本单位的督办员可以登记约谈和问责。")})


def _check_records_date(field: str, day: dt.date | None, label: str) -> None:
    if day is None:
        raise ValidationError({field: _("请填写%(label)s。") % {"label": label}})
    if day > timezone.localdate():
        raise ValidationError({field: _("%(label)s不能晚于今天。") % {"label": label}})


def _check_links(office: Organisation, items: list, orders: list) -> None:
    """Items of the office's own ledgers and orders the office issued; nothing of another office."""
    own = set(
        Item.objects.filter(
            pk__in=[item.pk for item in items], ledger__owner_office_id=office.pk
        ).values_list("pk", flat=True)
    )
    for item in items:
        if item.pk not in own:
            raise ValidationError({"items": _("「%(item)s」不是本单位督办的事项。") % {"item": item}})
    for order in orders:
        if order.office_id != office.pk:
            raise ValidationError(
                {"orders": _("%(order)s不是本单位下发的督办单。") % {"order": order.number}}
            )


def _check_text(field: str, text: str, label: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: _("请填写%(label)s。") % {"label": label}})
    return text


def _save_record(record, version: int | None, items: list, orders: list):
    if record.pk is not None and version is not None:
        record.version = version
    record.full_clean(exclude=["items", "orders"])
    record.save()
    record.items.set(items)
    record.orders.set(orders)
    return record


@transaction.atomic
def save_interview(
    *,
    user,
    office: Organisation,
    held_on: dt.date,
    interviewer: User,
    organisation: Organisation,
    interviewee: str,
    reason: str,
    outcome: str = "",
    items: Iterable[Item] = (),
    orders: Iterable[SupervisionOrder] = (),
    interview: Interview | None = None,
    version: int | None = None,
) -> Interview:
    """约谈: record a new one (``interview=None``) or edit ``interview`` as of ``version``."""
    items, orders = list(items), list(orders)
    _check_office(user, office)
    if interview is not None and interview.office_id not in access_profile(user).supervisor_org_ids:
        raise ValidationError(_("只有本单位的督办员可以修改这条约谈记录。"))
    _check_records_date("held_on", held_on, _("约谈日期"))
    if interviewer is None or not (access_profile(interviewer).roles & {Role.LEADER, Role.SUPERVISOR}):
        raise ValidationError({"interviewer": _("约谈人须为领导或督办员。")})
    if organisation is None:
        raise ValidationError({"organisation": _("请选择被约谈单位。")})
    interviewee = _check_text("interviewee", interviewee, _("被约谈人"))
    reason = _check_text("reason", reason, _("约谈事由"))
    _check_links(office, items, orders)
    record = interview or Interview(created_by=user)
    record.office, record.held_on, record.interviewer = office, held_on, interviewer
    record.organisation, record.interviewee = organisation, interviewee
    record.reason, record.outcome = reason, (outcome or "").strip()
    return _save_record(record, version, items, orders)


@transaction.atomic
def save_accountability(
    *,
    user,
    office: Organisation,
    form: str,
    organisation: Organisation,
    decided_on: dt.date,
    reason: str,
    person: str = "",
    items: Iterable[Item] = (),
    orders: Iterable[SupervisionOrder] = (),
    interview: Interview | None = None,
    accountability: Accountability | None = None,
    version: int | None = None,
) -> Accountability:
    """问责 of a unit, or of a person in it (``person``: name and post); new or an edit of ``accountability``."""
    items, orders = list(items), list(orders)
    _check_office(user, office)
    if accountability is not None and accountability.office_id not in access_profile(user).supervisor_org_ids:
        raise ValidationError(_("只有本单位的督办员可以修改这条问责记录。"))
    if form not in AccountabilityForm.values:
        raise ValidationError({"form": _("请选择问责方式。")})
    if organisation is None:
        raise ValidationError({"organisation": _("请选择问责单位（问责个人时选择其所在单位）。")})
    _check_records_date("decided_on", decided_on, _("决定日期"))
    reason = _check_text("reason", reason, _("问责事由"))
    if interview is not None and interview.office_id != office.pk:
        raise ValidationError({"interview": _("所选约谈不是本单位组织的。")})
    _check_links(office, items, orders)
    record = accountability or Accountability(created_by=user)
    record.office, record.form, record.organisation = office, form, organisation
    record.person, record.decided_on, record.reason = (person or "").strip(), decided_on, reason
    record.interview = interview
    return _save_record(record, version, items, orders)


# Inspections and rectification ------------------------------------------------------------------------

RECTIFICATION_LEDGER_NAME = "{year}年问题整改台账"


def _check_inspection_office(user, office: Organisation | None) -> None:
    if office is None or office.pk not in access_profile(user).supervisor_org_ids:
        raise ValidationError({"office": _("只有本单位的督办员可以组织督查。")})


def _locked_inspection(inspection: Inspection, version: int | None) -> Inspection:
    locked = Inspection.objects.select_for_update().get(pk=inspection.pk)
    if version is not None and locked.version != version:
        raise StaleObjectError(locked)
    return locked


@transaction.atomic
def save_inspection(
    *,
    user,
    office: Organisation,
    title: str,
    kind: str,
    planned_on: dt.date,
    team: Iterable[User],
    targets: Iterable[Organisation],
    plan: str = "",
    places: str = "",
    rectification_ledger: Ledger | None = None,
    inspection: Inspection | None = None,
    version: int | None = None,
) -> Inspection:
    """Plan a 督查 / 明察暗访 (``inspection=None``) or edit ``inspection`` as of ``version``.

    Nobody is told: the targets of an unannounced inspection must not learn of it from the system.
    """
    team, targets = list(team), list(targets)
    _check_inspection_office(user, office)
    if inspection is not None and inspection.office_id not in access_profile(user).supervisor_org_ids:
        raise ValidationError(_("只有组织单位的督办员可以修改这次督查。"))
    title = _check_text("title", title, _("督查名称"))
    if kind not in InspectionKind.values:
        raise ValidationError({"kind": _("请选择督查方式。")})
    if planned_on is None:
        raise ValidationError({"planned_on": _("请填写督查日期。")})
    if not team:
        raise ValidationError({"team": _("请至少选择一名督查组成员。")})
    inactive = [member for member in team if not member.is_active]
    if inactive:
        raise ValidationError(
            {
                "team": _("%(name)s的账号已停用，不能加入督查组。")
                % {"name": inactive[0].get_full_name() or inactive[0]}
            }
        )
    if not targets:
        raise ValidationError({"targets": _("请至少选择一个督查对象。")})
    if rectification_ledger is not None:
        _check_rectification_ledger(rectification_ledger, office)
    if inspection is not None:
        record = _locked_inspection(inspection, version)
    else:
        record = Inspection(created_by=user)
    record.office, record.title, record.kind, record.planned_on = office, title, kind, planned_on
    record.plan, record.places = (plan or "").strip(), (places or "").strip()
    record.rectification_ledger = rectification_ledger
    record.full_clean(exclude=["team", "targets"])
    record.save()
    record.team.set(team)
    record.targets.set(targets)
    return record


@transaction.atomic
def mark_inspection_done(*, inspection: Inspection, user, version: int | None = None) -> Inspection:
    """The inspection has taken place: from now on its problems may be assigned to the units."""
    if inspection.office_id not in access_profile(user).supervisor_org_ids:
        raise ValidationError(_("只有组织单位的督办员可以标记督查完成。"))
    locked = _locked_inspection(inspection, version)
    if locked.status == InspectionStatus.DONE:
        raise ValidationError(_("这次督查已经标记为完成。"))
    locked.status = InspectionStatus.DONE
    locked.save()
    return locked


def may_record_findings(user, inspection: Inspection) -> bool:
    """The inspection team's members and the organising office's supervisors."""
    return (
        inspection.office_id in access_profile(user).supervisor_org_ids
        or inspection.team.filter(pk=user.pk).exists()
    )


def _check_photo(upload) -> CheckedUpload:
    checked = check_upload(upload, max_bytes=settings.EVIDENCE_MAX_BYTES)
    if not checked.content_type.startswith("image/"):
        raise ValidationError(
            {"photos": _("「%(name)s」不是图片，现场照片只能上传 JPG 或 PNG。") % {"name": upload.name}}
        )
    return checked


@transaction.atomic
def save_finding(
    *,
    user,
    inspection: Inspection,
    description: str,
    organisation: Organisation,
    found_on: dt.date,
    place: str = "",
    commitment_required: bool = False,
    commitment: str = "",
    photos: Iterable = (),
    finding: Finding | None = None,
    version: int | None = None,
) -> Finding:
    """Record a finding (``finding=None``) or edit one, with its on-site photos (images only)."""
    if not may_record_findings(user, inspection):
        raise ValidationError(_("只有督查组成员或组织单位的督办员可以登记发现问题。"))
    description = _check_text("description", description, _("发现问题"))
    if organisation is None or not inspection.targets.filter(pk=organisation.pk).exists():
        raise ValidationError({"organisation": _("责任单位须为本次督查的督查对象。")})
    _check_records_date("found_on", found_on, _("发现日期"))
    # Every photo is checked before any is stored: a bad second file must not leave the first on disk.
    checked_photos = [(upload, _check_photo(upload)) for upload in photos]
    if finding is not None:
        record = Finding.objects.select_for_update().get(pk=finding.pk, inspection=inspection)
        if version is not None and record.version != version:
            raise StaleObjectError(record)
        if record.problem_id is not None:
            raise ValidationError(_("问题已交办整改，不能再修改发现内容。"))
    else:
        record = Finding(inspection=inspection, created_by=user)
    record.description, record.organisation, record.found_on = description, organisation, found_on
    record.place = (place or "").strip()
    record.commitment_required, record.commitment = commitment_required, (commitment or "").strip()
    record.full_clean(exclude=["problem"])
    record.save()
    for upload, checked in checked_photos:
        photo = FindingPhoto(
            finding=record,
            original_name=upload.name[:200],
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            sm3=checked.sm3,
            uploaded_by=user,
        )
        with storing(photo, upload):
            photo.save()
    return record


def _check_rectification_ledger(ledger: Ledger, office: Organisation) -> None:
    if ledger.item_kind != ItemKind.PROBLEM or ledger.owner_office_id != office.pk or ledger.is_archived:
        raise ValidationError(
            {"rectification_ledger": _("问题整改台账须为本单位未归档、事项类型为「问题」的台账。")}
        )


@transaction.atomic
def rectification_ledger_for_year(*, office: Organisation, year: int, user) -> Ledger:
    """The office's "<year>年问题整改台账", created on first use."""
    _check_inspection_office(user, office)
    name = RECTIFICATION_LEDGER_NAME.format(year=year)
    ledger = Ledger.objects.filter(owner_office=office, year=year, name=name).first()
    if ledger is None:
        ledger = item_services.save_ledger(
            ledger=Ledger(name=name, year=year, owner_office=office, item_kind=ItemKind.PROBLEM)
        )
    _check_rectification_ledger(ledger, office)
    return ledger


def _check_measures(measures: list, deadline: dt.date) -> list[tuple[str, dt.date]]:
    cleaned = []
    for title, measure_deadline in measures:
        title = (title or "").strip()
        if not title and measure_deadline is None:
            continue
        if not title:
            raise ValidationError({"measures": _("请填写每项整改措施的内容。")})
        if measure_deadline is None:
            raise ValidationError(
                {"measures": _("请填写整改措施「%(title)s」的完成时限。") % {"title": title}}
            )
        if measure_deadline > deadline:
            raise ValidationError(
                {"measures": _("整改措施「%(title)s」的时限不能晚于问题的整改时限。") % {"title": title}}
            )
        cleaned.append((title, measure_deadline))
    if not cleaned:
        raise ValidationError({"measures": _("请至少填写一项整改措施。")})
    return cleaned


@transaction.atomic
def assign_problem(
    *,
    finding: Finding,
    ledger: Ledger,
    deadline: dt.date,
    measures: Iterable[tuple[str, dt.date]],
    commitment: str = "",
    user,
    now: dt.datetime | None = None,
) -> Item:
    """交办整改: the finding becomes a problem item of a rectification ledger, its measures child items.

    The problem and its measures are assigned through the item workflow and the unit's liaisons are told.
    """
    at = now or timezone.now()
    on = timezone.localdate(at)
    finding = (
        Finding.objects.select_for_update().select_related("inspection", "organisation").get(pk=finding.pk)
    )
    inspection = finding.inspection
    if inspection.office_id not in access_profile(user).supervisor_org_ids:
        raise ValidationError(_("只有组织单位的督办员可以交办整改。"))
    if finding.problem_id is not None:
        raise ValidationError(_("这个问题已经交办整改。"))
    # An unannounced inspection stays unknown to the units it visits until it has taken place.
    if inspection.kind == InspectionKind.UNANNOUNCED and inspection.status != InspectionStatus.DONE:
        raise ValidationError(_("明察暗访须先标记完成，才能向被督查单位交办问题。"))
    if ledger is None:
        raise ValidationError({"ledger": _("请选择问题整改台账。")})
    _check_rectification_ledger(ledger, inspection.office)
    if deadline is None:
        raise ValidationError({"deadline": _("请填写整改时限。")})
    if deadline < on:
        raise ValidationError({"deadline": _("整改时限不能早于今天。")})
    cleaned = _check_measures(list(measures), deadline)
    commitment = (commitment or finding.commitment or "").strip()
    if finding.commitment_required and not commitment:
        raise ValidationError({"commitment": _("这个问题需要公开承诺，请先填写公开承诺内容。")})
    problem = item_services.create_item(
        ledger=ledger,
        user=user,
        kind=ItemKind.PROBLEM,
        title=finding.description[:300],
        description=finding.description,
        source=ItemSource.INSPECTION,
        lead_org=finding.organisation,
        start_date=on,
        deadline=deadline,
    )
    children = [
        item_services.create_item(
            ledger=ledger,
            user=user,
            parent=problem,
            kind=ItemKind.MEASURE,
            title=title[:300],
            source=ItemSource.INSPECTION,
            lead_org=finding.organisation,
            start_date=on,
            deadline=measure_deadline,
            sort_order=index,
        )
        for index, (title, measure_deadline) in enumerate(cleaned, start=1)
    ]
    for item in (problem, *children):
        item_services.transition_item(item=item, action="assign", user=user, now=now)
    finding.problem, finding.commitment = problem, commitment
    finding.save()
    if inspection.rectification_ledger_id is None:
        Inspection.objects.filter(pk=inspection.pk).update(rectification_ledger=ledger)
    liaisons = _people_of(Role.LIAISON, [finding.organisation_id]).get(finding.organisation_id, [])
    notify(
        event=Event.INSPECTION_PROBLEM,
        recipients=liaisons,
        title=_("督查发现问题交办整改：%(title)s") % {"title": problem.title[:60]},
        body=finding.description,
        url=problem.get_absolute_url(),
        key=f"inspection_problem:{finding.pk}",
        organisations=[finding.organisation],
        ledger=ledger,
        actor=user,
    )
    return problem


@transaction.atomic
def verify_rectification(
    *, finding: Finding, user, comment: str, passed: bool, now: dt.datetime | None = None
) -> Finding:
    """验收: the office checks the unit's evidence. Passing completes the problem (and the measures the unit
    asked to complete); failing returns the problem to the unit with the comment."""
    at = now or timezone.now()
    finding = Finding.objects.select_for_update().select_related("inspection").get(pk=finding.pk)
    if finding.inspection.office_id not in access_profile(user).supervisor_org_ids:
        raise ValidationError(_("只有组织单位的督办员可以验收整改。"))
    if finding.problem_id is None:
        raise ValidationError(_("这个问题还没有交办整改。"))
    problem = Item.objects.select_related("ledger", "lead_org").get(pk=finding.problem_id)
    if problem.status != ItemStatus.COMPLETION_REQUESTED:
        raise ValidationError(_("责任单位申请办结后才能验收。"))
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("请填写验收意见。")})
    measures = list(problem.children.select_related("ledger", "lead_org").order_by("sort_order", "pk"))
    if passed:
        unfinished = [
            m
            for m in measures
            if m.status not in (*DONE_STATUSES, ItemStatus.COMPLETION_REQUESTED, ItemStatus.SUSPENDED)
        ]
        if unfinished:
            raise ValidationError(
                _("整改措施「%(title)s」尚未申请办结，不能验收通过。") % {"title": unfinished[0].title}
            )
    # Recorded first: the item workflow completes and closes an inspection's problem only once verified.
    finding.verified_by = user if passed else None
    finding.verified_at = at if passed else None
    finding.verification_comment = comment
    finding.save()
    ItemEvent.objects.create(
        item=problem,
        kind=EventKind.RECTIFICATION_VERIFIED,
        actor=user,
        comment=comment,
        data={"finding": finding.pk, "passed": bool(passed)},
    )
    if passed:
        for measure in measures:
            if measure.status == ItemStatus.COMPLETION_REQUESTED:
                item_services.transition_item(
                    item=measure, action="complete", user=user, comment=comment, now=now
                )
    item_services.transition_item(
        item=problem, action="complete" if passed else "return", user=user, comment=comment, now=now
    )
    return finding


def unclosable_reason(finding: Finding, problem: Item, measures: Iterable[Item]) -> str:
    """Why the problem may not be closed (销号) yet, or "" once it may."""
    if problem.status != ItemStatus.COMPLETED:
        return _("问题整改尚未办结。")
    if finding.verified_at is None:
        return _("问题整改尚未验收通过，不能销号。")
    for measure in measures:
        if measure.status not in (*DONE_STATUSES, ItemStatus.SUSPENDED):
            return _("整改措施「%(title)s」尚未办结，不能销号。") % {"title": measure.title}
    return ""


@transaction.atomic
def close_problem(*, finding: Finding, user, comment: str = "", now: dt.datetime | None = None) -> Item:
    """销号: the item workflow's close step for a verified problem, its completed measures closed with it."""
    finding = Finding.objects.select_for_update().select_related("inspection").get(pk=finding.pk)
    if finding.inspection.office_id not in access_profile(user).supervisor_org_ids:
        raise ValidationError(_("只有组织单位的督办员可以销号。"))
    if finding.problem_id is None:
        raise ValidationError(_("这个问题还没有交办整改。"))
    problem = Item.objects.select_related("ledger", "lead_org").get(pk=finding.problem_id)
    measures = list(problem.children.select_related("ledger", "lead_org").order_by("sort_order", "pk"))
    reason = unclosable_reason(finding, problem, measures)
    if reason:
        raise ValidationError(reason)
    for measure in measures:
        if measure.status == ItemStatus.COMPLETED:
            item_services.transition_item(item=measure, action="close", user=user, comment=comment, now=now)
    return item_services.transition_item(item=problem, action="close", user=user, comment=comment, now=now)


# Leaders' instructions ----------------------------------------------------------------------------------
# A leader writes an instruction in their own name only. The office registers a leader's paper 批示 as an
# item whose source is 领导批示 (ItemSource.INSTRUCTION); letting a supervisor write one here "for" a
# leader would put words under the leader's name that the leader never confirmed (an instruction records
# no second author), and acknowledgements would report back to someone who did not write it.

INSTRUCTION_TEXT_LIMIT = 2000


def instruction_targets(item: Item) -> list:
    """Who an instruction on ``item`` may go to, and by default does: the lead unit, the co-units, the owner."""
    targets = [item.lead_org, *item.co_orgs.all()]
    if item.owner_id is not None:
        targets.append(item.owner)
    return targets


def _target_key(target) -> str:
    return f"{'org' if isinstance(target, Organisation) else 'user'}:{target.pk}"


def _instruction_url(instruction: Instruction) -> str:
    return reverse("supervision:instruction_detail", args=[instruction.pk])


def _unit_staff(org_ids) -> list[User]:
    """The liaisons and handlers of exactly these units: the people who act on what reaches the unit."""
    return list(
        User.objects.filter(
            is_active=True,
            memberships__organisation_id__in=list(org_ids),
            memberships__role__in=(Role.LIAISON, Role.HANDLER),
        ).distinct()
    )


@transaction.atomic
def write_instruction(
    *, item: Item, leader, text: str, report=None, order=None, urgent: bool = False, recipients=None
) -> Instruction:
    """批示 on ``item`` (and the report or order it was written on), sent to ``recipients``.

    ``recipients`` are units (Organisation) and people (User) among ``instruction_targets(item)``;
    ``None`` means all of them.
    """
    if not access_profile(leader).has(Role.LEADER):
        raise ValidationError(_("只有领导可以作批示。"))
    stored = Item.objects.filter(pk=item.pk).select_related("lead_org", "owner").first()
    if stored is None:
        raise ValidationError(_("该事项不存在或已删除，批示未保存。"))
    if not Item.objects.visible_to(leader).filter(pk=item.pk).exists():
        raise ValidationError(_("您无权对此事项作批示。"))
    item = stored
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("请填写批示内容。")})
    if len(text) > INSTRUCTION_TEXT_LIMIT:
        raise ValidationError({"text": _("批示内容不能超过 %(n)d 个字。") % {"n": INSTRUCTION_TEXT_LIMIT}})
    if report is not None and report.item_id != item.pk:
        raise ValidationError(_("所选进展报送不属于此事项。"))
    if order is not None and not order.items.filter(pk=item.pk).exists():
        raise ValidationError(_("所选督办单不涉及此事项。"))
    allowed = {_target_key(target): target for target in instruction_targets(item)}
    if recipients is None:
        targets = list(allowed.values())
    else:
        keys = list(dict.fromkeys(_target_key(target) for target in recipients))
        if not keys:
            raise ValidationError({"recipients": _("请至少选择一个接收单位或责任人。")})
        if any(key not in allowed for key in keys):
            raise ValidationError({"recipients": _("批示只能发给此事项的牵头单位、配合单位或责任人。")})
        targets = [allowed[key] for key in keys]

    instruction = Instruction.objects.create(
        item=item, report=report, order=order, leader=leader, text=text, is_urgent=bool(urgent)
    )
    units = [target for target in targets if isinstance(target, Organisation)]
    people = [target for target in targets if not isinstance(target, Organisation)]
    InstructionRecipient.objects.bulk_create(
        [InstructionRecipient(instruction=instruction, organisation=unit) for unit in units]
        + [InstructionRecipient(instruction=instruction, user=person) for person in people]
    )
    Item.objects.filter(pk=item.pk).update(open_instructions=F("open_instructions") + 1)
    ItemEvent.objects.create(
        item=item,
        kind=EventKind.INSTRUCTION,
        actor=leader,
        comment=text,
        action="urgent" if urgent else "",
        report=report,
        data={"instruction": instruction.pk},
    )
    told = _unit_staff(unit.pk for unit in units) + people
    if item.owner is not None:
        told.append(item.owner)
    title = _("%(leader)s对「%(item)s」作出批示") % {"leader": leader, "item": item}
    notify(
        event=Event.INSTRUCTION,
        recipients=told,
        title=f"【{_('紧急')}】{title}" if urgent else title,
        body=text,
        url=_instruction_url(instruction),
        key=f"instruction:{instruction.pk}",
        organisations=units,
        actor=leader,
    )
    return instruction


def instruction_rows_for(instruction: Instruction, user) -> list[InstructionRecipient]:
    """The recipient rows ``user`` answers for: their own, and those of units where they are liaison or handler."""
    paths = access_profile(user).unit_paths
    return [
        row
        for row in instruction.recipients.select_related("organisation")
        if row.user_id == user.pk
        or (row.organisation_id is not None and any(row.organisation.path.startswith(p) for p in paths))
    ]


@transaction.atomic
def acknowledge_instruction(*, instruction: Instruction, user) -> int:
    """阅知: the user's recipient rows are marked read. Returns how many were new; 0 means the user had
    acknowledged already and nothing changed."""
    instruction = Instruction.objects.select_for_update().select_related("item").get(pk=instruction.pk)
    rows = instruction_rows_for(instruction, user)
    if not rows:
        raise ValidationError(_("您不是此批示的接收单位或接收人，不能阅知。"))
    pending = [row for row in rows if row.acknowledged_at is None]
    if not pending:
        return 0
    InstructionRecipient.objects.filter(pk__in=[row.pk for row in pending]).update(
        acknowledged_by=user, acknowledged_at=timezone.now()
    )
    names = [str(row.organisation or row.user) for row in pending]
    ItemEvent.objects.create(
        item=instruction.item,
        kind=EventKind.INSTRUCTION_ACKNOWLEDGED,
        actor=user,
        comment="、".join(names),
        data={"instruction": instruction.pk},
    )
    notify(
        event=Event.INSTRUCTION_ACKNOWLEDGED,
        recipients=[instruction.leader],
        title=_("%(who)s已阅知您对「%(item)s」的批示") % {"who": "、".join(names), "item": instruction.item},
        url=_instruction_url(instruction),
        key=f"instruction_ack:{instruction.pk}:{'-'.join(str(row.pk) for row in pending)}",
        actor=user,
    )
    _close_instructions_done([instruction.pk], user)
    return len(pending)


# No savepoint: it runs inside every report submission, whose transaction it belongs to.
@transaction.atomic(savepoint=False)
def answer_instructions(*, report, user, now=None) -> int:
    """A submitted progress report answers the open instructions on its item addressed to its unit.

    A person addressed (the owner) is answered by a report they write and by the lead unit's report,
    which they are responsible for. Called for every submission through ledgers' ``report_submitted``
    signal (``luoshi.supervision.receivers``). Returns how many recipient rows it answered.

    The item's counter of open instructions (read with the item the submission locked) spares the
    submissions of items without any (nearly all) every query.
    """
    if not report.item.open_instructions:
        return 0
    addressed = Q(organisation_id=report.organisation_id) | Q(user_id=report.author_id)
    if report.organisation_id == report.item.lead_org_id:
        addressed |= Q(user__isnull=False)
    rows = InstructionRecipient.objects.filter(
        addressed,
        instruction__item_id=report.item_id,
        instruction__is_open=True,
        answered_at__isnull=True,
    )
    instruction_ids = set(rows.values_list("instruction_id", flat=True))
    answered = rows.update(answered_by=report, answered_at=now or timezone.now())
    _close_instructions_done(instruction_ids, user)
    return answered


def _close_instructions_done(instruction_ids, user) -> None:
    """Close each open instruction every recipient of which has acknowledged and answered."""
    unfinished = InstructionRecipient.objects.filter(instruction_id=OuterRef("pk")).filter(
        Q(acknowledged_at__isnull=True) | Q(answered_at__isnull=True)
    )
    done = Instruction.objects.filter(pk__in=list(instruction_ids), is_open=True).exclude(Exists(unfinished))
    for instruction in done.select_for_update().select_related("item"):
        _close(instruction, user, _("各接收单位均已阅知并报送落实情况，批示办结。"))


def _close(instruction: Instruction, user, comment: str) -> None:
    instruction.is_open = False
    instruction.save()
    Item.objects.filter(pk=instruction.item_id, open_instructions__gt=0).update(
        open_instructions=F("open_instructions") - 1
    )
    ItemEvent.objects.create(
        item_id=instruction.item_id,
        kind=EventKind.INSTRUCTION,
        actor=user,
        action="closed",
        comment=comment,
        data={"instruction": instruction.pk},
    )


@transaction.atomic
def close_instruction(*, instruction: Instruction, user) -> Instruction:
    """已落实: the leader who wrote the instruction closes it by hand, whatever its recipients have done."""
    instruction = Instruction.objects.select_for_update().get(pk=instruction.pk)
    if instruction.leader_id != user.pk:
        raise ValidationError(_("只有作出批示的领导可以确认批示已落实。"))
    if not instruction.is_open:
        raise ValidationError(_("此批示已办结。"))
    _close(instruction, user, _("领导确认批示已落实。"))
    return instruction
