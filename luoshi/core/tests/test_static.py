"""The layout's scripts and styles are found by the static finders (they were once 404 outside tests)."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import get_template


@pytest.mark.parametrize(
    "path",
    [
        "luoshi/app.js",
        "luoshi/app.css",
        "dashboards/battle_map.js",
        "vendor/htmx/htmx.min.js",
        "vendor/tabler/tabler.min.css",
        "vendor/echarts/echarts.min.js",
    ],
)
def test_asset_is_found(path):
    assert finders.find(path), f"{path} is not served"


def test_every_asset_the_layout_names_is_found():
    source = Path(get_template("base.html").origin.name).read_text(encoding="utf-8")
    names = re.findall(r"{% static '([^']+)' %}", source)
    assert len(names) >= 5
    assert [name for name in names if not finders.find(name)] == []
