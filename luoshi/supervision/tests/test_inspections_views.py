"""Inspection screens: plan, findings with photos, assign, verify, close (销号), the overview; and who sees what."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core.tests import files
from luoshi.core.tests.files import upload
from luoshi.ledgers.models import ItemStatus
from luoshi.supervision import services
from luoshi.supervision.models import Finding, Inspection, InspectionKind, InspectionStatus
from luoshi.supervision.tests.test_inspections_services import TODAY, assign, find, plan, rectify


def login(client, user):
    client.force_login(user)
    return client


def test_plan_through_the_form(client, world):
    login(client, world.supervisor)
    url = reverse("supervision:inspection_create")
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "office": world.office.pk,
            "title": "河长制专项督查",
            "kind": InspectionKind.UNANNOUNCED,
            "planned_on": TODAY.isoformat(),
            "team": [world.supervisor.pk],
            "targets": [world.lead_unit.pk],
            "places": "城东河段",
            "plan": "随机抽查",
        },
    )
    inspection = Inspection.objects.get()
    assert response.status_code == 302 and response.url == inspection.get_absolute_url()
    assert inspection.kind == InspectionKind.UNANNOUNCED
    edit = reverse("supervision:inspection_edit", args=[inspection.pk])
    data = {
        "version": inspection.version,
        "office": world.office.pk,
        "title": "河长制专项督查（二）",
        "kind": InspectionKind.UNANNOUNCED,
        "planned_on": TODAY.isoformat(),
        "team": [world.supervisor.pk],
        "targets": [world.lead_unit.pk],
    }
    assert client.post(edit, data).status_code == 302
    assert client.post(edit, {**data, "title": "旧页面"}).status_code == 409
    assert client.post(reverse("supervision:inspection_done", args=[inspection.pk])).status_code == 302
    assert Inspection.objects.get().status == InspectionStatus.DONE


def test_list_and_detail(client, world):
    inspection = plan(world)
    finding = find(world, inspection, photos=[upload("现场.png", files.PNG)])
    login(client, world.supervisor)
    page = client.get(reverse("supervision:inspection_list")).content.decode()
    assert inspection.title in page
    page = client.get(inspection.get_absolute_url()).content.decode()
    assert finding.description in page
    assert reverse("supervision:finding_assign", args=[finding.pk]) in page
    assert reverse("supervision:finding_photo", args=[finding.photos.get().pk]) in page


def test_list_filters(client, world):
    plan(world)
    login(client, world.supervisor)
    url = reverse("supervision:inspection_list")
    assert "营商环境" in client.get(url, {"kind": InspectionKind.ANNOUNCED}).content.decode()
    assert "营商环境" not in client.get(url, {"kind": InspectionKind.UNANNOUNCED}).content.decode()
    assert "营商环境" in client.get(url, {"unit": world.lead_unit.pk}).content.decode()
    assert "营商环境" not in client.get(url, {"unit": world.unrelated_unit.pk}).content.decode()


def test_list_queries_do_not_grow(client, world):
    login(client, world.supervisor)
    url = reverse("supervision:inspection_list")
    assign(world, find(world, plan(world)))
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(4):
        assign(world, find(world, plan(world)))
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


def test_detail_queries_do_not_grow(client, world):
    inspection = plan(world)
    assign(world, find(world, inspection, photos=[upload("a.png", files.PNG)]))
    login(client, world.supervisor)
    client.get(inspection.get_absolute_url())
    with CaptureQueriesContext(connection) as few:
        client.get(inspection.get_absolute_url())
    for _ in range(3):
        assign(world, find(world, inspection, photos=[upload("b.png", files.PNG)]))
    with CaptureQueriesContext(connection) as many:
        client.get(inspection.get_absolute_url())
    assert len(many) == len(few)


def test_finding_form_with_photo(client, world):
    inspection = plan(world, team=[world.supervisor, world.handler])
    login(client, world.handler)
    url = reverse("supervision:finding_create", args=[inspection.pk])
    assert client.get(url).status_code == 200
    data = {"description": "台账记录不全", "organisation": world.lead_unit.pk, "found_on": TODAY.isoformat()}
    response = client.post(url, {**data, "photos": [upload("说明.pdf", files.PDF)]})
    assert response.status_code == 200 and "不是图片" in response.content.decode()
    assert client.post(url, {**data, "photos": [upload("现场.png", files.PNG)]}).status_code == 302
    assert Finding.objects.get().photos.count() == 1


def test_finding_form_refuses_outsiders(client, world):
    inspection = plan(world)
    login(client, world.handler)
    assert client.get(reverse("supervision:finding_create", args=[inspection.pk])).status_code == 404


def test_assign_verify_close_through_the_screens(client, world):
    inspection = plan(world)
    finding = find(world, inspection, commitment_required=True)
    login(client, world.supervisor)
    url = reverse("supervision:finding_assign", args=[finding.pk])
    assert client.get(url).status_code == 200
    data = {
        "ledger": "",
        "deadline": (TODAY + dt.timedelta(days=30)).isoformat(),
        "measure_1": "更新办事指南",
        "measure_deadline_1": (TODAY + dt.timedelta(days=10)).isoformat(),
        "measure_2": "建立更新机制",
        "measure_deadline_2": (TODAY + dt.timedelta(days=20)).isoformat(),
    }
    response = client.post(url, data)
    assert response.status_code == 200 and "公开承诺" in response.content.decode()
    assert client.post(url, {**data, "commitment": "十日内整改到位"}).status_code == 302
    finding.refresh_from_db()
    assert finding.problem.children.count() == 2
    rectify(world, finding.problem)
    verify = reverse("supervision:finding_verify", args=[finding.pk])
    assert client.get(verify).status_code == 200
    assert client.post(verify, {"passed": "1", "comment": "佐证齐全，验收通过"}).status_code == 302
    page = client.get(inspection.get_absolute_url()).content.decode()
    assert "0%" in page
    assert client.post(reverse("supervision:finding_close", args=[finding.pk])).status_code == 302
    finding.refresh_from_db()
    assert finding.problem.status == ItemStatus.CLOSED
    assert "100%" in client.get(inspection.get_absolute_url()).content.decode()
    overview = client.get(reverse("supervision:rectification_overview")).content.decode()
    assert "100%" in overview and world.lead_unit.name in overview


def test_close_refused_before_verification(client, world):
    finding = find(world, plan(world))
    assign(world, finding)
    login(client, world.supervisor)
    response = client.post(reverse("supervision:finding_close", args=[finding.pk]), follow=True)
    assert "尚未办结" in response.content.decode()


def test_photo_download_checks_scope_and_digest(client, world):
    inspection = plan(world)
    photo = find(world, inspection, photos=[upload("现场.png", files.PNG)]).photos.get()
    url = reverse("supervision:finding_photo", args=[photo.pk])
    login(client, world.supervisor)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).exists()
    login(client, world.lead_liaison)
    assert client.get(url).status_code == 404
    type(photo).objects.filter(pk=photo.pk).update(sm3="0" * 64)
    login(client, world.supervisor)
    assert client.get(url).status_code == 302


@pytest.mark.parametrize("role", ["lead_liaison", "handler", "co_liaison", "sub_liaison"])
def test_unannounced_inspection_is_hidden_from_targets(client, world, role):
    inspection = plan(world, kind=InspectionKind.UNANNOUNCED)
    find(world, inspection, photos=[upload("现场.png", files.PNG)])
    login(client, getattr(world, role))
    assert client.get(inspection.get_absolute_url()).status_code == 404
    assert inspection.title not in client.get(reverse("supervision:inspection_list")).content.decode()
    services.mark_inspection_done(inspection=inspection, user=world.supervisor)
    assert client.get(inspection.get_absolute_url()).status_code == 404


def test_overview_for_units_is_refused(client, world):
    login(client, world.lead_liaison)
    assert client.get(reverse("supervision:rectification_overview")).status_code == 404
