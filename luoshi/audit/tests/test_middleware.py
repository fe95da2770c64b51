import pytest
from django.test import RequestFactory

from luoshi.audit.middleware import client_ip


@pytest.fixture
def request_from():
    def build(remote, forwarded=None):
        headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
        return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)

    return build


def test_without_trusted_proxies_the_header_is_ignored(request_from, settings):
    settings.TRUSTED_PROXIES = frozenset()
    assert client_ip(request_from("10.0.0.5", "1.2.3.4")) == "10.0.0.5"


def test_behind_a_trusted_proxy_the_client_is_the_nearest_untrusted_hop(request_from, settings):
    settings.TRUSTED_PROXIES = frozenset({"127.0.0.1", "10.0.0.2"})
    # The client may write anything on the left; only the hops our proxies appended count.
    request = request_from("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2")
    assert client_ip(request) == "203.0.113.9"


def test_a_garbled_header_keeps_the_proxy_address(request_from, settings):
    settings.TRUSTED_PROXIES = frozenset({"127.0.0.1"})
    assert client_ip(request_from("127.0.0.1", "not-an-address")) == "127.0.0.1"
    assert client_ip(request_from("127.0.0.1")) == "127.0.0.1"
