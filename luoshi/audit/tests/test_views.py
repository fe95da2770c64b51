import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.audit.services import record

URL = "audit:event_list"


def test_only_the_audit_admin_reads_the_trail(client, world):
    url = reverse(URL)
    for name, user in {**world.business_users, **world.admins}.items():
        client.force_login(user)
        expected = 200 if name == "audit_admin" else 404
        assert client.get(url).status_code == expected, name
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_trail_is_read_only(client, world):
    client.force_login(world.audit_admin)
    assert client.post(reverse(URL)).status_code == 405


def _records(response):
    return [row.record for row in response.context["table"].page.object_list]


def test_newest_first_with_changes_shown(client, world):
    client.force_login(world.audit_admin)
    record(action=AuditAction.EXPORT, username="probe", object_repr="第一次导出")
    record(action=AuditAction.EXPORT, username="probe", object_repr="第二次导出")
    response = client.get(reverse(URL))
    rows = _records(response)
    assert rows[0].object_repr == "第二次导出" and rows[1].object_repr == "第一次导出"
    assert [r.pk for r in rows] == sorted((r.pk for r in rows), reverse=True)
    html = response.content.decode()
    assert "区发展和改革局" in html  # the world's creation is in the trail
    assert "单位" in html  # object types are shown by their Chinese name


def test_filters(client, world):
    client.force_login(world.audit_admin)
    url = reverse(URL)
    record(action=AuditAction.DOWNLOAD, user=world.supervisor, obj=world.item)
    rows = _records(client.get(url, {"user": world.supervisor.pk, "per_page": 100}))
    assert [(r.action, r.object_repr) for r in rows] == [(AuditAction.DOWNLOAD, "推进重大项目建设")]
    rows = _records(client.get(url, {"object_type": "orgs.Organisation", "per_page": 100}))
    assert rows and {r.object_type for r in rows} == {"orgs.Organisation"}
    assert {r.object_repr for r in rows} >= {"区发改局", "投资科"}
    rows = _records(client.get(url, {"action": [AuditAction.PERMISSION, AuditAction.DELETE]}))
    assert all(r.action in (AuditAction.PERMISSION, AuditAction.DELETE) for r in rows)
    rows = _records(client.get(url, {"action": AuditAction.PERMISSION, "object_type": "orgs.User"}))
    assert rows and all(r.action == AuditAction.PERMISSION for r in rows)


def test_date_range_uses_local_days(client, world):
    client.force_login(world.audit_admin)
    url = reverse(URL)
    today = timezone.localdate()
    assert _records(client.get(url, {"date_after": today.isoformat(), "date_before": today.isoformat()}))
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert _records(client.get(url, {"date_before": yesterday})) == []
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    assert _records(client.get(url, {"date_after": tomorrow})) == []


def test_query_count_does_not_grow_with_rows(client, world):
    client.force_login(world.audit_admin)
    url = reverse(URL)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"username": "probe", "per_page": 50})
        assert response.status_code == 200
        return len(queries), len(_records(response))

    for i in range(5):
        record(action=AuditAction.EXPORT, user=world.supervisor, object_repr=f"导出{i}", username="probe")
    few, shown = count()
    assert shown == 5
    for i in range(25):
        record(action=AuditAction.EXPORT, user=world.supervisor, object_repr=f"导出{i}", username="probe")
    many, shown = count()
    assert shown == 30
    assert many == few
    assert AuditEvent.objects.filter(username="probe").count() == 30
