"""Until the second factor is done, a signed-in session reaches only the two-factor pages."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from luoshi.twofactor import selectors

# Reachable before the second factor: the pages that complete it, signing out, the language switch
# (the verify page carries it), static files and the health check.
OPEN_VIEWS = frozenset({"twofactor:verify", "twofactor:enrol", "logout", "set_language"})
OPEN_PREFIXES = ("/healthz",)


def _is_open(request) -> bool:
    path = request.path_info
    static = "/" + settings.STATIC_URL.lstrip("/")
    if path.startswith(static) or path.startswith(OPEN_PREFIXES):
        return True
    try:
        return resolve(path).view_name in OPEN_VIEWS
    except Resolver404:
        return False


def step_for(request) -> str:
    """The session's outstanding step; sessions from before this feature get it worked out once."""
    step = request.session.get(selectors.STEP_SESSION_KEY)
    if step is None:
        step = selectors.pending_step(request.user)
        request.session[selectors.STEP_SESSION_KEY] = step
    return step


class TwoFactorMiddleware:
    """Sends a signed-in, unverified session to the code page (or to enrolment) from anywhere else.

    Install after django_otp's OTPMiddleware, which tells whether the session is verified.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and not _is_open(request):
            step = step_for(request)
            if step and not request.user.is_verified():
                return self._redirect(request, step)
        return self.get_response(request)

    @staticmethod
    def _redirect(request, step):
        url = reverse("twofactor:verify" if step == selectors.VERIFY else "twofactor:enrol")
        if request.headers.get("HX-Request"):
            # An htmx request must move the whole page, not swap the code form into a fragment.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        if request.method == "GET":
            url = f"{url}?{urlencode({'next': request.get_full_path()})}"
        return redirect(url)
