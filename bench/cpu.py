"""CPU used during a timed run, as a share of one core: by the server, PostgreSQL and wrk.

A CPU-bound server shows ~100% on its pinned core; less means it waited (on the database, or
because something else ran there: the machine is shared). "database" is the PostgreSQL backends
connected to the benchmark database only (not other databases' load on the same server). wrk near
100% means the load generator, not the server, set the pace, which matters most for the ceiling.
"others" is how busy the pinned CPUs were with anything but the server (on the server's CPUs) or
wrk (on wrk's): PostgreSQL, the kernel, other people's work on a shared machine. High values there
are noise under a figure: a starved wrk caps even the ceiling.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    server_s: float
    database_s: dict[int, float]  # per backend: backends come and go between samples
    children_s: float  # reaped children of this process: the wrk runs
    server_cpus_busy_s: float  # all work on the server's pinned CPUs
    client_cpus_busy_s: float  # all work on wrk's pinned CPUs


@dataclass(frozen=True, slots=True)
class Usage:
    """Shares of one core over the interval (1.0 = one core fully busy)."""

    server: float
    database: float
    wrk: float
    others_on_server_cpus: float  # 0 when nothing is pinned
    others_on_client_cpus: float


def process_seconds(pid: int) -> float:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0.0
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND  # utime + stime


def settle(pids: Iterable[int], *, idle_share: float, window_s: float, limit_s: float) -> float:
    """Wait until ``pids`` use less than ``idle_share`` of a core over ``window_s``; seconds waited.

    wrk stops without waiting for answers, and the server still works through what was in
    flight (64 argon2 hashes take seconds): the next scenario must not inherit that load.
    """
    started = time.monotonic()
    watched = tuple(pids)
    while time.monotonic() - started < limit_s:
        before = sum(process_seconds(pid) for pid in watched)
        time.sleep(window_s)
        if sum(process_seconds(pid) for pid in watched) - before < idle_share * window_s:
            break
    return time.monotonic() - started


def _backends(database: str | None) -> list[int]:
    """PostgreSQL backends connected to ``database`` (their title names it)."""
    if database is None:
        return []
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text(encoding="ascii").strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f" {database} " in title:
            pids.append(int(entry.name))
    return pids


def _busy_seconds(cpus: str | None) -> float:
    """Non-idle time of the given CPUs ("0" or "0,1"), from /proc/stat."""
    if cpus is None:
        return 0.0
    wanted = {f"cpu{cpu}" for cpu in cpus.split(",")}
    busy = 0
    for line in Path("/proc/stat").read_text(encoding="ascii").splitlines():
        name, *values = line.split()
        if name in wanted:
            ticks = [int(v) for v in values]
            busy += sum(ticks[:8]) - ticks[3] - ticks[4]  # minus idle and iowait
    return busy / TICKS_PER_SECOND


def sample(
    server_pids: Iterable[int],
    database: str | None,
    server_cpus: str | None,
    client_cpus: str | None,
) -> Sample:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Sample(
        at=time.monotonic(),
        server_s=sum(process_seconds(pid) for pid in server_pids),
        database_s={pid: process_seconds(pid) for pid in _backends(database)},
        children_s=children.ru_utime + children.ru_stime,
        server_cpus_busy_s=_busy_seconds(server_cpus),
        client_cpus_busy_s=_busy_seconds(client_cpus),
    )


def usage(before: Sample, after: Sample) -> Usage:
    wall = max(after.at - before.at, 1e-9)
    database = sum(
        seconds - before.database_s.get(pid, 0.0) for pid, seconds in after.database_s.items()
    )
    server = (after.server_s - before.server_s) / wall
    wrk = (after.children_s - before.children_s) / wall
    server_cpus = (after.server_cpus_busy_s - before.server_cpus_busy_s) / wall
    client_cpus = (after.client_cpus_busy_s - before.client_cpus_busy_s) / wall
    return Usage(
        server=server,
        database=database / wall,
        wrk=wrk,
        others_on_server_cpus=max(server_cpus - server, 0.0) if server_cpus else 0.0,
        others_on_client_cpus=max(client_cpus - wrk, 0.0) if client_cpus else 0.0,
    )
