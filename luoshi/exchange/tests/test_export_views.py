"""The Excel downloads: a ledger, the filtered item list, and a ledger's blank template."""

import io

import openpyxl
import pytest
from django.urls import reverse

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.exchange.export import CONTENT_TYPE, OPTIONS_SHEET
from luoshi.ledgers.models import FieldType, ItemStatus
from luoshi.ledgers.tests.factories import LedgerFieldFactory


def _workbook(response) -> openpyxl.Workbook:
    # Consuming the stream closes the response (and its file) inside the test client's guard; closing
    # it again would fire request_finished and drop the database connection mid-test.
    body = b"".join(response.streaming_content)
    return openpyxl.load_workbook(io.BytesIO(body))


def _titles(workbook) -> list[str]:
    return [row[2] for row in workbook.active.iter_rows(min_row=3, values_only=True)]


def _last_export() -> AuditEvent:
    return AuditEvent.objects.filter(action=AuditAction.EXPORT).latest("sequence")


def _assert_download(response, name_part: str) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    assert response["Cache-Control"] == "private, no-store"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and "filename*=UTF-8''" in disposition
    assert name_part in disposition


@pytest.fixture
def supervisor(client, world):
    client.force_login(world.supervisor)
    return client


def test_ledger_export_downloads_the_ledger_and_is_audited(supervisor, world):
    response = supervisor.get(reverse("exchange:ledger_export", args=[world.ledger.pk]))
    _assert_download(response, "2026%E5%B9%B4")  # 「2026年…」, percent-encoded
    workbook = _workbook(response)
    assert workbook.active["A1"].value == "2026年重点工作"
    assert _titles(workbook) == [world.item.title]
    event = _last_export()
    assert event.object_id == str(world.ledger.pk) and event.object_type == "ledgers.Ledger"
    assert event.user_id == world.supervisor.pk
    assert event.after["rows"] == 1 and event.after["format"] == "xlsx"


def test_ledger_export_holds_only_what_the_user_sees(client, world):
    world.advance(world.item, ItemStatus.ASSIGNED)
    world.make_item(title="尚未交办的草稿")
    client.force_login(world.co_liaison)
    response = client.get(reverse("exchange:ledger_export", args=[world.ledger.pk]))
    assert _titles(_workbook(response)) == [world.item.title]


@pytest.mark.parametrize("name", ["ledger_export", "ledger_template"])
def test_ledger_downloads_are_404_outside_the_users_scope(client, world, name):
    client.force_login(world.unrelated_liaison)
    assert client.get(reverse(f"exchange:{name}", args=[world.ledger.pk])).status_code == 404
    client.force_login(world.system_admin)
    assert client.get(reverse(f"exchange:{name}", args=[world.ledger.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_item_list_export_honours_the_filters(supervisor, world):
    world.make_item(title="老旧小区改造")
    url = reverse("exchange:item_list_export")
    response = supervisor.get(url, {"q": "老旧小区"})
    _assert_download(response, ".xlsx")
    workbook = _workbook(response)
    assert workbook.active["A1"].value == "事项清单"
    assert _titles(workbook) == ["老旧小区改造"]
    event = _last_export()
    assert event.after["rows"] == 1 and "q=" in event.after["query"]
    assert event.object_type == "ledgers.Item" and event.object_id == ""


def test_item_list_export_narrowed_to_a_ledger_carries_its_title_and_fields(supervisor, world):
    LedgerFieldFactory(ledger=world.ledger, key="budget", label="投资额", field_type=FieldType.NUMBER)
    response = supervisor.get(reverse("exchange:item_list_export"), {"ledger": world.ledger.pk})
    sheet = _workbook(response).active
    assert sheet["A1"].value == "2026年重点工作"
    assert "投资额" in [cell.value for cell in sheet[2]]
    assert _last_export().object_id == str(world.ledger.pk)


def test_item_list_export_with_invalid_filters_exports_nothing(supervisor, world):
    response = supervisor.get(reverse("exchange:item_list_export"), {"status": "no-such-status"})
    assert _titles(_workbook(response)) == []
    assert _last_export().after["rows"] == 0


def test_item_list_export_of_another_ledger_is_empty_for_the_user(client, world):
    client.force_login(world.unrelated_liaison)
    response = client.get(reverse("exchange:item_list_export"))
    assert _titles(_workbook(response)) == []


def test_template_download(supervisor, world):
    LedgerFieldFactory(
        ledger=world.ledger, key="level", label="等级", field_type=FieldType.CHOICE, choices=["一级", "二级"]
    )
    response = supervisor.get(reverse("exchange:ledger_template", args=[world.ledger.pk]))
    _assert_download(response, "%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF")  # 导入模板
    workbook = _workbook(response)
    assert workbook.active["A1"].value == "2026年重点工作"
    assert workbook[OPTIONS_SHEET].sheet_state == "hidden"
    assert len(workbook.active.data_validations.dataValidation) == 6
    event = _last_export()
    assert event.after["template"] is True and event.object_id == str(world.ledger.pk)


def test_item_list_links_to_the_downloads(supervisor, world):
    response = supervisor.get(reverse("ledgers:item_list"), {"ledger": world.ledger.pk, "q": "项"})
    page = response.content.decode()
    assert f"{reverse('exchange:item_list_export')}?ledger={world.ledger.pk}&amp;q=" in page
    assert reverse("exchange:ledger_export", args=[world.ledger.pk]) in page
    assert reverse("exchange:ledger_template", args=[world.ledger.pk]) in page


def test_item_list_without_a_ledger_offers_only_the_list_export(client, world):
    client.force_login(world.lead_liaison)
    page = client.get(reverse("ledgers:item_list")).content.decode()
    assert reverse("exchange:item_list_export") in page
    assert "template.xlsx" not in page
