# The README's two commands: `make run` and `make test`. Each creates .venv when it is
# missing and installs what it needs; a stamp file makes the install a no-op when
# pyproject.toml has not changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test check bench bench-aws clean iac-venv check-iac lambda-zip ui ui-if-node

# The web UI (src/weir/ui/web, Node.js 20+): `make ui` installs its locked npm packages and
# builds it into src/weir/ui/dist, which `weir serve` and the api Lambda serve under /ui/.
# `run` and `test` build it when it is missing or older than its sources.
UI_WEB := src/weir/ui/web
UI_DIST := src/weir/ui/dist/index.html
UI_SOURCES := $(shell find $(UI_WEB)/src -type f 2>/dev/null) $(addprefix $(UI_WEB)/,index.html vite.config.ts tsconfig.json package.json)
HAVE_NODE := $(shell command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && echo yes)

$(UI_WEB)/node_modules/.package-lock.json: $(UI_WEB)/package-lock.json
	cd $(UI_WEB) && npm ci --no-audit --no-fund

$(UI_DIST): $(UI_WEB)/node_modules/.package-lock.json $(UI_SOURCES)
	cd $(UI_WEB) && npm run build

ui:
	cd $(UI_WEB) && npm ci --no-audit --no-fund && npm run build

# The UI when Node.js is here; a note otherwise (the server's /ui/ then says how to build it).
ui-if-node:
ifeq ($(HAVE_NODE),yes)
	@$(MAKE) --no-print-directory $(UI_DIST)
else
	@echo "Node.js not found: the web UI is not built (install Node.js 20+, then make ui)"
endif

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(PY)
	$(PIP) install -e ".[dev,infra]"
	touch $@

run: $(VENV)/.run-installed ui-if-node
	@echo 'The README runs `weir` from $(VENV)/bin: in another terminal, in this folder:'
	@echo '    export PATH="$$PWD/$(VENV)/bin:$$PATH"'
	$(VENV)/bin/weir serve

# The peers the tests compare Weir with (Prometheus, vmagent/vmalert, Chromium) come from
# Debian's packages; the script installs only what is missing.
test: $(VENV)/.dev-installed ui-if-node
	scripts/install_peers.sh
	$(PY) -m pytest

# Static checks: lint, types, layers (import-linter, pyproject.toml), security. CI runs
# them after the tests (tests/test_layout.py checks cycles and module size).
check: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check src tests bench infra/metrics infra/files
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy infra/metrics/weir_metrics infra/metrics/__main__.py
	$(VENV)/bin/bandit -q -c pyproject.toml -r src

bench: $(VENV)/.dev-installed
	$(PY) bench/ingest.py
	$(PY) bench/query.py
	$(PY) bench/export.py

# IaC scanners live in a venv of their own: checkov pins packaging<24, pulumi needs more.
IAC_VENV := .venv-iac
$(IAC_VENV)/.installed: infra/requirements-iac.txt
	$(PYTHON) -m venv $(IAC_VENV)
	$(IAC_VENV)/bin/python -m pip --disable-pip-version-check -q install -r infra/requirements-iac.txt
	touch $@

iac-venv: $(IAC_VENV)/.installed

# Synthesize infra/files and run cfn-lint and checkov on the template.
check-iac: $(IAC_VENV)/.installed $(VENV)/.dev-installed
	$(PY) infra/files/check.py --scanners $(IAC_VENV)/bin

bench-aws: $(VENV)/.dev-installed
	$(PY) bench/aws_cost.py
	$(PY) bench/cold_start.py

# The Lambda bundle (src/weir + msgspec + Powertools for Python 3.12 arm64; no boto3).
lambda-zip: $(VENV)/.dev-installed $(UI_DIST)
	$(PY) scripts/lambda_zip.py --out build/lambda.zip

clean:
	rm -rf $(VENV) $(IAC_VENV) .pytest_cache build src/*.egg-info src/weir/ui/dist $(UI_WEB)/node_modules
