# Fault injection, `include`d by the Makefile (mk/*.mk).
#   make test-faults   tests/faults: PostgreSQL stopped under load (503 fast, then recovery with
#                      no restart), pool exhaustion, SIGTERM drain, SIGKILL durability. Real
#                      uvicorn processes on a PostgreSQL cluster the tests create for themselves
#                      (initdb in a temporary directory, a free port; as the `postgres` user when
#                      run as root), never the shared one on 5432. Needs PostgreSQL's server
#                      binaries under /usr/lib/postgresql/*/bin. `make test` skips these tests.

.PHONY: test-faults

test-faults: install  ## fault injection: database outage, pool exhaustion, SIGTERM, SIGKILL
	CONDUIT_FAULT_TESTS=1 $(BIN)/pytest tests/faults
