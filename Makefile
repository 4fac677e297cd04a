# Pinbase front door: `make run`, `make test`, `make check`, `make bench`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
DATA ?= data
PORT ?= 8080
HOST ?= 127.0.0.1
HW_PORT ?= 8442
MQTT_PORT ?= 1883
LISTEN := --host $(HOST) --http-port $(PORT) --hardware-port $(HW_PORT) --mqtt-port $(MQTT_PORT)

.PHONY: run test test-fast check lint types contracts pytest conformance bench bench-tcp clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m pinbase demo --data $(DATA) $(LISTEN)
	$(PY) -m pinbase serve --data $(DATA) $(LISTEN)

lint: $(STAMP)
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/ruff check src tests bench scripts

types: $(STAMP)
	$(VENV)/bin/mypy

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

# Branch coverage, servers started by the tests included (coverage's subprocess patch):
# 100% for the domain and the protocol core (STYLE.md), a fixed gate for the whole package.
COVERAGE_GATE := 95
# Two pytest-xdist workers, whole modules each: about 21 min instead of about 38 in one process
# (`make pytest PYTEST_WORKERS=0`). Each worker hands out ports from a slice of its own below the
# kernel's ephemeral range (pinbase.testing.free_port), so they never race for one.
PYTEST_WORKERS ?= 2
pytest: $(STAMP)
	rm -f .coverage .coverage.*
	$(VENV)/bin/pytest --cov --cov-report= -n $(PYTEST_WORKERS) --dist loadfile
	$(VENV)/bin/coverage combine -q || true
	rm -f .coverage.*  # left by servers the tests killed with SIGKILL
	$(VENV)/bin/coverage report --fail-under=$(COVERAGE_GATE) > /dev/null || \
		{ $(VENV)/bin/coverage report; exit 1; }
	$(VENV)/bin/coverage report --fail-under=100 \
		--include='src/pinbase/domain/*,src/pinbase/protocols/*'
	@$(VENV)/bin/coverage report --format=total | sed 's/^/total coverage: /; s/$$/%/'

# The OpenAPI document against the routes and a live server (docs/openapi.md); also part of
# `make pytest`.
conformance: $(STAMP)
	$(VENV)/bin/pytest tests/e2e/test_openapi_conformance.py

# The in-process tests only: no `pinbase serve` or CLI subprocess, no PostgreSQL, no browser
# (CONTRIBUTING.md). The folders below hold no such test except those marked `subprocess`.
FAST_TESTS := tests/domain tests/protocols tests/services tests/storage tests/transports tests/http
test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -m 'not postgres and not subprocess and not slow' $(FAST_TESTS)

check: lint types contracts

test: check pytest

bench: $(STAMP)
	$(PY) bench/device_http.py
	$(PY) bench/device_tcp.py
	$(PY) bench/device_mqtt.py
	$(PY) bench/history.py
	$(PY) bench/platform_api.py
	$(PY) bench/console_live.py
	$(PY) bench/console_render.py
	$(PY) bench/automations.py
	$(PY) bench/cluster.py

bench-tcp: $(STAMP)
	$(PY) bench/device_tcp.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
