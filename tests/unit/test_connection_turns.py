from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from conduit.api.deps import TURN, ConnectionTurns


class TestConnectionTurns:
    async def test_a_freed_turn_goes_to_the_longest_waiter_not_a_newcomer(self) -> None:
        turns = ConnectionTurns(1, timeout=5)
        await turns.wait()
        order: list[str] = []

        async def request(name: str) -> None:
            await turns.wait()
            order.append(name)
            turns.done()

        waiting = [asyncio.create_task(request(f"waiter{i}")) for i in range(3)]
        await asyncio.sleep(0)
        turns.done()
        newcomer = asyncio.create_task(request("newcomer"))
        await asyncio.gather(*waiting, newcomer)

        assert order == ["waiter0", "waiter1", "waiter2", "newcomer"]

    async def test_waiting_past_the_pool_timeout_is_the_pool_timeout_error(self) -> None:
        turns = ConnectionTurns(1, timeout=0.01)
        await turns.wait()

        with pytest.raises(PoolTimeout):
            await turns.wait()

    async def test_a_waiter_that_gives_up_loses_no_turn(self) -> None:
        turns = ConnectionTurns(1, timeout=5)
        await turns.wait()
        quitter = asyncio.create_task(turns.wait())
        stayer = asyncio.create_task(turns.wait())
        await asyncio.sleep(0)
        quitter.cancel()
        await asyncio.sleep(0)
        turns.done()
        await asyncio.wait_for(stayer, 1)  # the freed turn skipped the cancelled waiter
        turns.done()
        await asyncio.wait_for(turns.wait(), 1)  # and nothing leaked: the one turn is back

    async def test_a_turn_handed_to_a_cancelled_waiter_is_passed_on(self) -> None:
        turns = ConnectionTurns(1, timeout=5)
        await turns.wait()
        first = asyncio.create_task(turns.wait())
        second = asyncio.create_task(turns.wait())
        await asyncio.sleep(0)
        turns.done()  # handed to `first`, which is cancelled before it runs
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await asyncio.wait_for(second, 1)

    async def test_every_waiter_past_the_timeout_fails_and_later_ones_still_wait(self) -> None:
        turns = ConnectionTurns(1, timeout=0.05)
        await turns.wait()
        early = [asyncio.create_task(turns.wait()) for _ in range(3)]
        await asyncio.sleep(0.03)
        late = asyncio.create_task(turns.wait())
        results = await asyncio.gather(*early, return_exceptions=True)
        assert all(isinstance(result, PoolTimeout) for result in results)
        assert not late.done()
        turns.done()
        await asyncio.wait_for(late, 1)

    async def test_a_turn_ends_with_the_sessions_transaction(self) -> None:
        engine = create_async_engine("sqlite+aiosqlite://")
        turns = ConnectionTurns(1, timeout=0.01)
        try:
            await turns.wait()
            async with AsyncSession(engine) as session:
                session.sync_session.info[TURN] = turns
                await session.execute(text("SELECT 1"))
                await session.commit()  # as a login does before hashing

                await turns.wait()  # free again, while the session lives on
                turns.done()
        finally:
            await engine.dispose()
