"""A form sent twice with its one-time token is carried out once; the repeat gets the first answer.

Each kind of form that creates or acts is sent twice with the same ``submission_token``: the first
writes, the second writes nothing and is redirected to the same place with the notice 已提交过.
Two threads sending the same token at the same moment write one row, on a file SQLite database and
on PostgreSQL. ``luoshi.core.idempotency`` explains the mechanism.
"""

import datetime as dt
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from luoshi.core.idempotency import FORM_FIELD, HEADER, purge_expired
from luoshi.core.models import IdempotencyKey
from luoshi.ledgers.models import EventKind, ItemEvent
from luoshi.testing.access import PDF, build_scene, snapshot, snapshot_diff
from luoshi.testing.databases import file_database

NOTICE = "已提交过，未重复处理"
ROOT = Path(__file__).resolve().parents[2]


def _token() -> str:
    return secrets.token_urlsafe(24)


def _day(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF + name.encode(), content_type="application/pdf")


@dataclass(frozen=True)
class Form:
    """A form: who sends it, where, and with what (built anew per send: a file is read once)."""

    name: str
    role: str
    url: callable
    data: callable


ITEM = {
    "kind": "task",
    "source": "meeting",
    "report_cycle": "monthly",
    "weight": "1",
}
LEDGER = {
    "year": 2026,
    "item_kind": "task",
    "default_report_cycle": "monthly",
    "yellow_tolerance": 10,
    "red_tolerance": 30,
    "due_soon_days": 3,
    "report_grace_days": 2,
}
PASSWORD = "Zhengque-mima-2026"

FORMS = [
    Form(
        "ledger_create",
        "supervisor",
        lambda s: reverse("ledgers:ledger_create"),
        lambda s: {**LEDGER, "name": "民生实事", "owner_office": s.world.office.pk},
    ),
    Form(
        "ledger_edit",
        "supervisor",
        lambda s: reverse("ledgers:ledger_edit", args=[s.world.ledger.pk]),
        lambda s: {
            **LEDGER,
            "name": "2026年重点工作（修订）",
            "owner_office": s.world.office.pk,
            "version": s.world.ledger.version,
        },
    ),
    Form(
        "item_create",
        "supervisor",
        lambda s: reverse("ledgers:item_create", args=[s.world.ledger.pk]),
        lambda s: {
            **ITEM,
            "title": "建设智慧社区",
            "lead_org": s.world.lead_unit.pk,
            "start_date": _day(0),
            "deadline": _day(90),
        },
    ),
    Form(
        "item_edit",
        "supervisor",
        lambda s: reverse("ledgers:item_edit", args=[s.item.pk]),
        lambda s: {
            **ITEM,
            "title": "改过的标题",
            "lead_org": s.world.lead_unit.pk,
            "start_date": s.item.start_date.isoformat(),
            "deadline": s.item.deadline.isoformat(),
            "version": s.item.version,
        },
    ),
    Form(
        "item_bulk",
        "supervisor",
        lambda s: reverse("ledgers:item_bulk"),
        lambda s: {
            "action": "deadline",
            "pk": [s.item.pk, s.item2.pk],
            "deadline": "2026-12-31",
            "comment": "统一调整",
        },
    ),
    Form(
        "saved_filter_save",
        "supervisor",
        lambda s: reverse("ledgers:saved_filter_save"),
        lambda s: {"name": "红色预警", "query": "color=red"},
    ),
    Form(
        "ledger_field_create",
        "supervisor",
        lambda s: reverse("ledgers:ledger_field_create", args=[s.world.ledger.pk]),
        lambda s: {
            "target": "item",
            "key": "invest_total",
            "label": "总投资",
            "field_type": "number",
            "sort_order": 0,
        },
    ),
    Form(
        "ledger_field_delete",
        "supervisor",
        lambda s: reverse("ledgers:ledger_field_delete", args=[s.field.pk]),
        lambda s: {},
    ),
    Form(
        "item_transition",
        "supervisor",
        lambda s: reverse("ledgers:item_transition", args=[s.item.pk]),
        lambda s: {"action": "suspend", "comment": "暂缓实施"},
    ),
    Form(
        "item_comment",
        "handler",
        lambda s: reverse("ledgers:item_comment", args=[s.item.pk]),
        lambda s: {"text": "已对接施工单位"},
    ),
    Form(
        "item_milestones",
        "supervisor",
        lambda s: reverse("ledgers:item_milestones", args=[s.item.pk]),
        lambda s: {"phases": "方案制定 5\n组织实施 10"},
    ),
    Form(
        "milestone_complete",
        "lead_liaison",
        lambda s: reverse("ledgers:milestone_complete", args=[s.milestone.pk]),
        lambda s: {
            f"done-{s.milestone.pk}-done_on": _day(0),
            f"done-{s.milestone.pk}-version": s.milestone.version,
        },
    ),
    Form(
        "extension_request",
        "lead_liaison",
        lambda s: reverse("ledgers:extension_request", args=[s.item.pk]),
        lambda s: {"new_deadline": _day(200), "reason": "征地拆迁未完成"},
    ),
    Form(
        "extension_decide",
        "supervisor",
        lambda s: reverse("ledgers:extension_decide", args=[s.extension.pk]),
        lambda s: {"decision": "approve", "comment": "同意"},
    ),
    Form(
        "report_create",
        "co_liaison",
        lambda s: reverse("ledgers:report_create", args=[s.item.pk]),
        lambda s: {"text": "配合完成资金测算", "percent_complete": "30", "evidence": _pdf("测算表.pdf")},
    ),
    Form(
        "report_edit",
        "co_liaison",
        lambda s: reverse("ledgers:report_edit", args=[s.draft_report.pk]),
        lambda s: {"text": "草稿修改", "percent_complete": "20", "save": "draft"},
    ),
    Form(
        "report_review",
        "supervisor",
        lambda s: reverse("ledgers:report_review", args=[s.lead_report.pk]),
        lambda s: {"decision": "return", "comment": "请补充佐证"},
    ),
    Form(
        "attachment_upload",
        "lead_liaison",
        lambda s: reverse("ledgers:attachment_upload", args=[s.item.pk]),
        lambda s: {"file": _pdf("会议纪要.pdf"), "description": "专题会议纪要"},
    ),
    Form(
        "attachment_delete",
        "supervisor",
        lambda s: reverse("ledgers:attachment_delete", args=[s.attachment.pk]),
        lambda s: {},
    ),
    Form(
        "organisation_create",
        "system_admin",
        lambda s: reverse("orgs:organisation_create"),
        lambda s: {"name": "区水务局", "kind": "department", "sort_order": 0, "is_active": "on"},
    ),
    Form(
        "organisation_edit",
        "system_admin",
        lambda s: reverse("orgs:organisation_edit", args=[s.world.co_unit.pk]),
        lambda s: {
            "name": "区财政局",
            "short_name": "财政",
            "parent": s.world.government.pk,
            "kind": "department",
            "sort_order": 0,
            "is_active": "on",
            "version": s.world.co_unit.version,
        },
    ),
    Form(
        "user_create",
        "system_admin",
        lambda s: reverse("orgs:user_create"),
        lambda s: {
            "full_name": "冯新人",
            "username": "fengxr",
            "is_active": "on",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    ),
    Form(
        "user_roles",
        "security_admin",
        lambda s: reverse("orgs:user_roles", args=[s.world.handler.pk]),
        lambda s: {"organisation": s.world.co_unit.pk, "role": "handler", "title": "科员"},
    ),
    Form(
        "membership_revoke",
        "security_admin",
        lambda s: reverse("orgs:membership_revoke", args=[s.membership_of(s.world.co_liaison).pk]),
        lambda s: {},
    ),
]


@pytest.fixture
def scene(world):
    return build_scene(world)


def _notices(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
def test_a_form_sent_twice_is_carried_out_once(client, scene, form):
    client.force_login(scene.user(form.role))
    url, token = form.url(scene), _token()

    before = snapshot()
    first = client.post(url, {**form.data(scene), FORM_FIELD: token})
    assert first.status_code == 302, first.content.decode()[:2000]
    assert not [m for m in get_messages(first.wsgi_request) if m.level_tag == "error"]
    written = snapshot()
    assert snapshot_diff(before, written), "the first submission must write"

    second = client.post(url, {**form.data(scene), FORM_FIELD: token})
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert NOTICE in "".join(_notices(second))
    assert not snapshot_diff(written, snapshot()), "the repeat wrote again"


def test_an_htmx_action_sent_twice_reloads_the_page_the_first_time_left(client, scene):
    client.force_login(scene.world.handler)
    url = reverse("ledgers:item_comment", args=[scene.item.pk])
    page = reverse("ledgers:item_detail", args=[scene.item.pk])
    headers = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}"}
    data = {"text": "同步推进", FORM_FIELD: _token()}

    first = client.post(url, data, headers=headers)
    second = client.post(url, data, headers=headers)

    assert first.status_code == 200 and "同步推进" in first.content.decode()
    assert second.status_code == 200 and second["HX-Redirect"] == page
    assert ItemEvent.objects.filter(item=scene.item, comment="同步推进").count() == 1


def test_a_refused_submission_gives_its_token_back(client, world):
    """The form comes back with its errors; sent again, corrected, the same token is carried out."""
    client.force_login(world.lead_liaison)
    url = reverse("ledgers:item_comment", args=[world.item.pk])
    world.advance(world.item, "in_progress")
    token = _token()
    refused = client.post(url, {"text": "", FORM_FIELD: token})
    assert refused.status_code == 302 and not IdempotencyKey.objects.filter(key=token).exists()

    done = client.post(url, {"text": "补充说明", FORM_FIELD: token})
    assert done.status_code == 302 and NOTICE not in "".join(_notices(done))
    assert IdempotencyKey.objects.filter(key=token).exists()


def test_a_form_shown_again_with_errors_keeps_no_token(client, world):
    client.force_login(world.supervisor)
    token = _token()
    response = client.post(reverse("ledgers:ledger_create"), {"name": "", FORM_FIELD: token})
    assert response.status_code == 200
    assert not IdempotencyKey.objects.filter(key=token).exists()


def test_a_json_answer_is_replayed_for_an_idempotency_key_header(client, world):
    """The API will send ``Idempotency-Key``; the tag picker's JSON endpoint takes it already."""
    client.force_login(world.supervisor)
    headers = {HEADER: _token()}
    url = reverse("ledgers:tag_create")
    first = client.post(url, {"name": "重点督办"}, headers=headers)
    second = client.post(url, {"name": "重点督办"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()


def test_a_token_is_one_users_and_one_forms(client, world):
    world.advance(world.item, "in_progress")
    token = _token()
    url = reverse("ledgers:item_comment", args=[world.item.pk])
    client.force_login(world.handler)
    client.post(url, {"text": "承办人评论", FORM_FIELD: token})

    # Another user with the same value is another submission.
    other_user = Client()
    other_user.force_login(world.lead_liaison)
    other_user.post(url, {"text": "联络员评论", FORM_FIELD: token})
    assert ItemEvent.objects.filter(item=world.item, kind=EventKind.COMMENT).count() == 2

    # The same user's token sent to another form is refused, not replayed somewhere else.
    other = reverse("ledgers:extension_request", args=[world.item.pk])
    response = other_user.post(other, {"new_deadline": _day(300), "reason": "理由", FORM_FIELD: token})
    assert response.status_code == 422 and "其他操作" in response.content.decode()


def test_a_malformed_token_is_refused(client, world):
    client.force_login(world.handler)
    url = reverse("ledgers:item_comment", args=[world.item.pk])
    response = client.post(url, {"text": "x", FORM_FIELD: "<script>"})
    assert response.status_code == 400
    assert not ItemEvent.objects.filter(comment="x").exists()


def test_a_post_without_a_token_is_carried_out_each_time(client, world):
    world.advance(world.item, "in_progress")
    client.force_login(world.handler)
    url = reverse("ledgers:item_comment", args=[world.item.pk])
    client.post(url, {"text": "无令牌"})
    client.post(url, {"text": "无令牌"})
    assert ItemEvent.objects.filter(comment="无令牌").count() == 2
    assert not IdempotencyKey.objects.exists()


def test_old_tokens_are_forgotten(client, world, settings):
    world.advance(world.item, "in_progress")
    client.force_login(world.handler)
    url = reverse("ledgers:item_comment", args=[world.item.pk])
    token = _token()
    client.post(url, {"text": "一天前", FORM_FIELD: token})
    later = timezone.now() + settings.IDEMPOTENCY_KEY_TTL + dt.timedelta(minutes=1)
    assert purge_expired(now=later) == 1
    client.post(url, {"text": "一天前", FORM_FIELD: token})
    assert ItemEvent.objects.filter(comment="一天前").count() == 2


def test_every_form_that_acts_carries_a_token():
    """Every POST form of the app's templates has ``{% submission_token %}``, except those that only
    sign in or out or switch the language (nothing to repeat)."""
    exempt = {"login", "logout", "set_language"}
    missing = []
    for path in sorted((ROOT / "luoshi").glob("**/templates/**/*.html")):
        text = path.read_text()
        for form in re.findall(r"<form\b[^>]*>.*?</form>", text, flags=re.S):
            opening = form.split(">", 1)[0]
            if 'method="post"' not in opening:
                continue
            if any(f"url '{name}'" in opening for name in exempt):
                continue
            if "{% submission_token %}" not in form:
                missing.append(f"{path.relative_to(ROOT)}: {opening[:100]}")
    assert not missing, "forms without {% submission_token %}:\n" + "\n".join(missing)


def test_the_token_tag_renders_a_fresh_value_each_time(client, world):
    world.advance(world.item, "in_progress")
    client.force_login(world.handler)
    page = reverse("ledgers:item_detail", args=[world.item.pk])
    pattern = rf'name="{FORM_FIELD}" value="([^"]+)"'
    first = re.findall(pattern, client.get(page).content.decode())
    second = re.findall(pattern, client.get(page).content.decode())
    assert first and len(set(first)) == len(first)
    assert not set(first) & set(second)


# Two threads at once ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_threads_with_the_same_token_write_one_row(world, tmp_path):
    world.advance(world.item, "in_progress")
    url = reverse("ledgers:item_comment", args=[world.item.pk])
    data = {"text": "并发提交", FORM_FIELD: _token()}
    with file_database(tmp_path):
        clients = [Client(), Client()]
        for each in clients:
            each.force_login(world.handler)
        start = threading.Barrier(len(clients))
        responses, errors = [], []

        def send(each):
            try:
                start.wait()
                responses.append(each.post(url, data))
            except Exception as error:
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(each,)) for each in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert not errors
        assert sorted(r.status_code for r in responses) == [302, 302]
        assert len({r["Location"] for r in responses}) == 1
        assert ItemEvent.objects.filter(item=world.item, comment="并发提交").count() == 1
        assert sum(NOTICE in "".join(_notices(r)) for r in responses) == 1
