# Contract checks, `include`d by the Makefile (mk/*.mk).
#   make spec-lint               openapi-spec-validator, then Spectral with Conduit's rules
#                                (tools/spec-lint/spectral.yaml). `make test` runs the same
#                                checks through tests/unit/test_spec_lint.py, which also breaks
#                                the contract on purpose to prove each rule fires.
#   make spec-check [BASE=ref]   breaking changes against the contract at a git ref (main).
# Spectral is pinned by tools/spec-lint/package-lock.json and installed with `npm ci` into
# .tools/spec-lint (rebuilt when the lock changes); nothing is installed globally. Install
# scripts are skipped: the only one is @scarf/scarf's download analytics.

TOOLS ?= .tools
BIN ?= .venv/bin
NPM ?= npm
BASE ?= main
SPEC_CONTRACT := openapi/conduit.yaml
SPEC_LINT_SOURCE := tools/spec-lint
SPEC_LINT_TOOLS := $(TOOLS)/spec-lint
SPECTRAL := $(SPEC_LINT_TOOLS)/node_modules/.bin/spectral

.PHONY: spec-lint spec-check spec-tools

$(SPEC_LINT_TOOLS)/.installed: $(SPEC_LINT_SOURCE)/package.json $(SPEC_LINT_SOURCE)/package-lock.json
	@command -v node >/dev/null || { echo "spec-lint needs Node.js 20 and npm on PATH" >&2; exit 1; }
	rm -rf $(SPEC_LINT_TOOLS)
	mkdir -p $(SPEC_LINT_TOOLS)
	cp $^ $(SPEC_LINT_TOOLS)/
	cd $(SPEC_LINT_TOOLS) && SCARF_ANALYTICS=false $(NPM) ci --ignore-scripts --no-audit --no-fund \
		--no-update-notifier --loglevel=error
	@touch $@

spec-tools: $(SPEC_LINT_TOOLS)/.installed  ## install the pinned contract linter into .tools/spec-lint

spec-lint: install $(SPEC_LINT_TOOLS)/.installed  ## validate the contract and lint it with the project rules
	$(BIN)/openapi-spec-validator $(SPEC_CONTRACT)
	SCARF_ANALYTICS=false $(SPECTRAL) lint --fail-severity=warn \
		--ruleset $(SPEC_LINT_SOURCE)/spectral.yaml $(SPEC_CONTRACT)

spec-check: install  ## fail on breaking changes to the contract against BASE (default: main)
	$(BIN)/python -m tools.spec_check --contract $(SPEC_CONTRACT) --base $(BASE)

# tests/unit/test_spec_lint.py runs Spectral: `make test` installs it first.
test: spec-tools
