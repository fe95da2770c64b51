"""Request gates for the session and password rules (see ``settings.MIDDLEWARE`` for their order)."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from luoshi.security import sessions

# Reachable while a password must be changed: the change page itself, signing out, the language
# switch, and the two-factor steps (which come first in the sign-in). Static files never reach the
# URLconf (WhiteNoise or the development server serve them first).
PASSWORD_CHANGE_EXEMPT_VIEWS = frozenset(
    {"security:password_change", "logout", "set_language", "twofactor:verify", "twofactor:enrol"}
)


def _is_htmx(request) -> bool:
    # Read the header: the session rules run before django-htmx has set ``request.htmx``.
    return request.headers.get("HX-Request") == "true"


def _go(request, url):
    # An htmx request would swap the target page into the current one; make the browser navigate.
    if _is_htmx(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


class SessionPolicyMiddleware:
    """Ends a signed-in session that was idle too long or is older than the policy allows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            reason = sessions.check(request)
            if reason is not None:
                sessions.end(request, reason)
                url = reverse("login")
                if request.method == "GET" and not _is_htmx(request):
                    url = f"{url}?{urlencode({'next': request.get_full_path()})}"
                return _go(request, url)
        return self.get_response(request)


class PasswordChangeMiddleware:
    """Sends a signed-in person whose password expired or was set by an admin to 修改密码, and
    nowhere else, until it is changed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated or sessions.PASSWORD_CHANGE not in request.session:
            return None
        if request.resolver_match.view_name in PASSWORD_CHANGE_EXEMPT_VIEWS:
            return None
        return _go(request, reverse("security:password_change"))
