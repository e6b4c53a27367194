"""Argon2id password hashing that never blocks the event loop."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

import anyio
import anyio.to_thread
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """OWASP minimum for argon2id (m=19 MiB, t=2, p=1); tests pass cheaper values."""

    memory_cost: int = 19_456
    time_cost: int = 2
    parallelism: int = 1


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity, e.g. under taskset), not the machine's."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class PasswordHasher:
    """Hash and verify passwords off the event loop (argon2 is ~tens of ms of CPU).

    At most ``concurrency`` hashes run at once (default: one per usable CPU). More threads
    than CPUs finish no sooner, but each holds argon2's memory (19 MiB) at the same time and
    takes CPU from the event loop: 64 concurrent logins grew a worker past 800 MiB and stalled
    every other request. The rest wait their turn, cheaply, on the limiter.
    """

    def __init__(
        self, params: Argon2Params | None = None, *, concurrency: int | None = None
    ) -> None:
        self._concurrency = concurrency or usable_cpus()
        self._limiter: anyio.CapacityLimiter | None = None
        p = params or Argon2Params()
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=p.time_cost,
                    memory_cost=p.memory_cost,
                    parallelism=p.parallelism,
                ),
            )
        )

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hash.hash, password, limiter=self._limit())

    async def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """Return (matches, new_hash); new_hash is set when the parameters changed."""
        return await anyio.to_thread.run_sync(
            self._verify_sync, password, password_hash, limiter=self._limit()
        )

    async def dummy_verify(self, password: str) -> None:
        """Spend the same CPU as a real check so unknown emails are not revealed by timing."""
        await anyio.to_thread.run_sync(self._dummy_verify_sync, password, limiter=self._limit())

    def _limit(self) -> anyio.CapacityLimiter:
        # Created on first use, inside the running event loop it belongs to.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._concurrency)
        return self._limiter

    def _verify_sync(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        try:
            return self._hash.verify_and_update(password, password_hash)
        except UnknownHashError:
            return False, None

    def _dummy_verify_sync(self, password: str) -> None:
        # The dummy hash is built on first use inside the worker thread, never on the loop.
        self._verify_sync(password, self._dummy_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        # Computed lazily with the same parameters, so its cost matches real hashes.
        return self._hash.hash("conduit-dummy-password")
