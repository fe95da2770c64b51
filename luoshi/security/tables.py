import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from luoshi.security.models import UserSession

END_BUTTONS = """{% load i18n %}<div class="d-flex gap-1">
<form method="post" action="{% url 'security:session_end' record.pk %}">{% csrf_token %}
<button type="submit" class="btn btn-sm btn-outline-danger">{% translate "结束此会话" %}</button></form>
<form method="post" action="{% url 'security:user_sessions_end' record.user_id %}">{% csrf_token %}
<button type="submit" class="btn btn-sm btn-ghost-danger">{% translate "结束此人全部会话" %}</button></form>
</div>"""


class UserSessionTable(tables.Table):
    user = tables.Column(verbose_name=_("用户"), order_by=("user__pinyin",))
    created_at = tables.DateTimeColumn(verbose_name=_("登录时间"), format="Y-m-d H:i")
    last_seen = tables.DateTimeColumn(verbose_name=_("最近活动"), format="Y-m-d H:i")
    ip_address = tables.Column(verbose_name=_("来源地址"), default="—")
    user_agent = tables.Column(verbose_name=_("浏览器"), orderable=False)
    actions = tables.TemplateColumn(END_BUTTONS, verbose_name="", orderable=False)

    class Meta:
        model = UserSession
        fields = ("user", "created_at", "last_seen", "ip_address", "user_agent")
        order_by = ("-last_seen",)
        attrs = {"class": "table table-vcenter card-table"}
        empty_text = _("当前没有在线会话。")

    def render_user_agent(self, value):
        return value[:60] + ("…" if len(value) > 60 else "")
