# Luoshi: `make demo` and `make test` do everything on a fresh machine.
#
# Needs python3 (3.11+), npm, and for `make test` PostgreSQL server binaries on PATH.
# Stamp files make re-runs quick: each step reruns only when its inputs change.

PYTHON  ?= python3
UV_VERSION := 0.13.9
UV      := .tools/bin/uv
VENV    := .venv
PYTEST_ARGS ?= -n 2

# Never let uv download a Python: use the interpreter that is here.
export UV_PYTHON_DOWNLOADS := never

.PHONY: install demo lint browser test test-sqlite test-postgres messages clean

install: $(VENV)/.synced node_modules/.installed
	$(VENV)/bin/python scripts/vendor_assets.py

# uv comes from PyPI into its own venv, so nothing installed by hand is needed.
$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen -p $(PYTHON)
	touch $@

# --ignore-scripts: no package may run (or download) anything at install time.
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# The demo signs in with passwords alone unless the caller sets LUOSHI_TWO_FACTOR (docs/sign-in.md).
demo: export LUOSHI_TWO_FACTOR ?= off
demo: install
	$(VENV)/bin/luoshi demo
	$(VENV)/bin/luoshi serve

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/bandit -q -r luoshi -c pyproject.toml

# Browser tests drive Debian's chromium; Playwright's own browser downloads are never used.
browser:
	@if [ -x /usr/bin/chromium ]; then \
		:; \
	elif [ "$$(id -u)" -eq 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	elif command -v sudo >/dev/null 2>&1; then \
		sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
		echo "make browser: /usr/bin/chromium is missing; install it as root: apt-get install chromium" >&2; \
		exit 1; \
	fi

# Every suite runs on both databases (see DESIGN.md).
test: install lint browser
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: install browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-postgres: install browser
	scripts/with-postgres $(VENV)/bin/pytest $(PYTEST_ARGS)

# After changing UI strings: refresh the English catalogue, translate what is new in
# luoshi/locale/en/LC_MESSAGES/django.po, then run this again to compile it. Both files are
# committed (fresh machines need no gettext); the suite fails on a missing translation.
messages: $(VENV)/.synced
	@command -v msgfmt >/dev/null || { [ "$$(id -u)" -eq 0 ] && apt-get update && apt-get install -y gettext; }
	$(VENV)/bin/python manage.py makemessages -l en --ignore=.venv --ignore=node_modules --ignore=.tools \
		--ignore='tests/*' --ignore='bench/*'
	$(VENV)/bin/python manage.py compilemessages -l en --ignore=.venv

# Removes tools, dependencies and caches; keeps data (db.sqlite3, media/, var/).
clean:
	rm -rf .tools $(VENV) node_modules luoshi/static/vendor staticfiles .pytest_cache .ruff_cache
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
