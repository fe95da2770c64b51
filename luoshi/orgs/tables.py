import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from luoshi.core.fields import masked_value
from luoshi.orgs.models import Organisation, User


def active_badge(value) -> str:
    if value:
        return format_html('<span class="badge bg-green-lt">{}</span>', _("启用"))
    return format_html('<span class="badge bg-secondary-lt">{}</span>', _("停用"))


class OrganisationTable(tables.Table):
    """The unit tree in path order, each name indented by its depth."""

    name = tables.Column(verbose_name=_("单位"), orderable=False)
    short_name = tables.Column(verbose_name=_("简称"), orderable=False)
    kind = tables.Column(verbose_name=_("类型"), orderable=False)
    parent = tables.Column(verbose_name=_("上级单位"), orderable=False)
    is_active = tables.Column(verbose_name=_("状态"), orderable=False)

    class Meta:
        model = Organisation
        fields = ("name", "short_name", "kind", "parent", "sort_order", "is_active")
        orderable = False
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("没有符合条件的单位。")

    def render_name(self, value, record):
        return format_html(
            '<span class="ps-{}">{}<a href="{}">{}</a></span>',
            min(record.depth, 5),
            "└ " if record.depth else "",
            reverse("orgs:organisation_edit", args=[record.pk]),
            value,
        )

    def render_is_active(self, value):
        return active_badge(value)


class UserTable(tables.Table):
    full_name = tables.Column(verbose_name=_("姓名"), order_by=("pinyin",))
    username = tables.Column(verbose_name=_("用户名"))
    phone = tables.Column(verbose_name=_("手机号"), orderable=False)
    roles = tables.Column(verbose_name=_("角色与单位"), accessor="pk", orderable=False)
    is_active = tables.Column(verbose_name=_("状态"))
    last_login = tables.DateTimeColumn(verbose_name=_("最近登录"), format="Y-m-d H:i")
    actions = tables.Column(verbose_name="", accessor="pk", orderable=False)

    class Meta:
        model = User
        fields = ("full_name", "username", "phone", "roles", "is_active", "last_login")
        order_by = ("full_name",)
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("没有符合条件的用户。")

    def __init__(
        self, *args, can_edit: bool = False, can_grant: bool = False, can_reveal_phone: bool = False, **kwargs
    ):
        # 三员分立: the system admin edits the account, the security admin its roles.
        self.can_edit = can_edit
        self.can_grant = can_grant
        self.can_reveal_phone = can_reveal_phone
        super().__init__(*args, **kwargs)

    def render_phone(self, value, record):
        # Masked in the page; the whole number is fetched (and audited) only on request.
        masked = masked_value(record, "phone")
        if not self.can_reveal_phone:
            return masked
        return format_html(
            '<span id="phone-{pk}">{masked} <button type="button" class="btn btn-sm btn-ghost-secondary" '
            'hx-get="{url}" hx-target="#phone-{pk}" hx-swap="outerHTML">{label}</button></span>',
            pk=record.pk,
            masked=masked,
            url=reverse("orgs:user_phone", args=[record.pk]),
            label=_("显示完整号码"),
        )

    def render_full_name(self, value, record):
        if self.can_grant:
            return format_html('<a href="{}">{}</a>', reverse("orgs:user_roles", args=[record.pk]), value)
        if self.can_edit:
            return format_html('<a href="{}">{}</a>', reverse("orgs:user_edit", args=[record.pk]), value)
        return value

    def render_roles(self, value, record):
        # Uses the memberships prefetched by ``selectors.user_list``: no query per row.
        return (
            format_html_join(
                "",
                '<span class="badge bg-azure-lt me-1 mb-1">{} · {}</span>',
                ((m.organisation, m.get_role_display()) for m in record.memberships.all()),
            )
            or "—"
        )

    def render_is_active(self, value):
        return active_badge(value)

    def render_actions(self, value, record):
        links = []
        if self.can_edit:
            links.append((reverse("orgs:user_edit", args=[record.pk]), _("编辑")))
        if self.can_grant:
            links.append((reverse("orgs:user_roles", args=[record.pk]), _("角色")))
        return format_html_join(" ", '<a class="btn btn-sm btn-ghost-primary" href="{}">{}</a>', links)
