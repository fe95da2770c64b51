"""The import screens: upload, preview with mapping, confirm — as the supervisor walks through them."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from luoshi.exchange.models import ImportBatch, ImportStatus
from luoshi.ledgers.models import Item


def _upload(rows, name="台账.xlsx"):
    book = openpyxl.Workbook()
    book.active.append(["2026年重点工作台账"])
    for row in rows:
        book.active.append(row)
    stream = io.BytesIO()
    book.save(stream)
    return SimpleUploadedFile(name, stream.getvalue())


HEADER = ["序号", "重点任务", "牵头单位", "配合单位", "完成时限"]


@pytest.fixture
def supervisor_client(client, world):
    client.force_login(world.supervisor)
    return client


def _start(client, world, rows):
    response = client.post(reverse("exchange:import_upload", args=[world.ledger.pk]), {"file": _upload(rows)})
    assert response.status_code == 302, response.content.decode()
    return ImportBatch.objects.latest("pk")


def test_the_upload_page_offers_the_template(supervisor_client, world):
    response = supervisor_client.get(reverse("exchange:import_upload", args=[world.ledger.pk]))

    assert response.status_code == 200
    assert reverse("exchange:ledger_template", args=[world.ledger.pk]) in response.content.decode()


def test_a_file_that_is_not_a_workbook_is_refused_on_the_form(supervisor_client, world):
    response = supervisor_client.post(
        reverse("exchange:import_upload", args=[world.ledger.pk]),
        {"file": SimpleUploadedFile("台账.xlsx", b"%PDF-1.7 not a workbook")},
    )

    assert response.status_code == 200
    assert "不是 Excel 工作簿" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_the_preview_shows_every_row_and_its_errors_and_blocks_confirmation(supervisor_client, world):
    batch = _start(
        supervisor_client,
        world,
        [HEADER, [1, "推进项目", "区发改局", "区财政局", "9月底"], [2, "坏的一行", "发改部门", "", "尽快"]],
    )

    response = supervisor_client.get(reverse("exchange:import_preview", args=[batch.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "推进项目" in page and "2026-09-30" in page
    assert "找不到单位「发改部门」" in page and "无法识别完成时限「尽快」" in page
    assert 'data-testid="import-confirm" disabled' in page
    only_errors = supervisor_client.get(reverse("exchange:import_preview", args=[batch.pk]), {"errors": "1"})
    assert "推进项目" not in only_errors.content.decode()


def test_mapping_a_name_once_fixes_every_row_and_confirming_writes_the_items(supervisor_client, world):
    rows = [HEADER, [1, "任务一", "发改部门", "", "9月底"], [2, "任务二", "发改部门", "区财政局", "长期坚持"]]
    batch = _start(supervisor_client, world, rows)

    supervisor_client.post(reverse("exchange:import_names", args=[batch.pk]), {"unit_0": world.lead_unit.pk})
    preview = supervisor_client.get(reverse("exchange:import_preview", args=[batch.pk])).content.decode()
    assert 'data-testid="import-confirm" disabled' not in preview
    response = supervisor_client.post(reverse("exchange:import_confirm", args=[batch.pk]), follow=True)

    assert "导入完成：新增 2 项" in response.content.decode()
    assert (
        Item.objects.filter(
            ledger=world.ledger, lead_org=world.lead_unit, title__in=["任务一", "任务二"]
        ).count()
        == 2
    )
    batch.refresh_from_db()
    assert batch.status == ImportStatus.IMPORTED and batch.result["created"] == 2
    again = supervisor_client.post(reverse("exchange:import_confirm", args=[batch.pk]), follow=True)
    assert "已经导入" in again.content.decode()
    assert Item.objects.filter(title="任务一").count() == 1


def test_a_column_the_reader_does_not_know_can_be_mapped_by_hand(supervisor_client, world):
    batch = _start(
        supervisor_client, world, [["序号", "重点任务", "主办", "完成时限"], [1, "任务", "区发改局", "9月"]]
    )
    preview = supervisor_client.get(reverse("exchange:import_preview", args=[batch.pk])).content.decode()
    assert "没有牵头单位" in preview

    supervisor_client.post(
        reverse("exchange:import_columns", args=[batch.pk]),
        {"column_0": "key", "column_1": "title", "column_2": "lead_org", "column_3": "deadline"},
    )

    batch.refresh_from_db()
    assert batch.columns == ["key", "title", "lead_org", "deadline"]
    preview = supervisor_client.get(reverse("exchange:import_preview", args=[batch.pk])).content.decode()
    assert "没有牵头单位" not in preview and 'data-testid="import-confirm" disabled' not in preview


def test_a_column_chosen_twice_is_refused(supervisor_client, world):
    batch = _start(supervisor_client, world, [HEADER, [1, "任务", "区发改局", "", "9月"]])

    response = supervisor_client.post(
        reverse("exchange:import_columns", args=[batch.pk]),
        {"column_0": "title", "column_1": "title", "column_2": "lead_org", "column_4": "deadline"},
        follow=True,
    )

    assert "被指定给了多列" in response.content.decode()
    batch.refresh_from_db()
    assert batch.columns == []


def test_someone_elses_upload_is_not_found(client, world):
    client.force_login(world.supervisor)
    batch = _start(client, world, [HEADER, [1, "任务", "区发改局", "", "9月"]])
    client.force_login(world.other_supervisor)

    assert client.get(reverse("exchange:import_preview", args=[batch.pk])).status_code == 404
    assert client.post(reverse("exchange:import_confirm", args=[batch.pk])).status_code == 404


def test_the_previews_queries_do_not_grow_with_the_rows(supervisor_client, world):
    def queries(count):
        rows = [HEADER, *([n, f"任务{n}", "区发改局", "区财政局", "9月"] for n in range(1, count + 1))]
        batch = _start(supervisor_client, world, rows)
        with CaptureQueriesContext(connection) as captured:
            supervisor_client.get(reverse("exchange:import_preview", args=[batch.pk]))
        return len(captured)

    assert queries(5) == queries(80)


def test_a_stored_upload_changed_on_disk_is_neither_read_nor_imported(supervisor_client, world):
    batch = _start(supervisor_client, world, [HEADER, [1, "任务", "区发改局", "", "9月"]])
    with open(batch.file.path, "ab") as stored:
        stored.write(b"tampered")

    preview = supervisor_client.get(reverse("exchange:import_preview", args=[batch.pk])).content.decode()
    confirm = supervisor_client.post(reverse("exchange:import_confirm", args=[batch.pk]), follow=True)

    assert "SM3 摘要不符" in preview
    assert "SM3 摘要不符" in confirm.content.decode()
    assert not Item.objects.filter(title="任务").exists()
