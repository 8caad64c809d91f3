# The README's two commands: `make run` and `make test`. Each creates .venv when it is
# missing and installs what it needs; a stamp file makes the install a no-op when
# pyproject.toml has not changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test check bench bench-aws clean iac-venv check-iac lambda-zip

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(PY)
	$(PIP) install -e ".[dev,infra]"
	touch $@

run: $(VENV)/.run-installed
	@echo 'The README runs `weir` from $(VENV)/bin: in another terminal, in this folder:'
	@echo '    export PATH="$$PWD/$(VENV)/bin:$$PATH"'
	$(VENV)/bin/weir serve

# The peers the tests compare Weir with (Prometheus, vmagent/vmalert, Chromium) come from
# Debian's packages; the script installs only what is missing.
test: $(VENV)/.dev-installed
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
lambda-zip: $(VENV)/.dev-installed
	$(PY) scripts/lambda_zip.py --out build/lambda.zip

clean:
	rm -rf $(VENV) $(IAC_VENV) .pytest_cache build src/*.egg-info
