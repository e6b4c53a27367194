"""Measuring one scenario: a checked first request, a warm-up, then timed wrk runs."""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import cpu, load
from bench.load import LoadResult, LoadSpec
from bench.pinning import Pinning
from bench.results import ScenarioResult
from bench.scenarios import PLACEHOLDER, Scenario

# The storm starts this long before the measured load, so it is at full strength throughout.
BACKGROUND_LEAD_SECONDS = 1
# Between runs, wait (at most SETTLE_LIMIT_S) for the server to finish abandoned requests.
SETTLE_IDLE_SHARE = 0.05
SETTLE_WINDOW_S = 0.25
SETTLE_LIMIT_S = 60.0


class PreflightFailed(RuntimeError):
    """A scenario's request does not succeed even once: the scenario itself is wrong."""


@dataclass(frozen=True, slots=True)
class Plan:
    """How every scenario of a run is driven."""

    base_url: str
    token: str
    connections: int
    duration_s: int
    warmup_s: int
    repeat: int
    timeout_s: int
    pinning: Pinning
    nonce: str
    requests_dir: Path
    server_pids: tuple[int, ...] = ()
    database: str | None = None  # its PostgreSQL backends' CPU is measured


def _spec(plan: Plan, scenario: Scenario, duration_s: int) -> LoadSpec:
    return LoadSpec(
        url=plan.base_url,
        requests_file=scenario.write_requests(plan.requests_dir),
        authorization=f"Token {plan.token}" if scenario.authenticated else None,
        connections=max(plan.connections // scenario.connections_divisor, 1),
        threads=plan.pinning.client_threads,
        duration_s=duration_s,
        timeout_s=plan.timeout_s,
        nonce=plan.nonce,
        cpus=plan.pinning.client,
        nice=plan.pinning.nice,
    )


def preflight(plan: Plan, scenario: Scenario) -> None:
    """Send the scenario's first request once and insist on a 2xx."""
    request = scenario.requests[0]
    headers = {"Authorization": f"Token {plan.token}"} if scenario.authenticated else {}
    content = None
    if request.body is not None:
        line = request.line().split("\t", 2)[2]
        content = line.replace(PLACEHOLDER, f"preflight-{plan.nonce}").encode()
        headers["Content-Type"] = "application/json"
    response = httpx.request(
        request.method,
        plan.base_url + request.path,
        content=content,
        headers=headers,
        timeout=plan.timeout_s,
    )
    if not response.is_success:
        raise PreflightFailed(
            f"{scenario.name}: {request.method} {request.path} answered "
            f"{response.status_code}: {response.text[:500]}"
        )


Run = tuple[LoadResult, cpu.Usage]


def _median(runs: list[Run]) -> Run:
    ranked = sorted(runs, key=lambda run: run[0].rps)
    return ranked[(len(ranked) - 1) // 2]


def settle(plan: Plan) -> None:
    cpu.settle(
        plan.server_pids,
        idle_share=SETTLE_IDLE_SHARE,
        window_s=SETTLE_WINDOW_S,
        limit_s=SETTLE_LIMIT_S,
    )


def _timed_runs(plan: Plan, scenario: Scenario, *, settled: bool = True) -> list[Run]:
    """Warm-up, then ``repeat`` timed runs, each with the CPU it used; settled in between."""
    if plan.warmup_s > 0:
        load.run(_spec(plan, scenario, plan.warmup_s))
    runs: list[Run] = []
    for _ in range(plan.repeat):
        if settled:
            settle(plan)
        before = _cpu_sample(plan)
        result = load.run(_spec(plan, scenario, plan.duration_s))
        runs.append((result, cpu.usage(before, _cpu_sample(plan))))
    return runs


def _cpu_sample(plan: Plan) -> cpu.Sample:
    pinning = plan.pinning
    return cpu.sample(plan.server_pids, plan.database, pinning.server, pinning.client)


def measure(plan: Plan, scenario: Scenario) -> ScenarioResult:
    preflight(plan, scenario)
    background = None
    if scenario.background is not None:
        preflight(plan, scenario.background)
        length = plan.warmup_s + plan.duration_s * plan.repeat + 2 * BACKGROUND_LEAD_SECONDS
        background_spec = _spec(plan, scenario.background, length)
        storm = load.start(background_spec)
        time.sleep(BACKGROUND_LEAD_SECONDS)
        try:
            # Settling would wait for the storm: the measured load runs in it by design.
            runs = _timed_runs(plan, scenario, settled=False)
        finally:
            background = load.finish(storm, background_spec)
    else:
        runs = _timed_runs(plan, scenario)
    settle(plan)
    chosen, usage = _median(runs)
    result = ScenarioResult(
        name=scenario.name,
        summary=scenario.summary,
        connections=_spec(plan, scenario, 1).connections,
        load=chosen,
        runs_rps=tuple(r.rps for r, _ in runs),
        background=background,
        cpu=usage,
    )
    _say(result)
    return result


def _say(result: ScenarioResult) -> None:
    spread = ""
    if len(result.runs_rps) > 1:
        spread = f" (runs: {', '.join(f'{r:,.0f}' for r in result.runs_rps)}; "
        spread += f"stdev {statistics.pstdev(result.runs_rps):,.0f})"
    sys.stderr.write(
        f"bench: {result.name:<20} {result.load.rps:>10,.1f} req/s  "
        f"p50 {result.load.latency.p50:8.2f} ms  p99 {result.load.latency.p99:8.2f} ms  "
        f"errors {result.errors}  CPU server {result.cpu.server:.0%} "
        f"db {result.cpu.database:.0%} wrk {result.cpu.wrk:.0%}  others "
        f"{result.cpu.others_on_server_cpus:.0%}/{result.cpu.others_on_client_cpus:.0%}"
        f"{spread}\n"
    )
