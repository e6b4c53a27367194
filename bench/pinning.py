"""Which CPUs the server and the load generator get, and at which priority.

With at least two CPUs and fewer workers than CPUs, the server's workers get the first CPUs and
wrk the rest, so the two never compete for a core (PostgreSQL is not pinned). With as many workers
as CPUs, nothing is pinned: pinning several workers onto fewer cores would measure the pinning.

On a shared machine, other people's processes land on those CPUs too. As root, the server and wrk
also run at a raised priority (nice -10), so the scheduler gives them their CPUs almost whole, as
a dedicated host would; PostgreSQL keeps its own priority. ``--no-priority`` turns that off.
Where the kernel groups processes by session (``sched_autogroup``), a process's nice only counts
inside its session: the server and wrk then run in sessions of their own, whose group priority is
raised through ``/proc/<pid>/autogroup``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

RAISED_NICE = -10


@dataclass(frozen=True, slots=True)
class Pinning:
    server: str | None  # taskset CPU list, e.g. "0"; None = not pinned
    client: str | None
    client_threads: int
    nice: int = 0  # niceness of the server and wrk; 0 = unchanged

    def describe(self) -> str:
        priority = f", both at nice {self.nice}" if self.nice else ""
        if self.server is None:
            return f"not pinned (fewer than two CPUs, no taskset, or workers >= CPUs){priority}"
        return (
            f"server on CPU {self.server}, wrk on CPU {self.client} (taskset){priority}; "
            "PostgreSQL unpinned"
        )


def plan(workers: int, *, priority: bool = True) -> Pinning:
    nice = RAISED_NICE if priority and os.geteuid() == 0 and shutil.which("nice") else 0
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or workers >= len(cpus) or shutil.which("taskset") is None:
        return Pinning(server=None, client=None, client_threads=min(2, len(cpus)), nice=nice)
    server, client = cpus[:workers], cpus[workers:]
    return Pinning(
        server=_cpu_list(server), client=_cpu_list(client), client_threads=len(client), nice=nice
    )


def pinned(command: list[str], cpus: str | None, nice: int = 0) -> list[str]:
    """``command`` under ``taskset -c cpus`` and ``nice -n`` (children inherit both)."""
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    return command


def raise_session_priority(pid: int, nice: int) -> None:
    """Give the session led by ``pid`` the scheduling weight of ``nice`` (autogroup kernels)."""
    if not nice:
        return
    with contextlib.suppress(OSError):  # no autogroup support, or not allowed: nice -n still holds
        Path(f"/proc/{pid}/autogroup").write_text(str(nice), encoding="ascii")


def _cpu_list(cpus: list[int]) -> str:
    return ",".join(str(cpu) for cpu in cpus)
