"""Screens of two-factor sign-in: the code page, enrolment, 账号安全, and the security admin's reset."""

import contextlib
from base64 import b32encode
from binascii import unhexlify

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django_otp import login as otp_login

from luoshi.core import crypto
from luoshi.core.views import ObjectListView, RoleRequiredMixin, ServiceFormMixin
from luoshi.orgs import selectors as org_selectors
from luoshi.orgs.filters import UserFilterSet
from luoshi.orgs.models import Role, User
from luoshi.security import sessions as session_registry
from luoshi.twofactor import selectors, services
from luoshi.twofactor.forms import CodeForm, EnrolForm
from luoshi.twofactor.models import AuthenticatorDevice
from luoshi.twofactor.tables import TwoFactorUserTable

PENDING_KEY_SESSION_KEY = "twofactor_pending_key"  # the secret shown at enrolment, until confirmed
SECURITY_ADMIN = frozenset({Role.SECURITY_ADMIN})


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def pending_key(session) -> str | None:
    """The secret shown at enrolment and not confirmed yet, if any.

    Sessions are stored in the database, so it is kept there as SM4 ciphertext like a bound one.
    """
    token = session.get(PENDING_KEY_SESSION_KEY)
    with contextlib.suppress(crypto.DecryptionError):
        return crypto.decrypt(token) if token else None
    return None  # made under a data key since retired: a new secret is shown


def _must_verify_first(request) -> bool:
    """A session that has not passed its own device must not change that device or its codes."""
    return not request.user.is_verified() and selectors.totp_device(request.user) is not None


def _signed_in_with(request, device) -> None:
    otp_login(request, device)
    # A new session key once the second factor is done, as Django does after the password; the
    # registry of signed-in sessions follows it.
    request.session.cycle_key()
    session_registry.rekey(request)


class VerifyView(LoginRequiredMixin, ServiceFormMixin, View):
    """After the password: the code from the authenticator app, or a recovery code."""

    template_name = "twofactor/verify.html"

    def _elsewhere(self, request):
        """Where to go instead when there is no code to ask for (none enrolled, or already verified)."""
        if request.user.is_verified():
            return redirect(_next_url(request))
        if selectors.totp_device(request.user) is not None:
            return None
        step = selectors.pending_step(request.user)
        request.session[selectors.STEP_SESSION_KEY] = step
        if step == selectors.ENROL:
            return redirect("twofactor:enrol")
        return redirect(_next_url(request))

    def get(self, request):
        return self._elsewhere(request) or self._render(request, CodeForm())

    def post(self, request):
        elsewhere = self._elsewhere(request)
        if elsewhere is not None:
            return elsewhere
        form = CodeForm(request.POST)
        device = form.is_valid() and self.run_service(
            form, lambda: services.verify_second_factor(user=request.user, code=form.cleaned_data["code"])
        )
        if not device:
            return self._render(request, form)
        _signed_in_with(request, device)
        if not isinstance(device, AuthenticatorDevice):
            left = selectors.recovery_codes_left(request.user)
            messages.warning(
                request,
                _("您使用了一个恢复码，还剩 %(left)d 个。用完前请在「账号安全」中重新生成。")
                % {"left": left},
            )
        return redirect(_next_url(request))

    def _render(self, request, form):
        return render(
            request,
            self.template_name,
            {"form": form, "next": _next_url(request), "title": _("双因素验证")},
        )


class EnrolView(LoginRequiredMixin, ServiceFormMixin, View):
    """Bind an authenticator app: scan the QR code (or type the secret), then confirm with a code."""

    template_name = "twofactor/enrol.html"

    def _key(self, request) -> str:
        # Kept in the session until confirmed, so reloading the page shows the same QR code.
        key = pending_key(request.session)
        if not key:
            key = services.new_secret()
            request.session[PENDING_KEY_SESSION_KEY] = crypto.encrypt(key)
        return key

    def get(self, request):
        if _must_verify_first(request):
            return redirect("twofactor:verify")
        return self._render(request, EnrolForm())

    def post(self, request):
        if _must_verify_first(request):
            return redirect("twofactor:verify")
        form = EnrolForm(request.POST)
        key = self._key(request)
        result = form.is_valid() and self.run_service(
            form,
            lambda: services.confirm_enrolment(user=request.user, key=key, code=form.cleaned_data["code"]),
        )
        if not result:
            return self._render(request, form)
        device, codes = result
        del request.session[PENDING_KEY_SESSION_KEY]
        _signed_in_with(request, device)
        messages.success(request, _("已启用双因素登录。"))
        # Rendered in the answer to the POST, not stored anywhere: the codes are shown this once.
        return render(
            request,
            "twofactor/recovery_codes.html",
            {"codes": codes, "next": _next_url(request), "title": _("恢复码")},
        )

    def _render(self, request, form):
        key = self._key(request)
        device = AuthenticatorDevice(user=request.user, key=key)
        secret = b32encode(unhexlify(key)).decode()
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "config_url": device.config_url,
                "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
                "required": selectors.two_factor_required(request.user),
                "replacing": selectors.totp_device(request.user) is not None,
                "next": _next_url(request),
                "title": _("绑定身份验证器"),
            },
        )


class AccountSecurityView(LoginRequiredMixin, View):
    """账号安全: the user's own second factor — bind, rebind, new recovery codes, switch off."""

    def get(self, request):
        return render(
            request,
            "twofactor/security.html",
            {
                "device": selectors.totp_device(request.user),
                "codes_left": selectors.recovery_codes_left(request.user),
                "required": selectors.two_factor_required(request.user),
                "title": _("账号安全"),
            },
        )


class RecoveryCodesView(LoginRequiredMixin, View):
    """New recovery codes (the old ones stop working), shown once."""

    def post(self, request):
        if _must_verify_first(request):
            return redirect("twofactor:verify")
        try:
            codes = services.regenerate_recovery_codes(user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("twofactor:security")
        return render(
            request,
            "twofactor/recovery_codes.html",
            {"codes": codes, "next": resolve_url("twofactor:security"), "title": _("恢复码")},
        )


class RemoveView(LoginRequiredMixin, View):
    """Switch off a second factor enrolled voluntarily."""

    def post(self, request):
        if _must_verify_first(request):
            return redirect("twofactor:verify")
        try:
            services.remove_own_two_factor(user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            request.session[selectors.STEP_SESSION_KEY] = selectors.NONE
            messages.success(request, _("已停用双因素登录。"))
        return redirect("twofactor:security")


class UserListView(ObjectListView):
    """The security admin's list: who has a second factor, with a reset for a lost phone."""

    required_roles = SECURITY_ADMIN
    table_class = TwoFactorUserTable
    filterset_class = UserFilterSet
    template_name = "twofactor/user_list.html"
    title = gettext_lazy("双因素登录")

    def get_queryset(self):
        return selectors.users_with_state(org_selectors.user_list())


class ResetView(RoleRequiredMixin, View):
    """Remove a user's app and recovery codes (audited); they enrol again at their next sign-in."""

    required_roles = SECURITY_ADMIN

    def get(self, request, pk):
        person = get_object_or_404(User, pk=pk)
        return render(
            request,
            "twofactor/reset.html",
            {
                "person": person,
                "device": selectors.totp_device(person),
                "title": _("重置双因素登录"),
            },
        )

    def post(self, request, pk):
        person = get_object_or_404(User, pk=pk)
        try:
            services.reset_two_factor(user=person, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("已重置「%(name)s」的双因素登录。") % {"name": person})
        return redirect("twofactor:user_list")
