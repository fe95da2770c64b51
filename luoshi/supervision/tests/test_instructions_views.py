"""Leaders' instructions on screen: writing from an item or report, the lists, acknowledging, closing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from luoshi.ledgers import services as ledger_services
from luoshi.ledgers.models import Item, ItemEvent, ItemStatus
from luoshi.orgs.tests.factories import leader as make_leader
from luoshi.supervision.models import Instruction
from luoshi.supervision.services import acknowledge_instruction, close_instruction, write_instruction

TEXT = "请加快推进，月底前完成土地报批。"


@pytest.fixture
def item(world):
    return world.advance(world.item, ItemStatus.ACCEPTED)


def _write(world, item, text=TEXT, **kwargs):
    return write_instruction(item=item, leader=world.leader, text=text, **kwargs)


def _create_url(item):
    return reverse("supervision:instruction_create", args=[item.pk])


def _post_data(world, **extra):
    return {"text": TEXT, "recipients": [f"org:{world.lead_unit.pk}", f"org:{world.co_unit.pk}"], **extra}


def test_leader_writes_from_the_item_page(client, world, item):
    client.force_login(world.leader)
    page = client.get(item.get_absolute_url()).content.decode()
    assert _create_url(item) in page and "写批示" in page

    form = client.get(_create_url(item))
    assert form.status_code == 200
    assert str(world.lead_unit) in form.content.decode() and str(world.co_unit) in form.content.decode()

    response = client.post(_create_url(item), _post_data(world, urgent="on"))
    assert response.status_code == 302 and response["Location"] == item.get_absolute_url()
    instruction = Instruction.objects.get()
    assert instruction.is_urgent and instruction.text == TEXT and instruction.recipients.count() == 2
    assert TEXT in client.get(item.get_absolute_url()).content.decode()  # on the timeline


def test_write_button_only_for_leaders(client, world, item):
    client.force_login(world.lead_liaison)
    assert _create_url(item) not in client.get(item.get_absolute_url()).content.decode()
    assert client.get(_create_url(item)).status_code == 404


def test_write_on_a_report(client, world, item):
    report = ledger_services.save_report(
        item=item, user=world.lead_liaison, text="完成可研", percent_complete=30
    )
    client.force_login(world.leader)
    assert f"{_create_url(item)}?report={report.pk}" in client.get(item.get_absolute_url()).content.decode()

    form = client.get(_create_url(item), {"report": report.pk})
    assert 'data-testid="instruction-on-report"' in form.content.decode()
    client.post(_create_url(item), _post_data(world, report=report.pk))
    assert Instruction.objects.get().report == report


def test_a_report_of_another_item_is_a_form_error(client, world, item):
    other = world.advance(world.make_item(lead_leader=world.leader), ItemStatus.ACCEPTED)
    report = ledger_services.save_report(
        item=other, user=world.lead_liaison, text="完成", percent_complete=30
    )
    client.force_login(world.leader)
    response = client.post(_create_url(item), _post_data(world, report=report.pk))
    assert response.status_code == 200 and not Instruction.objects.exists()


def test_empty_text_is_a_form_error(client, world, item):
    client.force_login(world.leader)
    response = client.post(_create_url(item), _post_data(world, text="  "))
    assert response.status_code == 200
    assert "请填写批示内容" in response.content.decode()
    assert not Instruction.objects.exists()


def test_a_missing_or_deleted_item_is_a_clear_404(client, world):
    gone = world.advance(world.make_item(lead_leader=world.leader), ItemStatus.ASSIGNED)
    url = _create_url(gone)
    Item.objects.filter(pk=gone.pk).delete()
    client.force_login(world.leader)
    for response in (client.get(url), client.post(url, _post_data(world))):
        assert response.status_code == 404
        assert "不存在、已删除" in response.content.decode()
    assert not Instruction.objects.exists()


def test_a_leader_outside_the_items_scope_gets_404(client, world, item):
    outsider = make_leader(world.government, charges=[world.unrelated_unit], username="edu_leader")
    client.force_login(outsider)
    assert client.post(_create_url(item), _post_data(world)).status_code == 404
    assert not Instruction.objects.exists()
    assert not ItemEvent.objects.filter(kind="instruction").exists()


def test_report_form_lists_the_instructions_to_answer(client, world, item):
    _write(world, item, recipients=[world.lead_unit])
    client.force_login(world.lead_liaison)
    page = client.get(reverse("ledgers:report_create", args=[item.pk])).content.decode()
    assert "本期需落实的批示" in page and TEXT in page
    assert "本期需落实的批示" in client.get(item.get_absolute_url()).content.decode()

    client.force_login(world.co_liaison)  # not addressed
    assert (
        "本期需落实的批示"
        not in client.get(reverse("ledgers:report_create", args=[item.pk])).content.decode()
    )


def test_received_list_and_acknowledge(client, world, item):
    instruction = _write(world, item)
    client.force_login(world.lead_liaison)
    page = client.get(reverse("supervision:instruction_received")).content.decode()
    assert TEXT[:20] in page and f'data-testid="acknowledge-{instruction.pk}"' in page

    url = reverse("supervision:instruction_acknowledge", args=[instruction.pk])
    first = client.post(url, follow=True)
    assert "已阅知此批示" in first.content.decode()
    second = client.post(url, follow=True)
    assert "您已阅知过此批示" in second.content.decode()
    assert instruction.recipients.filter(acknowledged_by=world.lead_liaison).count() == 1
    page = client.get(reverse("supervision:instruction_received")).content.decode()
    assert f'data-testid="acknowledge-{instruction.pk}"' not in page


def test_a_non_recipient_is_refused(client, world, item):
    instruction = _write(world, item, recipients=[world.lead_unit])
    client.force_login(world.co_liaison)
    response = client.post(reverse("supervision:instruction_acknowledge", args=[instruction.pk]), follow=True)
    assert "不是此批示的接收" in response.content.decode()
    assert not instruction.recipients.filter(acknowledged_at__isnull=False).exists()


def test_unrelated_users_get_404(client, world, item):
    instruction = _write(world, item)
    client.force_login(world.unrelated_liaison)
    assert client.get(reverse("supervision:instruction_detail", args=[instruction.pk])).status_code == 404
    response = client.post(reverse("supervision:instruction_acknowledge", args=[instruction.pk]))
    assert response.status_code == 404
    assert TEXT not in response.content.decode()


def test_detail_shows_recipients_and_close_for_the_leader(client, world, item):
    instruction = _write(world, item)
    acknowledge_instruction(instruction=instruction, user=world.co_liaison)
    client.force_login(world.leader)
    page = client.get(reverse("supervision:instruction_detail", args=[instruction.pk])).content.decode()
    assert str(world.lead_unit) in page and str(world.co_unit) in page
    assert 'data-testid="acknowledged"' in page and 'data-testid="close-instruction"' in page

    client.post(reverse("supervision:instruction_close", args=[instruction.pk]))
    instruction.refresh_from_db()
    assert not instruction.is_open


def test_written_list_shows_progress(client, world, item):
    instruction = _write(world, item)
    acknowledge_instruction(instruction=instruction, user=world.lead_liaison)
    client.force_login(world.leader)
    page = client.get(reverse("supervision:instruction_written")).content.decode()
    assert TEXT[:20] in page and "1/2" in page
    closed = client.get(reverse("supervision:instruction_written"), {"state": "closed"}).content.decode()
    assert TEXT[:20] not in closed


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_queries_do_not_grow_with_rows(client, world, item):
    _write(world, item)
    client.force_login(world.leader)
    written, received = (
        reverse("supervision:instruction_written"),
        reverse("supervision:instruction_received"),
    )
    client.get(written)
    before = _queries(client, written)
    for n in range(6):
        _write(world, item, text=f"第{n}条批示")
    assert _queries(client, written) == before

    client.force_login(world.lead_liaison)
    client.get(received)
    before = _queries(client, received)
    _write(world, item, text="再一条批示")
    assert _queries(client, received) == before


def test_item_list_column_is_sortable_and_costs_no_query_per_row(client, world, item):
    _write(world, item)
    client.force_login(world.supervisor)
    url = reverse("ledgers:item_list")
    page = client.get(url, {"sort": "-open_instructions"}).content.decode()
    assert "未办结批示" in page and 'data-testid="open-instructions">1<' in page
    before = _queries(client, url)
    for n in range(5):
        extra = world.advance(
            world.make_item(title=f"事项{n}", lead_leader=world.leader), ItemStatus.ASSIGNED
        )
        _write(world, extra)
    assert _queries(client, url) == before


def test_battle_map_counts_open_instructions_in_scope(client, world, item):
    _write(world, item)
    _write(world, item, text="第二条")
    closed = _write(world, item, text="第三条")
    close_instruction(instruction=closed, user=world.leader)
    client.force_login(world.leader)
    response = client.get(reverse("dashboards:battle_map"))
    assert response.context["instructions"]["open"] == 2
    assert response.context["instructions"]["items"] == 1
    client.force_login(world.unrelated_liaison)
    response = client.get(reverse("dashboards:battle_map"))
    assert response.context["instructions"]["open"] == 0
