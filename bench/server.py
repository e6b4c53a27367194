"""Starting the server the way production runs it (``make serve``), and watching its memory.

The make process leads its own process group; uvicorn (and, with several workers, uvicorn's
worker processes) run inside it. Stopping sends SIGTERM to the group, then SIGKILL after a grace
period, like the end-to-end tests' live server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.pinning import pinned, raise_session_priority

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_SECONDS = 180.0  # migrations on a large database included
STOP_TIMEOUT_SECONDS = 15.0
# An outer make (make bench, make test) exports these; the inner make must not inherit them.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL")


class ServerFailed(RuntimeError):
    """The server exited or did not answer in time."""


@dataclass(frozen=True, slots=True)
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path


@dataclass(frozen=True, slots=True)
class Memory:
    """One process, KiB: VmHWM is its peak resident set so far, VmRSS the current one."""

    pid: int
    role: str
    peak_kib: int
    current_kib: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def clean_environment(overrides: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES}
    env.update(overrides)
    return env


def start(
    target: str,
    *,
    workers: int,
    env: dict[str, str],
    cpus: str | None,
    log: Path,
    nice: int = 0,
    ready_path: str = "/api/tags",
) -> Server:
    """``make <target>`` on a free port, pinned to ``cpus`` at ``nice``; returns once it answers
    ``GET ready_path`` with 200."""
    port = free_port()
    # -o .venv/.installed: the environment is already installed (make bench and make test
    # depend on it); re-syncing it under a running interpreter would be unsafe.
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", target]
    command += [f"HOST={HOST}", f"PORT={port}", f"WORKERS={workers}"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed command line, no shell
            pinned(command, cpus, nice),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    raise_session_priority(process.pid, nice)
    server = Server(process=process, base_url=f"http://{HOST}:{port}", log=log)
    try:
        _wait_until_answering(server, ready_path)
    except BaseException:
        stop(server)
        raise
    return server


def _wait_until_answering(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(f"server exited with {server.process.returncode}:\n{tail(server)}")
        try:
            if httpx.get(f"{server.base_url}{path}", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise ServerFailed(
        f"server did not answer within {START_TIMEOUT_SECONDS:.0f}s:\n{tail(server)}"
    )


def tail(server: Server, lines: int = 30) -> str:
    text = server.log.read_text(encoding="utf-8", errors="replace") if server.log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def stop(server: Server) -> None:
    group = server.process.pid
    _signal_group(group, signal.SIGTERM)
    if not _group_exited(server.process, group, STOP_TIMEOUT_SECONDS):
        _signal_group(group, signal.SIGKILL)
        _group_exited(server.process, group, STOP_TIMEOUT_SECONDS)
    server.process.wait()


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _group_exited(process: subprocess.Popen[bytes], group: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        process.poll()
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


# -- processes and memory ---------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) from /proc/<pid>/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[2])


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _is_python(pid: int) -> bool:
    argv0 = _cmdline(pid).split(" ", 1)[0]
    return Path(argv0).name.startswith("python")


def server_processes(server: Server) -> dict[int, str]:
    """pid -> role ("worker", or "supervisor" for uvicorn's parent when it has workers)."""
    group = server.process.pid
    members: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == group:
            members[int(entry.name)] = stat[0]
    uvicorn = [pid for pid in members if _is_python(pid) and "uvicorn" in _cmdline(pid)]
    workers = [
        pid
        for pid, parent in members.items()
        if parent in uvicorn and "spawn_main" in _cmdline(pid)
    ]
    if not workers:
        return {pid: "worker" for pid in uvicorn}
    return {**{pid: "supervisor" for pid in uvicorn}, **{pid: "worker" for pid in workers}}


def memory(pid: int, role: str) -> Memory | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0])
    if len(values) < 2:
        return None
    return Memory(pid=pid, role=role, peak_kib=values["VmHWM"], current_kib=values["VmRSS"])


def memory_snapshot(server: Server) -> list[Memory]:
    snapshot = (memory(pid, role) for pid, role in sorted(server_processes(server).items()))
    return [m for m in snapshot if m is not None]


def cpus_allowed(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return "?"
    for line in status.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return "?"
