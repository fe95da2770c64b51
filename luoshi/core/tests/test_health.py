import datetime as dt
from io import StringIO
from types import SimpleNamespace

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from luoshi.core import health
from luoshi.core.models import Heartbeat
from luoshi.core.services import beat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _healthy_settings(settings):
    settings.HEALTHZ_HEARTBEATS = {"refresh_warnings": 3600}
    settings.HEALTHZ_REQUIRE_WORKER = False
    settings.HEALTHZ_MIN_FREE_BYTES = 1


def test_healthz_answers_anyone_without_a_session(client):
    beat("refresh_warnings")
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": {"status": "ok"},
            "worker": {"status": "ok", "jobs": {"refresh_warnings": "ok"}},
            "disk": {"status": "ok", "volumes": {"media": "ok"}},
        },
    }
    assert not response.cookies and not Session.objects.exists()
    assert "no-store" in response["Cache-Control"]


def test_healthz_does_not_depend_on_who_asks(client, world):
    client.force_login(world.handler)
    body = client.get(reverse("healthz")).content.decode()
    assert world.handler.full_name not in body and world.handler.username not in body


def test_healthz_only_answers_reads(client):
    assert client.post(reverse("healthz")).status_code == 405


def test_a_stale_worker_is_reported_and_fails_only_when_required(client, settings):
    beat("refresh_warnings", now=timezone.now() - dt.timedelta(hours=2))

    report = client.get(reverse("healthz")).json()
    assert report["status"] == "ok"
    assert report["checks"]["worker"] == {"status": "ok", "jobs": {"refresh_warnings": "stale"}}

    settings.HEALTHZ_REQUIRE_WORKER = True
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {"status": "fail", "jobs": {"refresh_warnings": "stale"}}


def test_a_job_that_never_ran_is_missing(settings):
    settings.HEALTHZ_REQUIRE_WORKER = True
    assert health.check_worker() == {"status": "fail", "jobs": {"refresh_warnings": "missing"}}


def test_a_full_disk_fails(client, settings):
    beat("refresh_warnings")
    settings.HEALTHZ_MIN_FREE_BYTES = 10**18
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["disk"] == {"status": "fail", "volumes": {"media": "fail"}}


def test_the_disk_of_a_sqlite_database_file_is_checked(monkeypatch, tmp_path):
    sqlite_file = SimpleNamespace(vendor="sqlite", settings_dict={"NAME": str(tmp_path / "db.sqlite3")})
    monkeypatch.setattr(health, "connection", sqlite_file)
    assert health.volumes()["database"] == tmp_path.resolve()

    server = SimpleNamespace(vendor="postgresql", settings_dict={"NAME": "luoshi"})
    monkeypatch.setattr(health, "connection", server)
    assert set(health.volumes()) == {"media"}


def test_a_database_that_does_not_answer_fails(client, monkeypatch):
    class Broken:
        vendor, settings_dict = "postgresql", {"NAME": "luoshi"}

        def cursor(self):
            raise DatabaseError("connection refused")

    monkeypatch.setattr(health, "connection", Broken())
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"status": "fail"}


def test_beat_keeps_one_row_per_job():
    first = beat("refresh_warnings", now=timezone.now() - dt.timedelta(hours=1))
    second = beat("refresh_warnings")
    assert first.pk == second.pk and Heartbeat.objects.count() == 1
    assert Heartbeat.objects.get().beat_at == second.beat_at


def test_refresh_warnings_beats(world):
    call_command("refresh_warnings", stdout=StringIO())
    assert Heartbeat.objects.filter(name="refresh_warnings").exists()
