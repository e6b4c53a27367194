"""Driving load with wrk and reading its results (bench/lua/requests.lua prints them as JSON)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.pinning import pinned, raise_session_priority

LUA_SCRIPT = Path(__file__).parent / "lua" / "requests.lua"
RESULT_PREFIX = "BENCH_RESULT "
# Beyond the run's own length: wrk needs a moment to start and to write its summary.
EXIT_GRACE_SECONDS = 60


class WrkMissing(RuntimeError):
    """wrk is not on PATH; `make bench-deps` installs Debian's package."""


class WrkFailed(RuntimeError):
    """wrk exited badly or printed no result line."""


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """One wrk invocation."""

    url: str
    requests_file: Path
    authorization: str | None
    connections: int
    threads: int
    duration_s: int
    timeout_s: int
    nonce: str
    cpus: str | None
    nice: int = 0


@dataclass(frozen=True, slots=True)
class Latency:
    """Milliseconds."""

    p50: float
    p90: float
    p99: float
    p999: float
    mean: float
    max: float


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    duration_s: float
    socket_errors: int  # connect, read, write, timeout
    status_errors: int  # responses with status >= 400, as wrk counts them
    latency: Latency

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.status_errors


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing("wrk is not installed: run `make bench-deps` (Debian package wrk)")
    return path


def command(spec: LoadSpec) -> list[str]:
    args = [
        wrk_path(),
        f"--threads={spec.threads}",
        f"--connections={spec.connections}",
        f"--duration={spec.duration_s}s",
        f"--timeout={spec.timeout_s}s",
        f"--script={LUA_SCRIPT}",
        spec.url,
        "--",
        str(spec.requests_file),
        spec.authorization or "-",
        spec.nonce,
    ]
    return pinned(args, spec.cpus, spec.nice)


def start(spec: LoadSpec) -> subprocess.Popen[str]:
    """Start wrk in the background (for load that runs beside a measured scenario)."""
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        command(spec),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own scheduling group (see bench.pinning)
    )
    raise_session_priority(process.pid, spec.nice)
    return process


def finish(process: subprocess.Popen[str], spec: LoadSpec) -> LoadResult:
    out, err = process.communicate(timeout=spec.duration_s + EXIT_GRACE_SECONDS)
    if process.returncode != 0:
        raise WrkFailed(f"wrk exited with {process.returncode}: {err.strip() or out.strip()}")
    return parse(out)


def run(spec: LoadSpec) -> LoadResult:
    return finish(start(spec), spec)


def parse(output: str) -> LoadResult:
    """The result line printed by the Lua ``done`` hook."""
    for line in reversed(output.splitlines()):
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line.removeprefix(RESULT_PREFIX))
            break
    else:
        raise WrkFailed(f"no {RESULT_PREFIX.strip()} line in wrk output:\n{output}")
    errors = data["errors"]
    latency = {key: value / 1000 for key, value in data["latency_us"].items()}
    return LoadResult(
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1_000_000,
        socket_errors=sum(int(errors[k]) for k in ("connect", "read", "write", "timeout")),
        status_errors=int(errors["status"]),
        latency=Latency(
            p50=latency["p50"],
            p90=latency["p90"],
            p99=latency["p99"],
            p999=latency["p999"],
            mean=latency["mean"],
            max=latency["max"],
        ),
    )
