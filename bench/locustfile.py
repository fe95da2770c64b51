"""The mixed workload of ``bench/load.py``: the demo's people reading their screens and writing.

Each simulated person signs in through the real sign-in form, then loops over what their role does
most: supervisors scan the item list and the battle map and comment; leaders read the battle map and
item details; liaisons open their work, items and save report drafts. Writes go through the same
forms a browser posts (every hidden field of the form is sent back, so CSRF and one-time submission
tokens are honoured).
"""

import random
import re
from html.parser import HTMLParser

from locust import HttpUser, between, task

PASSWORD = "Luoshi@2026"
ITEM_LINK = re.compile(r'href="/items/(\d+)/"')
REPORT_LINK = re.compile(r'href="(/items/\d+/report/|/reports/\d+/edit/)"')


class FormParser(HTMLParser):
    """Every form on a page: its action and the values a browser would submit unchanged."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "fields": {}})
        elif not self.forms:
            return
        elif (
            tag == "input"
            and attrs.get("name")
            and attrs.get("type") in ("hidden", "text", "number", "password")
        ):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = attrs["name"]
            self.forms[-1]["fields"][self._textarea] = ""

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None


def forms_of(html: str) -> list[dict]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


class Person(HttpUser):
    abstract = True
    username = ""
    wait_time = between(0.5, 2.0)

    def on_start(self):
        page = self.client.get("/accounts/login/", name="sign-in page")
        form = next(f for f in forms_of(page.text) if "password" in f["fields"])
        fields = {**form["fields"], "username": self.username, "password": PASSWORD}
        response = self.client.post("/accounts/login/", fields, name="sign in")
        if "/accounts/login/" in response.url:
            raise RuntimeError(f"{self.username} could not sign in")
        self.item_ids = self._item_ids("/items/")

    def _item_ids(self, url: str) -> list[int]:
        response = self.client.get(url, name=url.split("?")[0])
        ids = [int(pk) for pk in ITEM_LINK.findall(response.text)]
        if not ids:
            raise RuntimeError(f"{self.username} sees no items at {url}")
        return ids

    def open_item(self):
        pk = random.choice(self.item_ids)
        return pk, self.client.get(f"/items/{pk}/", name="/items/[id]/")

    def post_form(self, page, action_part: str, values: dict, name: str):
        """Submit the page's form whose action contains ``action_part`` (an empty action is the page)."""
        for form in forms_of(page.text):
            action = form["action"] or page.url
            if action_part in action:
                return self.client.post(action, {**form["fields"], **values}, name=name)
        return None


class Supervisor(Person):
    username = "supervisor"
    weight = 2

    @task(4)
    def item_list(self):
        page = random.randint(1, 8)
        self.client.get(f"/items/?page={page}", name="/items/?page")

    @task(2)
    def filtered_partial(self):
        color = random.choice(["red", "yellow", "green"])
        self.client.get(f"/items/?color={color}", headers={"HX-Request": "true"}, name="/items/ (htmx)")

    @task(3)
    def item_detail(self):
        self.open_item()

    @task(2)
    def battle_map(self):
        self.client.get("/dashboards/", name="/dashboards/")

    @task(1)
    def my_work(self):
        self.client.get("/my-work/", name="/my-work/")

    @task(1)
    def comment(self):
        pk, page = self.open_item()
        self.post_form(page, f"/items/{pk}/comment/", {"text": "请加快进度，按期报送。"}, "comment")


class Leader(Person):
    username = "leader"
    weight = 1

    @task(3)
    def battle_map(self):
        self.client.get("/dashboards/", name="/dashboards/")

    @task(3)
    def item_detail(self):
        self.open_item()

    @task(2)
    def my_work(self):
        self.client.get("/my-work/", name="/my-work/")


class Liaison(Person):
    username = "liaison"
    weight = 3

    @task(3)
    def my_work(self):
        self.client.get("/my-work/", name="/my-work/")

    @task(3)
    def item_detail(self):
        self.open_item()

    @task(1)
    def item_list(self):
        self.client.get("/items/", name="/items/?page")

    @task(1)
    def save_report_draft(self):
        """Open an item and, where the page offers this unit a report to write, save a draft of it."""
        _pk, detail = self.open_item()
        link = REPORT_LINK.search(detail.text)
        if link is None:
            return  # nothing to report on this item now: the page offers no form
        page = self.client.get(link.group(1), name="report form")
        values = {"text": "本期完成前期手续，正在推进施工招标。", "percent_complete": "60"}
        self.post_form(page, "/report", values, "save report draft")
