# Production serving and the load benchmark, `include`d by the Makefile (mk/*.mk).
# docs/performance.md explains what the figures mean.
#   make serve [WORKERS=n]   migrations, then uvicorn as production runs it (uvloop, httptools,
#                            no access log, no reload; n worker processes) on CONDUIT_DATABASE_URL
#   make bench               seed PostgreSQL (once per dataset), benchmark every scenario against
#                            the ceiling: var/reports/bench.md, bench.json, bench.png
#                            BENCH_ARTICLES, BENCH_DURATION, BENCH_CONNECTIONS, WORKERS; anything
#                            else through BENCH_ARGS (e.g. BENCH_ARGS="--sizes 10000,1000000")
#   make serve-ceiling       the bare ASGI ceiling (bench/ceiling.py) on the same uvicorn stack;
#                            the runner starts it with the captured page in BENCH_CEILING_BODY,
#                            and with CEILING_APP=starlette_app / fastapi_app the same bytes
#                            from one route of a bare Starlette / FastAPI app
#   make bench-deps          Debian's wrk, installed if missing (also run by `make test`)

WORKERS ?= 1
BENCH_ARTICLES ?= 10000
BENCH_DURATION ?= 10
BENCH_CONNECTIONS ?= 64
BENCH_ARGS ?=
CEILING_APP ?= app
BENCH_PACKAGES := wrk
UVICORN_PRODUCTION = $(BIN)/uvicorn --host $(HOST) --port $(PORT) --workers $(WORKERS) \
	--loop uvloop --http httptools --no-access-log

.PHONY: serve serve-ceiling bench bench-deps bench-lint bench-format bench-typecheck

serve: migrate  ## production server on CONDUIT_DATABASE_URL: migrations, uvicorn, WORKERS=n
	$(UVICORN_PRODUCTION) --factory conduit.main:create_app_from_env

serve-ceiling: install
	$(UVICORN_PRODUCTION) bench.ceiling:$(CEILING_APP)

bench: install bench-deps  ## load benchmark on PostgreSQL: var/reports/bench.md and bench.png
	$(BIN)/python -m bench.run --articles $(BENCH_ARTICLES) --duration $(BENCH_DURATION) \
		--connections $(BENCH_CONNECTIONS) --workers $(WORKERS) $(BENCH_ARGS)

# Installs only what is missing. Where apt-get is absent (not Debian) it says so and carries on:
# the benchmark smoke test then skips, except with CI=true, where it fails.
bench-deps:  ## install Debian's wrk (load generator) if missing
	@command -v wrk >/dev/null && exit 0; \
	if ! command -v apt-get >/dev/null; then \
		echo "bench-deps: no apt-get here; install $(BENCH_PACKAGES) by hand" >&2; exit 0; fi; \
	sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	echo "bench-deps: installing $(BENCH_PACKAGES)"; \
	$$sudo apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends \
		$(BENCH_PACKAGES) >/dev/null

bench-lint: install
	$(BIN)/ruff check bench
	$(BIN)/ruff format --check bench

bench-format: install
	$(BIN)/ruff check --fix bench
	$(BIN)/ruff format bench

bench-typecheck: install
	$(BIN)/mypy bench

# The smoke test (tests/bench) needs wrk; lint, format and typecheck cover bench/ too.
test: bench-deps
lint: bench-lint
format: bench-format
typecheck: bench-typecheck
