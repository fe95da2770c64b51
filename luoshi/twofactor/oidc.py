"""Optional sign-in through the office's identity provider (OpenID Connect, mozilla-django-oidc).

On only when the client and the provider's endpoints are configured (``settings.OIDC_ENABLED``).
The provider vouches for the password step only: accounts and roles stay local, nobody unknown
gets in, and the second factor is asked afterwards as for any other sign-in.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.orgs.models import User

logger = logging.getLogger(__name__)

BACKEND = "luoshi.twofactor.oidc.OIDCBackend"
_REFUSAL = "_oidc_refusal"  # request attribute: why the backend turned the sign-in down


def enabled() -> bool:
    return bool(settings.OIDC_ENABLED)


class OIDCBackend(OIDCAuthenticationBackend):
    """Finds the local account named by the provider's ``OIDC_USERNAME_CLAIM``; never creates one."""

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        name = str(claims.get(settings.OIDC_USERNAME_CLAIM) or "")
        user = User.objects.filter(username=name).first() if name else None
        if user is None:
            return self._refuse(
                name,
                _("统一身份认证账号「%(name)s」在本平台没有对应的账号，请联系系统管理员开通。")
                % {"name": name},
            )
        if not user.is_active:
            return self._refuse(name, _("账号「%(name)s」已停用，请联系系统管理员。") % {"name": name})
        return user

    def _refuse(self, name: str, message: str) -> None:
        setattr(self.request, _REFUSAL, message)
        record(action=AuditAction.LOGIN_FAILED, username=name[:150], after={"oidc": True}, success=False)
        return None


class _OnlyWhenEnabled:
    def dispatch(self, request, *args, **kwargs):
        if not enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class SignInView(_OnlyWhenEnabled, OIDCAuthenticationRequestView):
    """Sends the browser to the provider (with state, nonce and PKCE)."""


class CallbackView(_OnlyWhenEnabled, OIDCAuthenticationCallbackView):
    """The provider's answer: signs the matched local user in, or back to the sign-in page with why not."""

    def get(self, request):
        try:
            return super().get(request)
        except SuspiciousOperation as error:
            # A forged, replayed or mismatched answer (bad signature, nonce or state): refused, and kept.
            logger.warning("OIDC sign-in refused: %s", error)
            record(action=AuditAction.LOGIN_FAILED, after={"oidc": True}, success=False)
            return self.login_failure()

    def login_failure(self):
        reason = getattr(self.request, _REFUSAL, None) or _(
            "统一身份认证登录未完成，请重试，或使用本平台账号登录。"
        )
        messages.error(self.request, reason)
        return HttpResponseRedirect(reverse("login"))
