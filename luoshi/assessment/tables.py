import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from luoshi.assessment.models import Scheme


class SchemeTable(tables.Table):
    name = tables.Column(
        verbose_name=_("方案名称"), linkify=("assessment:scheme_detail", {"pk": tables.A("pk")})
    )
    year = tables.Column(verbose_name=_("年度"))
    office = tables.Column(verbose_name=_("考核单位"), order_by=("office__path",))
    full_marks = tables.Column(verbose_name=_("满分"))
    group_count = tables.Column(verbose_name=_("分组数"))
    period_count = tables.Column(verbose_name=_("考核周期数"))

    class Meta:
        model = Scheme
        fields = ("name", "year", "office", "full_marks", "group_count", "period_count")
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("还没有考核方案。")

    def render_full_marks(self, value):
        return f"{value.normalize():f}"
