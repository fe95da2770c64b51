"""Every URL of the URLconf refuses a POST without a CSRF token, for the anonymous and the signed in.

The URLs are walked like the access matrix walks them, so a new URL is covered the day it is added.
Django's CSRF check runs before the view, so any object id will do: the request never gets further.
"""

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from luoshi.ledgers.models import ItemEvent
from luoshi.testing.access import MISSING_PK, url_routes

ROUTES = url_routes()

# Views that may take a POST without a token. Adding one needs a reason here (and a review).
CSRF_EXEMPT: frozenset[str] = frozenset()


def _url(route) -> str:
    return reverse(route.name, kwargs=dict.fromkeys(route.kwargs, MISSING_PK))


def _callbacks(resolver=None):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if hasattr(entry, "url_patterns"):
            yield from _callbacks(entry)
        else:
            yield entry


def test_no_view_is_csrf_exempt():
    exempt = {
        entry.name or str(entry.pattern)
        for entry in _callbacks()
        if getattr(entry.callback, "csrf_exempt", False)
    }
    assert exempt <= CSRF_EXEMPT, f"views exempt from the CSRF check: {sorted(exempt - CSRF_EXEMPT)}"


@pytest.mark.parametrize("name", sorted(set(ROUTES) - CSRF_EXEMPT))
@pytest.mark.parametrize("who", ["anonymous", "supervisor", "system_admin"])
def test_post_without_token_is_refused(world, name, who):
    client = Client(enforce_csrf_checks=True)
    if who != "anonymous":
        client.force_login(getattr(world, who))
    url = _url(ROUTES[name])
    response = client.post(url, {"name": "没有令牌", "text": "没有令牌"})
    assert response.status_code == 403, f"{who} POST {url}: {response.status_code}"
    # htmx sends the token as a header: a wrong one is refused too.
    response = client.post(url, {"text": "错误令牌"}, HTTP_X_CSRFTOKEN="x" * 64, HTTP_HX_REQUEST="true")
    assert response.status_code == 403, f"{who} POST {url} (htmx, wrong token): {response.status_code}"


def test_htmx_header_token_is_accepted(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.supervisor)
    detail = client.get(reverse("ledgers:item_detail", args=[world.item.pk]))
    token = detail.context["csrf_token"]
    response = client.post(
        reverse("ledgers:item_comment", args=[world.item.pk]),
        {"text": "带令牌"},
        HTTP_X_CSRFTOKEN=str(token),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code in (200, 302)
    assert ItemEvent.objects.filter(item=world.item, comment="带令牌").exists()


def test_cross_origin_post_over_https_is_refused(world, settings):
    """Over HTTPS a token alone is not enough: the request must come from our own origin."""
    settings.ALLOWED_HOSTS = ["luoshi.example.gov.cn"]
    client = Client(enforce_csrf_checks=True, HTTP_HOST="luoshi.example.gov.cn")
    client.force_login(world.supervisor)
    client.get(reverse("ledgers:item_detail", args=[world.item.pk]), secure=True)
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    url = reverse("ledgers:item_comment", args=[world.item.pk])
    response = client.post(
        url,
        {"text": "跨站", "csrfmiddlewaretoken": token},
        secure=True,
        HTTP_ORIGIN="https://evil.example.com",
    )
    assert response.status_code == 403
    assert not ItemEvent.objects.filter(item=world.item, comment="跨站").exists()
