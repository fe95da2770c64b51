import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from luoshi.orgs.models import User


class TwoFactorUserTable(tables.Table):
    full_name = tables.Column(verbose_name=_("姓名"), order_by=("pinyin",))
    username = tables.Column(verbose_name=_("用户名"))
    roles = tables.Column(verbose_name=_("角色与单位"), accessor="pk", orderable=False)
    has_two_factor = tables.Column(verbose_name=_("双因素登录"))
    actions = tables.Column(verbose_name="", accessor="pk", orderable=False)

    class Meta:
        model = User
        fields = ("full_name", "username", "roles", "has_two_factor")
        order_by = ("full_name",)
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("没有符合条件的用户。")

    def render_roles(self, value, record):
        # The memberships ``orgs.selectors.user_list`` prefetched: no query per row.
        return (
            format_html_join(
                "",
                '<span class="badge bg-azure-lt me-1 mb-1">{} · {}</span>',
                ((m.organisation, m.get_role_display()) for m in record.memberships.all()),
            )
            or "—"
        )

    def render_has_two_factor(self, value):
        if value:
            return format_html('<span class="badge bg-green-lt">{}</span>', _("已启用"))
        return format_html('<span class="badge bg-secondary-lt">{}</span>', _("未启用"))

    def render_actions(self, value, record):
        if not record.has_two_factor:
            return ""
        return format_html(
            '<a class="btn btn-sm btn-ghost-danger" href="{}">{}</a>',
            reverse("twofactor:reset", args=[record.pk]),
            _("重置"),
        )
