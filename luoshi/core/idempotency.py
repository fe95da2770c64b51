"""A write request is carried out once, however often the browser or a client sends it.

Every form that creates or acts carries ``{% submission_token %}``: a fresh random value per render.
API clients will send the same thing as an ``Idempotency-Key`` header. ``IdempotencyMiddleware`` claims
the key as an ``IdempotencyKey`` row in one transaction with the whole request. The row's unique
constraint makes a second request with the same key wait for the first (PostgreSQL waits on the
index, SQLite on the write lock its IMMEDIATE transaction takes), then find the key taken. The
second request then gets the first one's answer, a redirect to the same place with a notice,
instead of doing the write again.

A request that did not succeed (a form shown again with its errors, a refusal, any 4xx) gives its key
back, so the corrected form can be sent again. A server error rolls the whole request back.

A POST without a key is carried out as before. The sign-in, sign-out and language forms have none,
and neither have scripts and tests that post directly. Every other form has one (a test reads the
templates), so refusing keyless posts would only break those without protecting anything more.
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext as _

from luoshi.core.models import IdempotencyKey

FORM_FIELD = "submission_token"
HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[A-Za-z0-9_\-]{16,100}")
# Answers worth replaying as they were: small JSON (the tag picker's "add"; the API's later).
REPLAYED_BODY_TYPES = ("application/json",)
REPLAYED_BODY_MAX = 10_000


def request_key(request) -> str | None:
    """The key a POST carries, from its form or its header; ``None`` if it has none."""
    if request.method != "POST":
        return None
    return request.headers.get(HEADER) or request.POST.get(FORM_FIELD) or None


def purge_expired(now=None) -> int:
    """Forget keys older than ``IDEMPOTENCY_KEY_TTL``: a repeat after that long is a new request."""
    cutoff = (now or timezone.now()) - settings.IDEMPOTENCY_KEY_TTL
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


class IdempotencyMiddleware:
    """Claims a POST's key with its write; a repeat gets the first answer. Keep it after the middleware
    that signs users in, out or refuses them, so that only requests reaching a view claim a key."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request_key(request)
        user = getattr(request, "user", None)
        if key is None or not (user and user.is_authenticated):
            return self.get_response(request)
        if not KEY_PATTERN.fullmatch(key):
            return _plain(_("提交令牌无效，请刷新页面后重新提交。"), status=400)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    claim = IdempotencyKey.objects.create(user=user, key=key, path=request.path)
            except IntegrityError:
                return _replay(request, IdempotencyKey.objects.get(user=user, key=key))
            purge_expired()
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            elif _succeeded(request, response):
                _remember(claim, request, response)
            else:
                claim.delete()
        return response


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _succeeded(request, response) -> bool:
    """A redirect, a JSON answer or an htmx partial, with no error message queued for the user.

    A full page with status 200 is a form shown again with its errors: the write did not happen.
    """
    if response.status_code >= 400:
        return False
    content_type = response.get("Content-Type", "")
    if response.status_code == 200 and content_type.startswith("text/html") and not _is_htmx(request):
        return False
    storage = getattr(request, "_messages", None)
    # The messages this request added (the public API would mark loaded ones as read).
    queued = getattr(storage, "_queued_messages", [])
    return not any(message.level >= messages.ERROR for message in queued)


def _local(url: str) -> str:
    """Only the path and query of ``url``: a replay never leaves this site."""
    parts = urlsplit(url)
    return f"{parts.path or '/'}{'?' + parts.query if parts.query else ''}"


def _remember(claim: IdempotencyKey, request, response) -> None:
    claim.status_code = response.status_code
    content_type = response.get("Content-Type", "")
    if response.has_header("Location"):
        claim.location = _local(response["Location"])
    elif content_type.startswith(REPLAYED_BODY_TYPES) and len(response.content) <= REPLAYED_BODY_MAX:
        claim.content_type = content_type
        claim.body = response.content.decode()
    else:
        claim.location = _local(request.headers.get("HX-Current-URL") or request.path)
    claim.save(update_fields=["status_code", "location", "content_type", "body"])


def _replay(request, claim: IdempotencyKey) -> HttpResponse:
    """The first request's answer, with a notice that nothing was done twice."""
    if claim.path != request.path:
        return _plain(_("此提交令牌已用于其他操作，请刷新页面后重新提交。"), status=422)
    if claim.body:
        return HttpResponse(claim.body, status=claim.status_code, content_type=claim.content_type)
    messages.info(request, _("已提交过，未重复处理。"))
    if _is_htmx(request):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = claim.location or "/"
        return response
    return HttpResponseRedirect(claim.location or "/")


def _plain(text: str, *, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
