# Code generation: `include`d from the Makefile. generated/ is written only by these targets.
# The generators run from their own venv (.tools/codegen) with the exact versions of
# codegen/requirements.txt, from the repository root, where their formatters read pyproject.toml.

PYTHON ?= python3
TOOLS ?= .tools
CODEGEN_VENV := $(TOOLS)/codegen
CODEGEN_PYTHON := $(CODEGEN_VENV)/bin/python
CODEGEN_CONTRACT := openapi/conduit.yaml
CODEGEN_OUTPUT := generated

.PHONY: generate generate-check

$(CODEGEN_VENV)/.installed: codegen/requirements.txt
	rm -rf $(CODEGEN_VENV)
	$(PYTHON) -m venv $(CODEGEN_VENV)
	$(CODEGEN_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps \
		-r codegen/requirements.txt
	$(CODEGEN_VENV)/bin/pip check --disable-pip-version-check
	@touch $@

generate: $(CODEGEN_VENV)/.installed  ## regenerate generated/ from openapi/conduit.yaml
	rm -rf $(CODEGEN_OUTPUT)
	$(CODEGEN_PYTHON) codegen/generate.py --contract $(CODEGEN_CONTRACT) --output $(CODEGEN_OUTPUT)

generate-check: $(CODEGEN_VENV)/.installed  ## fail if generated/ differs from a fresh generation
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	$(CODEGEN_PYTHON) codegen/generate.py --contract $(CODEGEN_CONTRACT) \
		--output "$$tmp/$(CODEGEN_OUTPUT)" || exit 1; \
	if ! diff -ruN --exclude=__pycache__ $(CODEGEN_OUTPUT) "$$tmp/$(CODEGEN_OUTPUT)"; then \
		echo "generated/ is not what codegen/ makes of $(CODEGEN_CONTRACT): run 'make generate'" >&2; \
		exit 1; \
	fi

# tests/loop runs the generator (and the drift check) on a copy of the project.
test: $(CODEGEN_VENV)/.installed
