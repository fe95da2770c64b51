"""Views: thin; writes go through services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST

from luoshi.core.views import ObjectListView, RoleRequiredMixin, ServiceFormMixin
from luoshi.notifications import selectors, services
from luoshi.notifications.filters import ChannelFilterSet, DeliveryFilterSet, InboxFilterSet
from luoshi.notifications.forms import ChannelForm, PreferenceForm
from luoshi.notifications.models import Channel, Event
from luoshi.notifications.tables import ChannelTable, DeliveryTable, InboxTable
from luoshi.orgs.models import Role

# Robots are configured by a ledger's supervisors and a unit's liaisons; the system admin also sees the
# dead letters, as the keeper of the mail and robot set-up.
CHANNEL_MANAGERS = frozenset({Role.SUPERVISOR, Role.LIAISON})
DELIVERY_WATCHERS = CHANNEL_MANAGERS | {Role.SYSTEM_ADMIN}


# The inbox ---------------------------------------------------------------------------------------


class InboxView(ObjectListView):
    table_class = InboxTable
    filterset_class = InboxFilterSet
    template_name = "notifications/inbox.html"
    title = gettext_lazy("消息")
    paginate_by = 25

    def get_queryset(self):
        return selectors.inbox(self.request.user)


@login_required
@require_POST
def mark_read(request, pk):
    notification = get_object_or_404(selectors.inbox(request.user), pk=pk)
    services.mark_read(user=request.user, notification=notification)
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request):
    count = services.mark_all_read(user=request.user)
    messages.success(request, _("已将 %(count)s 条消息标为已读。") % {"count": count})
    return redirect("notifications:inbox")


class PreferenceView(RoleRequiredMixin, ServiceFormMixin, View):
    template_name = "notifications/preferences.html"

    def context(self, form):
        return {"form": form, "events": Event.choices, "title": _("通知设置")}

    def get(self, request):
        chosen = services.email_preferences(request.user)
        form = PreferenceForm(initial={"email_events": [event for event, on in chosen.items() if on]})
        return render(request, self.template_name, self.context(form))

    def post(self, request):
        form = PreferenceForm(request.POST)
        if form.is_valid():
            events = form.cleaned_data["email_events"]
            saved = self.run_service(
                form, lambda: services.set_email_preferences(user=request.user, email_events=events)
            )
            if saved is not None:
                messages.success(request, _("通知设置已保存。"))
                return redirect("notifications:preferences")
        return render(request, self.template_name, self.context(form))


# Robots ---------------------------------------------------------------------------------------------


class ChannelListView(ObjectListView):
    required_roles = CHANNEL_MANAGERS
    table_class = ChannelTable
    filterset_class = ChannelFilterSet
    template_name = "notifications/channel_list.html"
    title = gettext_lazy("推送渠道")

    def get_queryset(self):
        return selectors.channel_list(self.request.user).order_by("name", "pk")


class ChannelEditView(RoleRequiredMixin, ServiceFormMixin, View):
    required_roles = CHANNEL_MANAGERS
    template_name = "notifications/channel_form.html"

    def get_channel(self, pk):
        return None if pk is None else get_object_or_404(selectors.channel_list(self.request.user), pk=pk)

    def form(self, channel, data=None):
        user = self.request.user
        return ChannelForm(
            data,
            instance=channel,
            organisations=selectors.organisation_choices(user),
            ledgers=selectors.ledger_choices(user),
        )

    def get(self, request, pk=None):
        channel = self.get_channel(pk)
        return render(request, self.template_name, {"form": self.form(channel), "channel": channel})

    def post(self, request, pk=None):
        channel = self.get_channel(pk)
        form = self.form(channel, request.POST)
        context = {"form": form, "channel": channel}
        if form.is_valid():
            version = form.cleaned_data.get("version")
            saved = self.run_service(
                form, lambda: services.save_channel(user=request.user, channel=form.instance, version=version)
            )
            if saved is not None:
                messages.success(request, _("推送渠道「%(name)s」已保存。") % {"name": saved.name})
                return redirect("notifications:channel_edit", pk=saved.pk)
            if channel is not None:
                stored = Channel.objects.get(pk=channel.pk)
                if stored.version != version:
                    return self.stale_response(request, self.template_name, context, form, stored)
        return render(request, self.template_name, context)


@login_required
@require_POST
def channel_test(request, pk):
    """Send one message now; the robot's answer is shown either way."""
    channel = get_object_or_404(selectors.channel_list(request.user), pk=pk)
    result = services.send_test_message(channel=channel, user=request.user)
    if result.ok:
        messages.success(request, _("测试消息已发送，机器人回复：%(answer)s") % {"answer": result.answer})
    else:
        messages.error(request, _("测试消息发送失败：%(answer)s") % {"answer": result.answer})
    return redirect("notifications:channel_edit", pk=channel.pk)


# Dead letters -----------------------------------------------------------------------------------------


class DeliveryListView(ObjectListView):
    required_roles = DELIVERY_WATCHERS
    table_class = DeliveryTable
    filterset_class = DeliveryFilterSet
    template_name = "notifications/delivery_list.html"
    title = gettext_lazy("投递失败")

    def get_queryset(self):
        return selectors.delivery_list(self.request.user)


@login_required
@require_POST
def delivery_retry(request, pk):
    delivery = get_object_or_404(selectors.delivery_list(request.user), pk=pk)
    services.retry_now(delivery=delivery)
    messages.success(request, _("已重新排队发送：%(title)s") % {"title": delivery.title})
    return redirect("notifications:delivery_list")
