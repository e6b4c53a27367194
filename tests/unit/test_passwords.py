from __future__ import annotations

import threading

import pytest

from conduit.core.passwords import Argon2Params, PasswordHasher

CHEAP = Argon2Params(memory_cost=8, time_cost=1, parallelism=1)


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(CHEAP)


async def test_hash_is_argon2id_and_verifies(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash("s3cret")
    assert hashed.startswith("$argon2id$")
    assert await hasher.verify("s3cret", hashed) == (True, None)


async def test_wrong_password_does_not_verify(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash("s3cret")
    assert await hasher.verify("S3cret", hashed) == (False, None)


async def test_garbage_hash_does_not_verify(hasher: PasswordHasher) -> None:
    assert await hasher.verify("s3cret", "not-a-hash") == (False, None)


async def test_stronger_params_request_a_rehash(hasher: PasswordHasher) -> None:
    old_hash = await hasher.hash("s3cret")
    stronger = PasswordHasher(Argon2Params(memory_cost=16, time_cost=2, parallelism=1))
    ok, new_hash = await stronger.verify("s3cret", old_hash)
    assert ok
    assert new_hash is not None
    assert "m=16,t=2" in new_hash


async def test_dummy_verify_completes(hasher: PasswordHasher) -> None:
    await hasher.dummy_verify("anything")


def test_default_params_are_owasp_minimum() -> None:
    assert Argon2Params() == Argon2Params(memory_cost=19_456, time_cost=2, parallelism=1)


async def test_hashing_runs_off_the_event_loop_thread(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    original = hasher._hash.hash

    def spy(password: str) -> str:
        threads.append(threading.get_ident())
        return original(password)

    monkeypatch.setattr(hasher._hash, "hash", spy)
    await hasher.hash("s3cret")
    assert threads
    assert threads[0] != threading.get_ident()


async def test_concurrent_hashes_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import anyio

    hasher = PasswordHasher(CHEAP, concurrency=2)
    running = peak = 0
    lock = threading.Lock()
    original = hasher._hash.hash

    def slow(password: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            threading.Event().wait(0.02)
            return original(password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(hasher._hash, "hash", slow)
    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(hasher.hash, "s3cret")
    assert peak == 2
