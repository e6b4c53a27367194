"""Where a run happened: machine, software versions, load, commit."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "sqlalchemy", "asyncpg")
REPO_ROOT = Path(__file__).resolve().parents[1]
# Settings the runner sets itself; every other CONDUIT_ variable is passed to the server as is.
RUNNER_SETTINGS = ("CONDUIT_DATABASE_URL", "CONDUIT_JWT_SECRET", "CONDUIT_VAR_DIR")


def _git(*args: str) -> str:
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", *args],  # noqa: S607 - git from PATH
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip()


def commit() -> str:
    sha = _git("rev-parse", "--short=12", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"{sha} (with uncommitted changes)" if dirty and dirty != "unknown" else sha


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def wrk_version() -> str:
    try:
        result = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)  # noqa: S607
    except OSError:
        return "missing"
    return (result.stdout or result.stderr).splitlines()[0].split(" Copyright")[0].strip()


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def server_settings() -> dict[str, str]:
    """CONDUIT_ variables from the caller's environment that reach the server unchanged."""
    return {
        key: value
        for key, value in sorted(os.environ.items())
        if key.startswith("CONDUIT_") and key not in RUNNER_SETTINGS and "SECRET" not in key
    }


def describe(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "commit": commit(),
        "cpu": f"{cpu_model()} ({os.cpu_count()} CPUs)",
        "memory": memory_total(),
        "kernel": f"{platform.system()} {platform.release()}",
        "load_average_before": load_average(),
        "wrk": wrk_version(),
        "versions": versions(),
        "server_settings": server_settings(),
        **extra,
    }
