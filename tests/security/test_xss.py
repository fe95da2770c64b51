"""Hostile text in every free-text field a user can write comes back as text, never as markup.

The text goes in through the services (as a user would write it), then every screen, htmx partial
and JSON answer that shows it is fetched and parsed: no element or attribute may come from it, and
where the screen shows the field, its escaped form is there.
"""

import datetime as dt
import json
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils.html import escape

from luoshi.core.tests import files
from luoshi.core.uploads import clean_file_name
from luoshi.ledgers import services
from luoshi.ledgers.models import FieldType, ItemStatus
from luoshi.orgs import services as org_services

PIECES = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '\' hx-get="/x" hx-trigger="load',
    "{{7*7}}",
    "<a href='javascript:alert(1)'>j</a>",
)


def hostile(prefix: str, limit: int) -> str:
    """``prefix`` and as many hostile pieces as fit in ``limit`` characters."""
    text = prefix
    for piece in PIECES:
        if len(text) + len(piece) <= limit:
            text += piece
    assert len(text) > len(prefix), f"no hostile piece fits in {limit} characters"
    return text


class _Markup(HTMLParser):
    """Collects what would be live in a browser: elements and attributes."""

    def __init__(self):
        super().__init__()
        self.problems = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src") and attrs.get("type") != "application/json":
            self.problems.append(f"inline <script> {attrs}")
        if tag == "img" and attrs.get("src") == "x":
            self.problems.append(f"injected <img> {attrs}")
        for name, value in attrs.items():
            value = (value or "").strip().lower()
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in ("hx-get", "hx-trigger") and value in ("/x", "load"):
                self.problems.append(f"injected {name}={value!r} on <{tag}>")
            if name in ("href", "src", "action", "formaction") and value.startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name} on <{tag}>")


def assert_inert(html: str, where: str):
    parser = _Markup()
    parser.feed(html)
    assert not parser.problems, f"{where}: " + "; ".join(parser.problems)


@pytest.fixture
def hostile_world(world):
    w = world
    texts = {}
    texts["org"] = hostile("单位", 100)
    texts["org_short"] = hostile("简称", 50)
    org_services.update_organisation(
        org=w.lead_unit, parent=w.lead_unit.parent, name=texts["org"], short_name=texts["org_short"]
    )
    texts["full_name"] = hostile("姓名", 50)
    org_services.update_user(user=w.leader, full_name=texts["full_name"])
    texts["ledger"] = hostile("台账", 100)
    w.ledger.name = texts["ledger"]
    services.save_ledger(ledger=w.ledger)
    texts["field_label"] = hostile("字段", 50)
    services.save_ledger_field(
        user=w.supervisor, ledger=w.ledger, key="note", label=texts["field_label"], field_type=FieldType.TEXT
    )
    texts["tag"] = hostile("", 30)
    tag = services.get_or_create_tag(texts["tag"])

    # A finished item puts the lead unit on the battle map's ranking.
    w.advance(w.make_item(title="已办结事项"), ItemStatus.COMPLETED)
    item = w.advance(w.item, ItemStatus.IN_PROGRESS)
    texts["title"] = hostile("事项", 300)
    texts["description"] = hostile("描述", 1000)
    texts["field_value"] = hostile("值", 200)
    item = services.update_item(
        item=item,
        user=w.supervisor,
        version=item.version,
        title=texts["title"],
        description=texts["description"],
        tags=[tag],
        extra={"note": texts["field_value"]},
    )
    texts["comment"] = hostile("评论", 1000)
    services.add_comment(item=item, user=w.supervisor, text=texts["comment"])
    texts["report"] = hostile("进展", 1000)
    texts["problems"] = hostile("问题", 1000)
    texts["evidence"] = hostile("佐证", 150) + ".pdf"
    texts["evidence_kept"] = clean_file_name(texts["evidence"])
    services.save_report(
        item=item,
        user=w.lead_liaison,
        text=texts["report"],
        problems=texts["problems"],
        percent_complete=40,
        files=[files.upload(texts["evidence"], files.PDF, "application/pdf")],
    )
    texts["attachment"] = hostile("附件", 150) + ".png"
    texts["attachment_kept"] = clean_file_name(texts["attachment"])
    services.attach_to_item(
        item=item, user=w.supervisor, upload=files.upload(texts["attachment"], files.PNG, "image/png")
    )
    texts["reason"] = hostile("理由", 500)
    services.request_extension(
        item=item,
        user=w.lead_liaison,
        new_deadline=item.deadline + dt.timedelta(days=30),
        reason=texts["reason"],
    )
    texts["filter"] = hostile("筛选", 50)
    services.save_filter(user=w.supervisor, name=texts["filter"], query="q=")
    return w, item, texts


def _get(client, user, url, **headers):
    client.force_login(user)
    response = client.get(url, **headers)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response


def _shows_escaped(html: str, text: str, where: str):
    assert escape(text) in html, f"{where}: does not show 「{text[:20]}…」 (escaped)"
    assert text not in html, f"{where}: shows 「{text[:20]}…」 unescaped"


@pytest.mark.parametrize(
    ("screen", "who", "shown"),
    [
        ("item_list", "supervisor", ["title", "filter", "org_short"]),
        ("item_results", "supervisor", ["title", "org_short"]),
        (
            "item_detail",
            "supervisor",
            [
                "title",
                "description",
                "comment",
                "report",
                "problems",
                "reason",
                "evidence_kept",
                "attachment_kept",
                "field_value",
                "tag",
                "org_short",
                "full_name",
            ],
        ),
        ("item_edit", "supervisor", ["title", "description", "tag"]),
        ("my_work", "supervisor", ["title"]),
        ("ledger_list", "supervisor", ["ledger"]),
        ("ledger_settings", "supervisor", ["ledger", "field_label"]),
        ("battle_map", "supervisor", []),
        ("organisation_list", "system_admin", ["org"]),
        ("user_list", "system_admin", ["full_name"]),
        ("audit", "audit_admin", []),
    ],
)
def test_screens_show_hostile_text_as_text(client, hostile_world, screen, who, shown):
    w, item, texts = hostile_world
    urls = {
        "item_list": (reverse("ledgers:item_list"), {}),
        "item_results": (reverse("ledgers:item_list") + "?q=事项", {"HTTP_HX_REQUEST": "true"}),
        "item_detail": (reverse("ledgers:item_detail", args=[item.pk]), {}),
        "item_edit": (reverse("ledgers:item_edit", args=[item.pk]), {}),
        "my_work": (reverse("ledgers:my_work"), {}),
        "ledger_list": (reverse("ledgers:ledger_list"), {}),
        "ledger_settings": (reverse("ledgers:ledger_settings", args=[w.ledger.pk]), {}),
        "battle_map": (reverse("dashboards:battle_map"), {}),
        "organisation_list": (reverse("orgs:organisation_list"), {}),
        "user_list": (reverse("orgs:user_list"), {}),
        "audit": (reverse("audit:event_list"), {}),
    }
    url, headers = urls[screen]
    html = _get(client, getattr(w, who), url, **headers).content.decode()
    assert_inert(html, screen)
    for key in shown:
        _shows_escaped(html, texts[key], screen)


def test_battle_map_data_is_json_not_markup(client, hostile_world):
    w, _item, texts = hostile_world
    html = _get(client, w.supervisor, reverse("dashboards:battle_map")).content.decode()
    start = html.index('<script id="battle-map-data" type="application/json">')
    body = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    assert "<" not in body and ">" not in body  # json_script escapes them: nothing can close the tag
    assert texts["org_short"] in json.dumps(json.loads(body), ensure_ascii=False)


@pytest.mark.parametrize(
    ("url_name", "who", "query", "key"),
    [
        ("orgs:org_autocomplete", "supervisor", "单位", "org"),
        ("orgs:user_autocomplete", "supervisor", "姓名", "full_name"),
        ("orgs:leader_autocomplete", "supervisor", "姓名", "full_name"),
        ("ledgers:item_autocomplete", "supervisor", "事项", "title"),
    ],
)
def test_autocompletes_answer_json(client, hostile_world, url_name, who, query, key):
    w, _item, texts = hostile_world
    response = _get(client, getattr(w, who), reverse(url_name) + "?q=" + query)
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    labels = [result["text"] for result in response.json()["results"]]
    assert any(texts[key] in label for label in labels), labels
