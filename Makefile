# The README's two commands: `make run` and `make test`. Each creates .venv when it is
# missing and installs what it needs; a stamp file makes the install a no-op when
# pyproject.toml has not changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test bench bench-aws clean lambda-zip

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(PY)
	$(PIP) install -e ".[dev]"
	touch $@

run: $(VENV)/.run-installed
	$(VENV)/bin/weir serve

test: $(VENV)/.dev-installed
	$(PY) -m pytest

bench: $(VENV)/.dev-installed
	$(PY) bench/ingest.py
	$(PY) bench/query.py

bench-aws: $(VENV)/.dev-installed
	$(PY) bench/aws_cost.py
	$(PY) bench/cold_start.py

# The Lambda bundle (src/weir + msgspec + Powertools for Python 3.12 arm64; no boto3).
lambda-zip: $(VENV)/.dev-installed
	$(PY) scripts/lambda_zip.py --out build/lambda.zip

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
