# Fuzzing the running server, `include`d by the Makefile (mk/*.mk).
#   make contract   the Schemathesis CLI against uvicorn (uvloop, httptools) on a fresh, migrated
#                   PostgreSQL database: every check (ignored_auth, use_after_free,
#                   ensure_resource_availability, object_level_authorization with two users, ...)
#                   and every phase (examples, coverage, fuzzing, stateful). CONTRACT_MAX_EXAMPLES
#                   per operation, then fuzzing and stateful testing start over until
#                   CONTRACT_MAX_TIME seconds are spent: one stateful pass ends at the first
#                   replay a real database does not repeat, often after a few links, and the
#                   passes that follow reach the rest (deleting, then reading what was deleted).
#                   Fixed seed (CONDUIT_CONTRACT_SEED, default 20261126; pass n uses seed + n)
#                   and deterministic generation: every pass explores the same cases each run
#                   (how many passes fit in the time depends on the machine).
#   make fuzz       the same for longer (FUZZ_MAX_EXAMPLES, FUZZ_MAX_TIME), from a random seed
#                   printed first; `make fuzz CONDUIT_CONTRACT_SEED=<seed>` replays a run.
# Reports: var/reports/contract/ (or fuzz/): junit.xml, har.json and the server's log. Exit status
# non-zero on any failure; the server is stopped and the database dropped whatever happens.
# Anything else for `schemathesis run` through CONTRACT_ARGS, e.g.
# CONTRACT_ARGS="--include-operation-id GetArticles". How the users authenticate and why:
# tests/contract/cli_runner.py, tests/contract/live_hooks.py, tests/contract/schemathesis.toml.

CONTRACT_MAX_EXAMPLES ?= 30
CONTRACT_MAX_TIME ?= 150
FUZZ_MAX_EXAMPLES ?= 500
FUZZ_MAX_TIME ?= 900
CONTRACT_ARGS ?=
CONTRACT_RUNNER = $(BIN)/python -m tests.contract.cli_runner

.PHONY: contract fuzz

contract: install  ## Schemathesis CLI against uvicorn on PostgreSQL: every check and phase, fixed seed
	$(CONTRACT_RUNNER) --max-examples $(CONTRACT_MAX_EXAMPLES) --max-time $(CONTRACT_MAX_TIME) \
		--report-dir var/reports/contract $(if $(CONTRACT_ARGS),-- $(CONTRACT_ARGS))

fuzz: install  ## make contract for longer, from a random seed it prints first
	$(CONTRACT_RUNNER) --fuzz --max-examples $(FUZZ_MAX_EXAMPLES) --max-time $(FUZZ_MAX_TIME) \
		--report-dir var/reports/fuzz $(if $(CONTRACT_ARGS),-- $(CONTRACT_ARGS))
