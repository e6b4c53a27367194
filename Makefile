# Conduit: every task has one entry point here, used the same way locally and in CI.
# Only Python 3.11+ and make are assumed; everything else is installed into .venv / .tools.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# uv must use the machine's interpreter and never try to download one.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: help install run migrate test test-contract lint format typecheck check

help:  ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	@touch $@

install: $(VENV)/.installed  ## create .venv with the locked dependencies

migrate: install  ## apply migrations to CONDUIT_DATABASE_URL (default: SQLite under var/)
	$(BIN)/conduit migrate

run: migrate  ## serve the API on http://127.0.0.1:8000 (docs at /docs)
	$(BIN)/uvicorn conduit.main:create_app_from_env --factory --host $(HOST) --port $(PORT)

test: install browser-deps  ## every test: unit, integration (SQLite + PostgreSQL), contract, e2e, browser
	$(BIN)/pytest

test-contract: install  ## only the Schemathesis contract tests (in-process)
	$(BIN)/pytest tests/contract

lint: install  ## ruff lint and format check
	$(BIN)/ruff check src tests codegen tools
	$(BIN)/ruff format --check src tests codegen tools

format: install  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix src tests codegen tools
	$(BIN)/ruff format src tests codegen tools

typecheck: install  ## mypy --strict on src, tests and generated
	$(BIN)/mypy src tests generated tools

check: lint typecheck generate-check test  ## everything CI runs

-include codegen/generate.mk
# Further task groups (spec checks, docs assets, ...) each live in a file of their own.
-include mk/*.mk
