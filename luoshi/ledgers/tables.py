import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from luoshi.ledgers.models import Item, Ledger


class ItemTable(tables.Table):
    selection = tables.CheckBoxColumn(accessor="pk", attrs={"input": {"name": "pk", "form": "bulk-form"}})
    title = tables.Column(linkify=True, verbose_name=_("事项名称"))
    lead_org = tables.Column(verbose_name=_("牵头单位"), order_by=("lead_org__pinyin",))
    lead_leader = tables.Column(verbose_name=_("牵头领导"), order_by=("lead_leader__pinyin",))
    deadline = tables.DateColumn(format="Y-m-d", verbose_name=_("完成时限"))
    status = tables.Column(verbose_name=_("状态"))
    warning_color = tables.Column(verbose_name=_("预警"))
    percent_complete = tables.Column(verbose_name=_("进度"))
    # Kept by the supervision services (a counter on the row), so the column and its sorting cost no join.
    open_instructions = tables.Column(verbose_name=_("未办结批示"))

    class Meta:
        model = Item
        fields = ("selection", "code", "title", "lead_org", "lead_leader", "deadline", "status")
        sequence = (
            "selection",
            "code",
            "title",
            "lead_org",
            "lead_leader",
            "deadline",
            "status",
            "percent_complete",
            "warning_color",
            "open_instructions",
        )
        order_by = ("deadline",)
        attrs = {"class": "table table-vcenter card-table table-hover"}
        empty_text = _("没有符合条件的事项。")
        template_name = "ledgers/tables/item_table.html"

    @property
    def selectable(self) -> bool:
        return self.columns["selection"].visible


class LedgerTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=_("台账名称"))
    item_count = tables.Column(verbose_name=_("事项数"))
    red_count = tables.Column(verbose_name=_("红色预警"))
    yellow_count = tables.Column(verbose_name=_("黄色预警"))
    done_count = tables.Column(verbose_name=_("已完成"))
    settings = tables.Column(empty_values=(), orderable=False, verbose_name="", exclude_from_export=True)

    # Set by the view: the offices whose ledgers this user may configure.
    supervisor_org_ids: frozenset[int] = frozenset()

    class Meta:
        model = Ledger
        fields = ("year", "name", "campaign", "owner_office", "default_report_cycle")
        sequence = ("year", "name", "campaign", "owner_office", "default_report_cycle", "item_count", "...")
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("暂无台账。")

    def render_settings(self, record):
        if record.owner_office_id not in self.supervisor_org_ids:
            return ""
        return format_html(
            '<a class="btn btn-sm" href="{}">{}</a>',
            reverse("ledgers:ledger_settings", args=[record.pk]),
            _("设置"),
        )
