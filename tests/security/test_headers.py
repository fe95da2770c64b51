"""The browser boundary: Content-Security-Policy, htmx's configuration, security headers and cookies.

Production settings are only read at start-up (``LUOSHI_ENV=production``), so the production checks
run Django in a subprocess with the environment an installation has.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines
from django.urls import reverse

from luoshi.core.crypto import new_key_file_content, write_key_file

ROOT = Path(settings.BASE_DIR)

# Every directive the policy must have, with exactly these sources (the nonce is checked apart).
POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "font-src": {"'self'"},
    "connect-src": {"'self'"},
    "object-src": {"'none'"},
    "frame-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


def parse_policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


# Content-Security-Policy -----------------------------------------------------------------------------


@pytest.fixture
def supervisor_client(client, world):
    client.force_login(world.supervisor)
    return client


@pytest.mark.parametrize(
    "url_name", ["ledgers:my_work", "ledgers:item_list", "dashboards:battle_map", "login"]
)
def test_pages_carry_the_strict_policy_with_a_fresh_nonce(supervisor_client, url_name):
    first = supervisor_client.get(reverse(url_name))
    second = supervisor_client.get(reverse(url_name))
    assert first.status_code == 200
    policy = parse_policy(first["Content-Security-Policy"])
    nonces = {}
    for name, sources in POLICY.items():
        found = set(policy[name])
        nonce = {s for s in found if s.startswith("'nonce-")}
        assert found - nonce == sources, f"{name}: {policy[name]}"
        nonces[name] = nonce
    header = first["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header and "*" not in header
    # One nonce per response, in the header and on every script of the page; the next one differs.
    (script_nonce,) = nonces["script-src"]
    nonce = script_nonce.removeprefix("'nonce-").removesuffix("'")
    assert len(nonce) >= 22
    scripts = [attrs for tag, attrs in tags_of(first.content.decode()) if tag == "script"]
    assert scripts
    for attrs in scripts:
        if attrs.get("type") != "application/json":  # data, never run
            assert attrs.get("nonce") == nonce and attrs.get("src", "").startswith("/static/"), attrs
    assert nonce not in second["Content-Security-Policy"]


def test_htmx_evaluates_nothing(supervisor_client):
    html = supervisor_client.get(reverse("ledgers:my_work")).content.decode()
    (meta,) = [attrs for tag, attrs in tags_of(html) if tag == "meta" and attrs.get("name") == "htmx-config"]
    config = json.loads(meta["content"])
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["selfRequestsOnly"] is True
    # No page snapshots (with personal data) left in localStorage after signing out.
    assert config["historyCacheSize"] == 0


# What every template may contain: the rules for anyone adding one --------------------------------------

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "inline <script>"),
    (
        re.compile(r"<script\b(?![^>]*\bnonce=\"\{\{ request\.csp_nonce \}\}\")[^>]*>", re.I),
        "<script> without nonce",
    ),
    (re.compile(r"<style\b", re.I), "<style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on* event handler"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"\s(data-)?hx-on", re.I), "hx-on attribute"),
    (re.compile(r"\s(data-)?hx-vals\s*=\s*['\"]\s*js:", re.I), "hx-vals with js:"),
]


def _template_files():
    for engine in engines.all():
        for loader in engine.engine.template_loaders:
            for directory in loader.get_dirs():
                directory = Path(directory)
                if directory.is_relative_to(ROOT) and ".venv" not in directory.parts:
                    yield from directory.rglob("*.html")


def test_templates_have_nothing_inline():
    files = sorted(set(_template_files()))
    assert any(path.name == "base.html" for path in files)
    problems = []
    for path in files:
        text = path.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not problems, "move these to static files (docs/architecture.md, browser boundary):\n" + "\n".join(
        problems
    )


# Production ------------------------------------------------------------------------------------------


@pytest.fixture
def production_env(tmp_path):
    """The environment of a production installation, minus PostgreSQL (the checks need no database)."""
    key_file = tmp_path / "keys.json"
    write_key_file(key_file, new_key_file_content(), exclusive=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "PYTEST"))}
    env.update(
        LUOSHI_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="luoshi.example.gov.cn",
        LUOSHI_KEY_FILE=str(key_file),
        LUOSHI_VAR_DIR=str(tmp_path / "var"),
        LUOSHI_MEDIA_ROOT=str(tmp_path / "media"),
        SQLITE_PATH=str(tmp_path / "luoshi.sqlite3"),
        DJANGO_SETTINGS_MODULE="luoshi.settings",
    )
    env.pop("DEBUG", None)
    return env


def _run(args, env):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


# Checks silenced on purpose, each with its reason in settings.py. Nothing else may be.
SILENCED = {
    "axes.W006",  # lockout counts failures per username, whatever address they come from (等保)
}


def test_check_deploy_has_no_warning(production_env):
    assert set(settings.SILENCED_SYSTEM_CHECKS) <= SILENCED
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "DEBUG"], production_env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.fullmatch(r"System check identified no issues \(\d+ silenced\)\.\n", output), output


# Runs inside the production subprocess: sign in over HTTPS and report what the browser was sent.
PRODUCTION_PROBE = """
import json
import django
from django.test.utils import override_settings

django.setup()
from django.core.management import call_command
from django.test import Client
from luoshi.orgs.models import User

call_command("migrate", verbosity=0)
User.objects.create_user(username="probe", password="Probe-password-2026", full_name="探针")
# The manifest of collected static files is not built here; only the file names in pages change.
storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=storages):
    client = Client(HTTP_HOST="luoshi.example.gov.cn")
    plain = client.get("/accounts/login/")
    page = client.get("/accounts/login/", secure=True)
    token = page.cookies["__Host-csrftoken"].value
    signed_in = client.post("/accounts/login/", {"username": "probe", "password": "Probe-password-2026",
                            "csrfmiddlewaretoken": token}, secure=True,
                            HTTP_REFERER="https://luoshi.example.gov.cn/accounts/login/")
cookies = {}
for response in (page, signed_in):
    for name, morsel in response.cookies.items():
        cookies[name] = {key: morsel[key] for key in ("path", "domain", "secure", "httponly", "samesite")}
print(json.dumps({
    "plain": {"status": plain.status_code, "location": plain.get("Location", "")},
    "headers": dict(page.headers),
    "signed_in": signed_in.status_code,
    "cookies": cookies,
}))
"""


def test_production_headers_and_cookies(production_env):
    result = _run(["-c", PRODUCTION_PROBE], production_env)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    # Plain HTTP is sent to HTTPS.
    assert probe["plain"]["status"] == 301
    assert probe["plain"]["location"].startswith("https://luoshi.example.gov.cn/")

    headers = {name.lower(): value for name, value in probe["headers"].items()}
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    policy = parse_policy(headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert [s for s in policy["script-src"] if not s.startswith("'nonce-")] == ["'self'"]

    # The session and CSRF cookies: __Host- (Secure, Path=/, no Domain), HttpOnly, SameSite=Lax.
    assert probe["signed_in"] == 302
    cookies = probe["cookies"]
    assert {"__Host-sessionid", "__Host-csrftoken"} <= set(cookies)
    assert not {"sessionid", "csrftoken"} & set(cookies)
    for name in ("__Host-sessionid", "__Host-csrftoken"):
        cookie = cookies[name]
        assert cookie["secure"] is True, name
        assert cookie["httponly"] is True, name
        assert cookie["path"] == "/", name
        assert cookie["domain"] == "", name
        assert cookie["samesite"] == "Lax", name
