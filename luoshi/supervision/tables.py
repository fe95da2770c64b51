import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from luoshi.supervision.models import (
    Accountability,
    Inspection,
    Instruction,
    Interview,
    SupervisionOrder,
    Urge,
)
from luoshi.supervision.selectors import closure_rate

# Urging and escalation ---------------------------------------------------------------------------------


URGE_WIDE_ONLY = {"th": {"class": "d-none d-md-table-cell"}, "td": {"class": "d-none d-md-table-cell"}}
URGE_ITEM = """<a href="{% url 'ledgers:item_detail' record.item_id %}" class="text-reset">\
{{ record.item.title|truncatechars:40 }}</a><div class="small text-secondary">{{ record.item.ledger }}</div>"""


class UrgeTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name=_("催办时间"), format="Y-m-d H:i")
    item = tables.TemplateColumn(URGE_ITEM, verbose_name=_("事项"), order_by=("item__title",))
    organisation = tables.Column(verbose_name=_("被催办单位"))
    recipient = tables.Column(verbose_name=_("责任人"), attrs=URGE_WIDE_ONLY, default="—")
    urged_by = tables.Column(verbose_name=_("催办人"), default=_("按规则自动"))
    message = tables.Column(verbose_name=_("催办内容"), orderable=False, attrs=URGE_WIDE_ONLY)

    class Meta:
        model = Urge
        fields = ("created_at", "item", "organisation", "recipient", "urged_by", "message")
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("没有符合条件的催办记录。")

    def render_message(self, value):
        return value if len(value) <= 60 else f"{value[:60]}…"


# Supervision orders and notices ---------------------------------------------------------------------

ORDER_STATUS = """{{ record.get_status_display }}\
{% if record.reply_is_late %} <span class="badge bg-orange-lt">{{ late_label }}</span>{% endif %}"""


class OrderTable(tables.Table):
    number = tables.Column(
        accessor="number", verbose_name=_("编号"), linkify=True, order_by=("kind", "year", "serial")
    )
    subject = tables.Column(verbose_name=_("标题"), linkify=True)
    organisation = tables.Column(verbose_name=_("责任单位"), order_by=("organisation__pinyin",))
    level = tables.Column(verbose_name=_("督办级别"))
    reply_deadline = tables.DateColumn(format="Y-m-d", verbose_name=_("回复时限"))
    status = tables.TemplateColumn(
        ORDER_STATUS, verbose_name=_("状态"), extra_context={"late_label": _("逾期回复")}
    )

    class Meta:
        model = SupervisionOrder
        fields = ("number", "subject", "organisation", "level", "reply_deadline", "status")
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("没有符合条件的督办单。")


# Interviews and accountability ------------------------------------------------------------------------


class InterviewTable(tables.Table):
    held_on = tables.DateColumn(format="Y-m-d", verbose_name=_("约谈日期"))
    organisation = tables.Column(
        verbose_name=_("被约谈单位"), linkify=("supervision:interview_detail", {"pk": tables.A("pk")})
    )
    interviewee = tables.Column(verbose_name=_("被约谈人"))
    interviewer = tables.Column(verbose_name=_("约谈人"))
    office = tables.Column(verbose_name=_("组织单位"))

    class Meta:
        model = Interview
        fields = ("held_on", "organisation", "interviewee", "interviewer", "office")
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("暂无约谈记录。")


class AccountabilityTable(tables.Table):
    decided_on = tables.DateColumn(format="Y-m-d", verbose_name=_("决定日期"))
    form = tables.Column(
        verbose_name=_("问责方式"), linkify=("supervision:accountability_detail", {"pk": tables.A("pk")})
    )
    organisation = tables.Column(verbose_name=_("问责单位"))
    person = tables.Column(verbose_name=_("问责对象（个人）"), default="—")
    office = tables.Column(verbose_name=_("组织单位"))

    class Meta:
        model = Accountability
        fields = ("decided_on", "form", "organisation", "person", "office")
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("暂无问责记录。")


# Inspections and rectification ------------------------------------------------------------------------


class InspectionTable(tables.Table):
    planned_on = tables.DateColumn(format="Y-m-d", verbose_name=_("督查日期"))
    title = tables.Column(
        verbose_name=_("督查名称"), linkify=("supervision:inspection_detail", {"pk": tables.A("pk")})
    )
    kind = tables.Column(verbose_name=_("方式"))
    status = tables.Column(verbose_name=_("状态"))
    office = tables.Column(
        verbose_name=_("组织单位"),
        attrs={"th": {"class": "d-none d-md-table-cell"}, "td": {"class": "d-none d-md-table-cell"}},
    )
    findings_count = tables.Column(verbose_name=_("发现问题"))
    problems = tables.Column(verbose_name=_("交办整改"))
    closed = tables.Column(verbose_name=_("已销号"))
    rate = tables.Column(verbose_name=_("销号率"), empty_values=(), orderable=False)

    class Meta:
        model = Inspection
        fields = (
            "planned_on",
            "title",
            "kind",
            "status",
            "office",
            "findings_count",
            "problems",
            "closed",
            "rate",
        )
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("暂无督查。")

    def render_rate(self, record):
        rate = closure_rate(record.closed, record.problems)
        return "—" if rate is None else f"{rate}%"


# Leaders' instructions ----------------------------------------------------------------------------------

# Columns a phone has no room for are shown from the md breakpoint up; the text links to the detail.
WIDE_ONLY = {"th": {"class": "d-none d-md-table-cell"}, "td": {"class": "d-none d-md-table-cell"}}

INSTRUCTION_TEXT = """<a href="{% url 'supervision:instruction_detail' record.pk %}" class="text-reset d-block">\
{% if record.is_urgent %}<span class="badge bg-red-lt me-1">{{ urgent_label }}</span>{% endif %}\
{{ record.text|truncatechars:60 }}</a>\
<div class="small text-secondary">{{ record.item.title|truncatechars:40 }}</div>"""

ACKNOWLEDGE_BUTTON = """{% load i18n submission %}{% if record.awaiting_me %}\
<form method="post" action="{% url 'supervision:instruction_acknowledge' record.pk %}">{% csrf_token %}\
{% submission_token %}<button type="submit" class="btn btn-sm btn-primary text-nowrap" \
data-testid="acknowledge-{{ record.pk }}">{% translate "阅知" %}</button></form>\
{% else %}<span class="badge bg-green-lt text-nowrap">{% translate "已阅知" %}</span>{% endif %}"""


class InstructionTableBase(tables.Table):
    text = tables.TemplateColumn(
        INSTRUCTION_TEXT,
        verbose_name=_("批示内容"),
        orderable=False,
        extra_context={"urgent_label": _("紧急")},
    )
    created_at = tables.DateTimeColumn(verbose_name=_("批示时间"), format="Y-m-d H:i", attrs=WIDE_ONLY)
    is_open = tables.BooleanColumn(verbose_name=_("状态"), yesno=(_("未办结"), _("已办结")))

    class Meta:
        model = Instruction
        fields = ()
        order_by = ("-created_at",)
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("暂无批示。")


class WrittenInstructionTable(InstructionTableBase):
    """我的批示: each one's acknowledgements and answers, so a leader sees who has not yet acted."""

    acknowledged = tables.Column(
        accessor="acknowledged_count", verbose_name=_("阅知"), order_by=("acknowledged_count",)
    )
    answered = tables.Column(
        accessor="answered_count", verbose_name=_("落实反馈"), order_by=("answered_count",), attrs=WIDE_ONLY
    )

    class Meta(InstructionTableBase.Meta):
        sequence = ("text", "created_at", "acknowledged", "answered", "is_open")

    def render_acknowledged(self, value, record):
        return f"{value}/{record.recipient_count}"

    def render_answered(self, value, record):
        return f"{value}/{record.recipient_count}"


class ReceivedInstructionTable(InstructionTableBase):
    leader = tables.Column(verbose_name=_("批示领导"), order_by=("leader__pinyin",), attrs=WIDE_ONLY)
    acknowledge = tables.TemplateColumn(ACKNOWLEDGE_BUTTON, verbose_name="", orderable=False)

    class Meta(InstructionTableBase.Meta):
        sequence = ("text", "leader", "created_at", "is_open", "acknowledge")
