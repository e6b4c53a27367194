"""Argon2id password hashing that never blocks the event loop."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

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


class PasswordHasher:
    """Hash and verify passwords off the event loop (argon2 is ~tens of ms of CPU)."""

    def __init__(self, params: Argon2Params | None = None) -> None:
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
        return await anyio.to_thread.run_sync(self._hash.hash, password)

    async def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """Return (matches, new_hash); new_hash is set when the parameters changed."""
        return await anyio.to_thread.run_sync(self._verify_sync, password, password_hash)

    async def dummy_verify(self, password: str) -> None:
        """Spend the same CPU as a real check so unknown emails are not revealed by timing."""
        await anyio.to_thread.run_sync(self._dummy_verify_sync, password)

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
