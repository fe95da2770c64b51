#!/usr/bin/env python3
"""Copy the front-end files Luoshi serves from node_modules/ into luoshi/static/vendor/.

There is no CDN: intranets are offline, so `npm ci` fetches the pinned packages at set-up
and this script puts exactly the files the templates reference under static/. Stdlib only,
because it runs before anything else is importable.

Trailing `sourceMappingURL` comments are stripped: the .map files are not vendored, and
Django's ManifestStaticFilesStorage (used by whitenoise at collectstatic) fails on a
reference to a file that does not exist.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "luoshi" / "static" / "vendor"

# destination under static/vendor/ -> source under node_modules/
FILES = {
    "htmx/htmx.min.js": "htmx.org/dist/htmx.min.js",
    "tabler/tabler.min.css": "@tabler/core/dist/css/tabler.min.css",
    "tabler/tabler.min.js": "@tabler/core/dist/js/tabler.min.js",
    "echarts/echarts.min.js": "echarts/dist/echarts.min.js",
    "tom-select/tom-select.complete.min.js": "tom-select/dist/js/tom-select.complete.min.js",
    "tom-select/tom-select.bootstrap5.min.css": "tom-select/dist/css/tom-select.bootstrap5.min.css",
    "flatpickr/flatpickr.min.js": "flatpickr/dist/flatpickr.min.js",
    "flatpickr/flatpickr.min.css": "flatpickr/dist/flatpickr.min.css",
    "flatpickr/l10n/zh.js": "flatpickr/dist/l10n/zh.js",
}

# `//# sourceMappingURL=x.map` (JS) or `/*# sourceMappingURL=x.map */` (CSS) on its own line.
SOURCE_MAP = re.compile(rb"\n?(//# sourceMappingURL=\S+|/\*# sourceMappingURL=\S+ \*/)\s*$")


def main() -> int:
    missing = [src for src in FILES.values() if not (NODE_MODULES / src).is_file()]
    if missing:
        for src in missing:
            print(f"vendor_assets: missing {NODE_MODULES / src}", file=sys.stderr)
        print("vendor_assets: run `npm ci` first (or `make install`)", file=sys.stderr)
        return 1

    for dest, src in FILES.items():
        data = SOURCE_MAP.sub(b"\n", (NODE_MODULES / src).read_bytes())
        target = VENDOR / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        # Only rewrite on change so mtimes (and runserver's reloader) stay quiet on re-runs.
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)

    # A CDN reference in a vendored stylesheet would break offline intranets: catch it here.
    remote = re.compile(rb"""(@import\s+(url\()?|url\()\s*['"]?\s*(https?:)?//""")
    for dest in FILES:
        if dest.endswith(".css") and remote.search((VENDOR / dest).read_bytes()):
            print(f"vendor_assets: {dest} loads something from the network", file=sys.stderr)
            return 1

    print(f"vendor_assets: {len(FILES)} files in {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
