import math

from axes.models import AccessAttempt
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from luoshi.core.forms import LoginForm
from luoshi.core.views import ObjectListView, RoleRequiredMixin, ServiceFormMixin
from luoshi.orgs.models import Role, User
from luoshi.security import selectors, services, sessions
from luoshi.security.filters import UserSessionFilterSet
from luoshi.security.forms import PasswordChangeForm, SecurityPolicyForm
from luoshi.security.models import SecurityPolicy, UserSession
from luoshi.security.tables import UserSessionTable

SECURITY_ADMIN = frozenset({Role.SECURITY_ADMIN})
LOCKED_STATUS = 429


# Policy ------------------------------------------------------------------------------------------


class PolicyView(RoleRequiredMixin, ServiceFormMixin, View):
    required_roles = SECURITY_ADMIN
    template_name = "security/policy_form.html"

    def get(self, request):
        form = SecurityPolicyForm(instance=selectors.current_policy())
        return render(request, self.template_name, {"form": form, "active": "policy"})

    def post(self, request):
        form = SecurityPolicyForm(request.POST, instance=selectors.current_policy())
        if form.is_valid():
            version = form.cleaned_data["version"]
            saved = self.run_service(
                form, lambda: services.update_policy(version=version, **form.service_fields())
            )
            if saved is not None:
                messages.success(request, _("安全策略已保存。"))
                return redirect("security:policy")
            if SecurityPolicy.objects.filter(pk=1).exclude(version=version).exists():
                return self.stale(request, form)
        return render(request, self.template_name, {"form": form, "active": "policy"})

    def stale(self, request, form):
        """Another admin saved first: keep this admin's input, show what is stored, let them resubmit."""
        stored = SecurityPolicy.objects.get(pk=1)
        form.data = form.data.copy()
        form.data["version"] = str(stored.version)
        context = {"form": form, "stale": stored, "active": "policy"}
        return render(request, self.template_name, context, status=409)


# Sessions ----------------------------------------------------------------------------------------


class SessionListView(ObjectListView):
    required_roles = SECURITY_ADMIN
    table_class = UserSessionTable
    filterset_class = UserSessionFilterSet
    template_name = "security/session_list.html"
    title = gettext_lazy("在线会话")

    def get_queryset(self):
        return selectors.live_sessions()


class SessionEndView(RoleRequiredMixin, View):
    required_roles = SECURITY_ADMIN
    http_method_names = ["post"]

    def post(self, request, pk):
        session = get_object_or_404(UserSession.objects.select_related("user"), pk=pk)
        if session.session_key == request.session.session_key:
            messages.error(request, _("不能在这里结束自己当前的会话，请使用“退出”。"))
        else:
            services.end_session(session=session)
            messages.success(request, _("已结束 %(user)s 的一个会话。") % {"user": session.user})
        return redirect("security:session_list")


class UserSessionsEndView(RoleRequiredMixin, View):
    required_roles = SECURITY_ADMIN
    http_method_names = ["post"]

    def post(self, request, pk):
        person = get_object_or_404(User, pk=pk)
        ended = services.end_all_sessions(
            user=person, reason=services.SessionEndReason.ADMIN, keep_session_key=request.session.session_key
        )
        if ended:
            messages.success(request, _("已结束 %(user)s 的 %(n)d 个会话。") % {"user": person, "n": ended})
        else:
            messages.error(request, _("%(user)s 没有可结束的会话。") % {"user": person})
        return redirect("security:session_list")


# Lockouts ----------------------------------------------------------------------------------------


class LockoutListView(RoleRequiredMixin, TemplateView):
    required_roles = SECURITY_ADMIN
    template_name = "security/lockout_list.html"

    def get_context_data(self, **kwargs):
        locked = selectors.locked_accounts()
        people = {
            user.username: user
            for user in User.objects.filter(username__in=[row["username"] for row in locked])
        }
        for row in locked:
            row["person"] = people.get(row["username"])
        return {
            **super().get_context_data(**kwargs),
            "locked": locked,
            "active": "lockouts",
            "title": _("锁定账号"),
        }


class UnlockView(RoleRequiredMixin, View):
    required_roles = SECURITY_ADMIN
    http_method_names = ["post"]

    def post(self, request, pk):
        attempt = get_object_or_404(AccessAttempt, pk=pk)
        try:
            services.unlock_account(username=attempt.username)
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        else:
            messages.success(request, _("账号「%(name)s」已解锁。") % {"name": attempt.username})
        return redirect("security:lockout_list")


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page again, saying when the locked account may try again (AXES_LOCKOUT_CALLABLE)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    until = selectors.locked_until(username) or timezone.now() + selectors.lockout_duration()
    message = _("账号已锁定，请于 %(time)s 后再试。") % {"time": _minute_after(until)}
    context = {"form": LoginForm(request, initial={"username": username}), "lockout_message": message}
    return render(request, "registration/login.html", context, status=LOCKED_STATUS)


def _minute_after(moment) -> str:
    """``moment`` rounded up to the minute, in local time, with the date unless it is today."""
    local = timezone.localtime(moment)
    seconds = local.second + local.microsecond / 1_000_000
    local = local.replace(second=0, microsecond=0) + timezone.timedelta(minutes=math.ceil(seconds / 60))
    if local.date() == timezone.localdate():
        return f"{local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


# Self-service password change --------------------------------------------------------------------

REASON_MESSAGES = {
    selectors.MUST_CHANGE: gettext_lazy("您的密码由管理员设置，请先修改为只有您自己知道的密码。"),
    selectors.EXPIRED: gettext_lazy("您的密码已超过有效期，请修改密码后继续使用。"),
}


class PasswordChangeView(LoginRequiredMixin, ServiceFormMixin, View):
    template_name = "security/password_change.html"

    def context(self, form):
        reason = self.request.session.get(sessions.PASSWORD_CHANGE)
        return {"form": form, "reason": REASON_MESSAGES.get(reason), "title": _("修改密码")}

    def get(self, request):
        return render(request, self.template_name, self.context(PasswordChangeForm()))

    def post(self, request):
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            user = self.run_service(
                form,
                lambda: services.change_own_password(
                    user=request.user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password1"],
                    current_session_key=request.session.session_key,
                ),
            )
            if user is not None:
                update_session_auth_hash(request, user)
                sessions.rekey(request)
                request.session.pop(sessions.PASSWORD_CHANGE, None)
                messages.success(request, _("密码已修改。"))
                return redirect("home")
        return render(request, self.template_name, self.context(form))
