"""Conduit's load benchmark: ``make bench``, or ``python -m bench.run --help``.

One run: a fresh copy of the seeded benchmark database; ``make serve`` pinned to its CPU(s);
every scenario driven by wrk for a fixed time at a fixed number of connections; then the ceiling
(bench/ceiling.py serving the captured list page on the same stack); optionally the list
scenarios again at other database sizes. Results go to var/reports/ (bench.md, bench.json,
bench.png); the exit status is 1 when any request failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from bench import database, environment, load, measure, report, scenarios, server
from bench.database import Dataset
from bench.pinning import Pinning
from bench.pinning import plan as plan_pinning
from bench.results import Report, ScalePoint, ScenarioResult
from bench.server import Memory, Server

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/conduit_bench"
PASSWORD = "password123"  # noqa: S105 - what `conduit seed` gives every generated user
USERS_PER_ARTICLE = 0.1
CEILING_REPEAT = 3
# Failures that explain themselves: reported in one line, without a traceback.
BENCH_FAILURES = (
    load.WrkMissing,
    load.WrkFailed,
    measure.PreflightFailed,
    server.ServerFailed,
    subprocess.CalledProcessError,
)


@dataclass(frozen=True, slots=True)
class Options:
    database_url: str
    dataset: Dataset
    workers: int
    connections: int
    duration_s: int
    warmup_s: int
    repeat: int
    ceiling_repeat: int
    timeout_s: int
    sizes: tuple[int, ...]
    only: tuple[str, ...]
    priority: bool
    output_dir: Path
    work_dir: Path


def _names(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _sizes(value: str) -> tuple[int, ...]:
    return tuple(int(item) for item in _names(value))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    p.add_argument("--articles", type=int, default=10_000)
    p.add_argument("--users", type=int, default=None, help="default: articles / 10")
    p.add_argument("--comments-per-article", type=int, default=2)
    p.add_argument("--favorites", type=int, default=5, help="per user")
    p.add_argument("--follows", type=int, default=10, help="per user")
    p.add_argument("--tags", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    p.add_argument("--warmup", type=int, default=2, help="seconds of load before each")
    p.add_argument("--repeat", type=int, default=1, help="timed runs per scenario (median)")
    p.add_argument("--timeout", type=int, default=30, help="wrk's per-request timeout, seconds")
    p.add_argument("--sizes", type=_sizes, default=(), help="e.g. 10000,100000,1000000")
    p.add_argument("--only", type=_names, default=(), help="scenario names to run")
    p.add_argument("--quick", action="store_true", help="1 s per scenario, no warm-up (CI)")
    p.add_argument(
        "--no-priority",
        dest="priority",
        action="store_false",
        help="do not raise the server's and wrk's priority (nice -10, root only)",
    )
    p.add_argument("--output-dir", type=Path, default=Path("var/reports"))
    p.add_argument("--work-dir", type=Path, default=Path("var/bench"))
    p.add_argument(
        "--drop-databases", action="store_true", help="drop the bench database and templates"
    )
    return p


def dataset(args: argparse.Namespace) -> Dataset:
    users = args.users if args.users is not None else round(args.articles * USERS_PER_ARTICLE)
    return Dataset(
        users=max(users, 2),
        articles=args.articles,
        comments_per_article=args.comments_per_article,
        favorites=args.favorites,
        follows=args.follows,
        tags=args.tags,
        seed=args.seed,
    )


def resized(data: Dataset, articles: int) -> Dataset:
    """The same shape (users per article, per-user figures, seed) at another size."""
    users = round(articles * data.users / data.articles) if data.articles else data.users
    return dataclasses.replace(data, articles=articles, users=max(users, 2))


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        database_url=args.database_url,
        dataset=dataset(args),
        workers=args.workers,
        connections=args.connections,
        duration_s=1 if args.quick else args.duration,
        warmup_s=0 if args.quick else args.warmup,
        repeat=1 if args.quick else max(args.repeat, 1),
        # Every figure is read against the ceiling: its median of several runs is worth the time.
        ceiling_repeat=1 if args.quick else max(args.repeat, CEILING_REPEAT),
        timeout_s=args.timeout,
        sizes=args.sizes,
        only=args.only,
        priority=args.priority,
        output_dir=args.output_dir,
        work_dir=args.work_dir,
    )


# -- running ------------------------------------------------------------------------------------


def server_env(options: Options, url: str) -> dict[str, str]:
    return server.clean_environment(
        {
            "CONDUIT_DATABASE_URL": url,
            "CONDUIT_ENVIRONMENT": "production",
            "CONDUIT_JWT_SECRET": secrets.token_urlsafe(48),
            "CONDUIT_VAR_DIR": str((options.work_dir / "var").resolve()),
            "CONDUIT_RATE_LIMIT_ENABLED": "false",
        }
    )


def measure_plan(
    options: Options, pinning: Pinning, running: Server, token: str, url: str | None
) -> measure.Plan:
    requests_dir = options.work_dir / "requests"
    requests_dir.mkdir(parents=True, exist_ok=True)
    return measure.Plan(
        base_url=running.base_url,
        token=token,
        connections=options.connections,
        duration_s=options.duration_s,
        warmup_s=options.warmup_s,
        repeat=options.repeat,
        timeout_s=options.timeout_s,
        pinning=pinning,
        nonce=secrets.token_hex(4),
        requests_dir=requests_dir.resolve(),
        server_pids=tuple(server.server_processes(running)),
        database=None if url is None else make_url(url).database,
    )


@dataclass(slots=True)
class AppRun:
    results: list[ScenarioResult]
    memory: list[Memory]
    memory_by_scenario: dict[str, list[Memory]]
    ceiling_body: bytes
    content_type: str
    server_cpus: str


def run_app(options: Options, pinning: Pinning, url: str) -> AppRun:
    sys.stderr.write(f"bench: starting `make serve WORKERS={options.workers}`\n")
    app = server.start(
        "serve",
        workers=options.workers,
        env=server_env(options, url),
        cpus=pinning.server,
        nice=pinning.nice,
        log=options.work_dir / "server.log",
    )
    try:
        page = httpx.get(f"{app.base_url}{scenarios.LIST}", timeout=30.0)
        page.raise_for_status()
        fixtures = scenarios.discover(url, app.base_url, PASSWORD)
        plan = measure_plan(options, pinning, app, fixtures.token, url)
        suite = scenarios.pick(scenarios.full_suite(fixtures), options.only)
        run = AppRun([], [], {}, page.content, page.headers["content-type"], _cpus(app))
        for scenario in suite:
            run.results.append(measure.measure(plan, scenario))
            run.memory_by_scenario[scenario.name] = server.memory_snapshot(app)
        run.memory = server.memory_snapshot(app)
        return run
    finally:
        server.stop(app)


def _cpus(app: Server) -> str:
    pids = server.server_processes(app)
    return ", ".join(f"{role} {pid}: {server.cpus_allowed(pid)}" for pid, role in pids.items())


# The reference apps of bench/ceiling.py after the ceiling itself: (scenario, app, what it is).
REFERENCES = (
    ("starlette-route", "starlette_app", "one route of a bare Starlette app"),
    ("fastapi-route", "fastapi_app", "one route of a bare FastAPI app"),
)


def run_ceiling(
    options: Options, pinning: Pinning, app: AppRun
) -> tuple[ScenarioResult, list[Memory], list[ScenarioResult]]:
    """The ceiling (median of at least three runs), then the same bytes through each reference."""
    body = options.work_dir / "ceiling-body"
    body.write_bytes(app.ceiling_body)
    served = {
        "BENCH_CEILING_BODY": str(body.resolve()),
        "BENCH_CEILING_CONTENT_TYPE": app.content_type,
    }
    ceiling, memory = _serve_ceiling(options, pinning, served, "app", scenarios.ceiling())
    references = [
        _serve_ceiling(options, pinning, served, attribute, scenarios.reference(name, what))[0]
        for name, attribute, what in REFERENCES
    ]
    return ceiling, memory, references


def _serve_ceiling(
    options: Options,
    pinning: Pinning,
    served: dict[str, str],
    attribute: str,
    scenario: scenarios.Scenario,
) -> tuple[ScenarioResult, list[Memory]]:
    env = server.clean_environment({**served, "CEILING_APP": attribute})
    sys.stderr.write(f"bench: starting `make serve-ceiling CEILING_APP={attribute}`\n")
    ceiling = server.start(
        "serve-ceiling",
        workers=options.workers,
        env=env,
        cpus=pinning.server,
        nice=pinning.nice,
        log=options.work_dir / f"ceiling-{attribute}.log",
        ready_path=scenarios.LIST,  # the one path the reference apps serve
    )
    try:
        plan = measure_plan(options, pinning, ceiling, token="", url=None)
        plan = dataclasses.replace(plan, repeat=options.ceiling_repeat)
        result = measure.measure(plan, scenario)
        return result, server.memory_snapshot(ceiling)
    finally:
        server.stop(ceiling)


def scale_points(data: Dataset, results: Sequence[ScenarioResult]) -> list[ScalePoint]:
    return [
        ScalePoint(
            articles=data.articles,
            users=data.users,
            scenario=r.name,
            rps=r.load.rps,
            p50_ms=r.load.latency.p50,
            p99_ms=r.load.latency.p99,
            errors=r.errors,
        )
        for r in results
        if r.name in scenarios.SCALE_SCENARIOS
    ]


def run_scale(options: Options, pinning: Pinning, measured: Sequence[str]) -> list[ScalePoint]:
    """The first-page scenarios at every size of --sizes the main run has not covered."""
    points: list[ScalePoint] = []
    main_covered = set(scenarios.SCALE_SCENARIOS) <= set(measured)
    for size in options.sizes:
        if size == options.dataset.articles and main_covered:
            continue
        data = resized(options.dataset, size)
        prepared = database.prepare(options.database_url, data)
        sys.stderr.write(f"bench: scale {size:,} articles ({prepared.seconds:.0f}s to prepare)\n")
        app = server.start(
            "serve",
            workers=options.workers,
            env=server_env(options, prepared.url),
            cpus=pinning.server,
            nice=pinning.nice,
            log=options.work_dir / f"server-{size}.log",
        )
        try:
            fixtures = scenarios.discover(prepared.url, app.base_url, PASSWORD)
            plan = measure_plan(options, pinning, app, fixtures.token, prepared.url)
            results = [measure.measure(plan, s) for s in scenarios.scale_suite(fixtures)]
        finally:
            server.stop(app)
        points += scale_points(data, results)
    return points


def run(options: Options) -> Report:
    load.wrk_path()  # fail before seeding anything
    pinning = plan_pinning(options.workers, priority=options.priority)
    options.work_dir.mkdir(parents=True, exist_ok=True)
    before = environment.describe({})
    prepared = database.prepare(options.database_url, options.dataset)
    sys.stderr.write(f"bench: database ready in {prepared.seconds:.1f}s\n")
    app = run_app(options, pinning, prepared.url)
    ceiling, ceiling_memory, references = run_ceiling(options, pinning, app)
    measured = [r.name for r in app.results]
    points = run_scale(options, pinning, measured)
    if not any(p.articles == options.dataset.articles for p in points):
        points += scale_points(options.dataset, app.results)
    env = {
        **before,
        "load_average_after": environment.load_average(),
        "postgresql": database.server_version(prepared.url),
        "pinning": pinning.describe(),
        "server_cpus": app.server_cpus,
        "workers": options.workers,
        "connections": options.connections,
        "duration_s": options.duration_s,
        "warmup_s": options.warmup_s,
        "repeat": options.repeat,
        "database": prepared.url.rsplit("@", 1)[-1],
        "seeded_this_run": prepared.seeded_now,
    }
    return Report(
        environment=env,
        dataset=asdict(options.dataset),
        ceiling=ceiling,
        scenarios=app.results,
        memory=app.memory,
        ceiling_memory=ceiling_memory,
        memory_by_scenario=app.memory_by_scenario,
        scale=points,
        references=references,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = options_from(args)
    if args.drop_databases:
        dropped = database.drop_all(options.database_url)
        sys.stderr.write(f"bench: dropped {', '.join(dropped) or 'nothing'}\n")
        return 0
    try:
        result = run(options)
    except BENCH_FAILURES as error:
        sys.stderr.write(f"bench: {error}\n")
        return 2
    md, _, png = report.write(result, options.output_dir)
    sys.stdout.write("\n".join(report.scenario_table(result)) + "\n")
    sys.stdout.write(f"\nreport: {md}\nchart:  {png}\n")
    if result.failed:
        sys.stderr.write(f"bench: requests failed in: {', '.join(result.failed)}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
