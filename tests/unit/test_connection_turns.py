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
