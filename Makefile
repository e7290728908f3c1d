# One command to run the app on the simulator, one to run every test. Both set up everything
# they need first (idempotent): the venv with pinned packages, bun from the npm registry, the
# database schema and the demo data.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PORT ?= 3000
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
BUN := $(CURDIR)/.tools/node_modules/.bin/bun
# axe-core for the accessibility test (tests/e2e/test_accessibility.py reads it from here)
AXE := $(CURDIR)/.tools/node_modules/axe-core/axe.min.js

export PATH := $(BIN):$(CURDIR)/.tools/node_modules/.bin:$(PATH)
export REFLEX_USE_SYSTEM_BUN := 1
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export REFLEX_DIR := $(CURDIR)/.reflex
export CTREFLEX_PORT := $(PORT)
export NPM_CONFIG_REGISTRY ?= $(shell npm config get registry 2>/dev/null)

.PHONY: help setup run run-scaled dev test lint db seed clean chromium
WORKERS ?= 3

help:
	@echo "make run    set up and serve the app on http://localhost:$(PORT) (simulator, demo data)"
	@echo "make dev    the same with hot reload"
	@echo "make run-scaled  WORKERS (3) workers on PostgreSQL + Redis, one simulator process (docs/DEPLOY.md)"
	@echo "make test   set up, then ruff and the whole test suite (browser tests included)"

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

$(BUN):
	mkdir -p .tools
	test -f .tools/package.json || echo '{"name":"ctreflex-tools","private":true}' > .tools/package.json
	cd .tools && npm install --no-audit --no-fund --silent bun@1.4.5

$(AXE):
	mkdir -p .tools
	test -f .tools/package.json || echo '{"name":"ctreflex-tools","private":true}' > .tools/package.json
	cd .tools && npm install --no-audit --no-fund --silent axe-core@4.14.1

setup: $(VENV)/.installed $(BUN) db

db: $(VENV)/.installed
	mkdir -p data
	$(BIN)/python -m ctreflex.cli check-db
	$(BIN)/alembic upgrade head
	$(BIN)/python -m ctreflex.cli seed

chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

define banner
	@echo ""
	@echo "  CT Text is starting on http://localhost:$(PORT)"
	@echo "  Demo logins:  admin@demo.test / demo-admin-1   (admin)"
	@echo "                agent@demo.test / demo-agent-1   (agent)"
	@echo "  Customer phone (simulator): http://localhost:$(PORT)/simulator/"
	@echo ""
endef

run: setup
	$(banner)
	HOST=$$($(BIN)/python -m ctreflex.cli host) && \
	  $(BIN)/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT) \
	  --backend-host "$$HOST"

# Several granian workers on PostgreSQL (CTREFLEX_DATABASE_URL, default
# postgresql+psycopg://postgres@127.0.0.1:5432/ctreflex, created if missing) and Redis
# (REFLEX_REDIS_URL, default redis://127.0.0.1:6379/0); migrations and seed first; the simulators
# as one process of their own (SIM_PORT, default PORT+100); a dead worker is replaced.
run-scaled: $(VENV)/.installed $(BUN)
	mkdir -p data
	WORKERS=$(WORKERS) $(BIN)/python -m ctreflex.scaled

dev: setup
	$(banner)
	@echo "  (dev: the API, webhooks and simulator are on port $$(( $(PORT) + 5000 )))"
	HOST=$$($(BIN)/python -m ctreflex.cli host) && \
	CTREFLEX_PUBLIC_URL=http://127.0.0.1:$$(( $(PORT) + 5000 )) \
	REFLEX_HOT_RELOAD_EXCLUDE_PATHS=$(CURDIR)/data:$(CURDIR)/tests:$(CURDIR)/bench:$(CURDIR)/docs \
	  $(BIN)/reflex run --env dev --frontend-port $(PORT) --backend-port $$(( $(PORT) + 5000 )) \
	  --backend-host "$$HOST"

lint: $(VENV)/.installed
	$(BIN)/ruff check .

test: setup $(AXE) chromium lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf .web .states data
