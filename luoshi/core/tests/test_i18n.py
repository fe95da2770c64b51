"""The interface speaks Simplified Chinese by default and English on request.

The English catalogue (luoshi/locale/en/LC_MESSAGES/django.po) must translate every string,
and the committed django.mo must match it, so a fresh machine needs no gettext tools. After
adding or changing a UI string run ``manage.py makemessages -l en`` (with the --ignore options
in docs), translate the new entries and run ``manage.py compilemessages -l en``.
"""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
PO_PATH = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

HAN = re.compile(r"[\u4e00-\u9fff]")


def _po_entries(path: Path) -> list[dict]:
    """Entries of a .po file as dicts: flags, msgctxt, msgid, msgid_plural, msgstr {index: text}."""
    entries: list[dict] = []
    entry: dict = {}
    field = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip() or (line.startswith("#") and "msgid" in entry):
            if "msgid" in entry:
                entries.append(entry)
            entry, field = {}, None
            if not line.strip():
                continue
        if line.startswith("#,"):
            entry.setdefault("flags", set()).update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if isinstance(field, tuple):
                entry["msgstr"][field[1]] += text
            else:
                entry[field] += text
        else:
            keyword, _, value = line.partition(" ")
            text = ast.literal_eval(value)
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match:
                field = ("msgstr", int(match.group(1)))
                entry.setdefault("msgstr", {})[field[1]] = text
            elif keyword == "msgstr":
                field = ("msgstr", 0)
                entry["msgstr"] = {0: text}
            else:
                field = keyword
                entry[keyword] = text
    return [e for e in entries if e["msgid"]]  # the header has an empty msgid


@pytest.fixture(scope="module")
def po_entries():
    return _po_entries(PO_PATH)


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# the catalogue -------------------------------------------------------------------------------


def test_catalogue_covers_the_interface(po_entries):
    msgids = {e["msgid"] for e in po_entries}
    assert len(po_entries) > 400
    assert {"完成时限", "牵头单位", "督办员", "挂图作战"} <= msgids


def test_every_string_has_an_english_translation(po_entries):
    untranslated = [e["msgid"] for e in po_entries if not all(e["msgstr"].values())]
    assert untranslated == [], "translate these in luoshi/locale/en/LC_MESSAGES/django.po"


def test_no_translation_is_fuzzy(po_entries):
    fuzzy = [e["msgid"] for e in po_entries if "fuzzy" in e.get("flags", ())]
    assert fuzzy == [], "check these translations and remove their '#, fuzzy' flag"


def test_plural_entries_have_both_forms(po_entries):
    plural = [e for e in po_entries if "msgid_plural" in e]
    assert plural
    assert [e["msgid"] for e in plural if sorted(e["msgstr"]) != [0, 1]] == []


def test_translations_are_english_and_keep_placeholders(po_entries):
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
    bad = []
    for e in po_entries:
        expected = sorted(placeholder.findall(e["msgid"]))
        for text in e["msgstr"].values():
            if sorted(placeholder.findall(text)) != expected or (HAN.search(text) and text != "简体中文"):
                bad.append((e["msgid"], text))
    assert bad == []


def test_compiled_catalogue_matches_the_po(po_entries):
    """django.mo is committed; it must be recompiled (compilemessages -l en) after the .po changes."""
    with MO_PATH.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for e in po_entries:
        msgid = e["msgid"] if "msgctxt" not in e else f"{e['msgctxt']}\x04{e['msgid']}"
        if "msgid_plural" in e:
            got = [compiled.ngettext(msgid, e["msgid_plural"], n) for n in (1, 2)]
            want = [e["msgstr"][0], e["msgstr"][1]]
        else:
            got, want = compiled.gettext(msgid), e["msgstr"][0]
        if got != want:
            stale.append(e["msgid"])
    assert stale == [], "run manage.py compilemessages -l en"


# pages ---------------------------------------------------------------------------------------


def test_login_page_is_chinese_by_default(client, db):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "用户名" in html and "Username" not in html
    assert 'data-testid="language-form"' in html


def test_login_page_in_english_by_cookie(client, db):
    html = _english(client).get(reverse("login")).content.decode()
    assert '<html lang="en">' in html
    assert "Username" in html and "Password" in html and "Log in" in html
    assert "用户名" not in html


def test_login_page_in_english_by_accept_language(client, db):
    html = client.get(reverse("login"), headers={"accept-language": "en-US,en;q=0.9"}).content.decode()
    assert '<html lang="en">' in html
    assert "Username" in html


def test_item_list_and_detail_in_english(client, world):
    client.force_login(world.supervisor)
    _english(client)
    listing = client.get(reverse("ledgers:item_list")).content.decode()
    assert "Lead unit" in listing and "Deadline" in listing
    assert world.item.title in listing  # data stays as entered
    detail = client.get(reverse("ledgers:item_detail", args=[world.item.pk])).content.decode()
    assert "Lead unit" in detail and "Deadline" in detail and "Responsible person" in detail
    assert "牵头单位" not in detail and "完成时限" not in detail


def test_item_detail_in_chinese_by_default(client, world):
    client.force_login(world.supervisor)
    detail = client.get(reverse("ledgers:item_detail", args=[world.item.pk])).content.decode()
    assert "牵头单位" in detail and "完成时限" in detail
    assert "Lead unit" not in detail


def test_language_switch_posts_to_set_language(client, world):
    client.force_login(world.supervisor)
    detail_url = reverse("ledgers:item_detail", args=[world.item.pk])
    html = client.get(detail_url).content.decode()
    assert f'action="{reverse("set_language")}"' in html
    assert '<option value="en" lang="en">English</option>' in html

    response = client.post(reverse("set_language"), {"language": "en", "next": detail_url})
    assert response.status_code == 302 and response["Location"] == detail_url
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Lead unit" in client.get(detail_url).content.decode()

    client.post(reverse("set_language"), {"language": "zh-hans", "next": detail_url})
    assert "牵头单位" in client.get(detail_url).content.decode()
