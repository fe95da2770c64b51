"""List screens: sorting swaps only the table, and a record's link in the table opens its page.

The table is boosted (htmx swaps ``#results`` for sorting and paging); a link to another page used to
be boosted too, and its page, having no ``#results``, emptied the table instead of opening."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_record_link_in_a_list_opens_the_record(world, page, login, live_server):
    other = world.make_item(title="老旧小区改造提升")
    login("supervisor", world.password)
    page.goto(live_server.url + reverse("ledgers:item_list"))
    results = page.locator("#results")
    expect(results).to_contain_text(other.title)
    # Sorting stays on the list: only the table is swapped.
    results.locator("thead a").first.click()
    expect(page).to_have_url(
        re.compile(re.escape(live_server.url + reverse("ledgers:item_list")) + r"\?sort=")
    )
    expect(results).to_contain_text(other.title)
    results.get_by_role("link", name=other.title).click()
    expect(page).to_have_url(live_server.url + reverse("ledgers:item_detail", args=[other.pk]))
    expect(page.locator("h2.page-title")).to_have_text(other.title)
