"""IdempotencyService on both backends, with the clock and the timeouts in the test's hands."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conduit.db.models import IdempotencyKey
from conduit.db.types import utc_now
from conduit.domain.errors import RequestInProgress, ValidationFailed
from conduit.domain.idempotency import Claim, StoredResponse
from conduit.services.idempotency import PURGE_BATCH, IdempotencyService
from tests.factories import Factory
from tests.integration.api import count_rows

TTL = timedelta(seconds=60)
LOCK_TIMEOUT = timedelta(seconds=10)
BODY = '{"article": {"slug": "a"}}'


class Clock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> IdempotencyService:
    return IdempotencyService(
        session, session_factory, ttl=TTL, lock_timeout=LOCK_TIMEOUT, clock=clock
    )


@pytest.fixture
async def user_id(factory: Factory) -> int:
    return (await factory.user()).id


async def claimed(service: IdempotencyService, user_id: int, key: str = "k") -> Claim:
    outcome = await service.claim(user_id=user_id, key=key, fingerprint="f")
    assert isinstance(outcome, Claim), outcome
    return outcome


class TestClaim:
    async def test_a_completed_key_gives_its_response(
        self, service: IdempotencyService, session: AsyncSession, user_id: int
    ) -> None:
        claim = await claimed(service, user_id)
        await service.complete(claim, status=201, body=BODY)
        await session.commit()

        outcome = await service.claim(user_id=user_id, key="k", fingerprint="f")

        assert outcome == StoredResponse(201, BODY)

    async def test_another_fingerprint_is_refused(
        self, service: IdempotencyService, user_id: int
    ) -> None:
        await claimed(service, user_id)

        with pytest.raises(ValidationFailed) as refused:
            await service.claim(user_id=user_id, key="k", fingerprint="other")

        assert refused.value.field == "Idempotency-Key"

    async def test_a_running_request_holds_its_key_until_the_lock_timeout(
        self, service: IdempotencyService, clock: Clock, user_id: int
    ) -> None:
        await claimed(service, user_id)
        clock.now += LOCK_TIMEOUT - timedelta(milliseconds=1)

        with pytest.raises(RequestInProgress):
            await service.claim(user_id=user_id, key="k", fingerprint="f")

    async def test_a_stalled_request_loses_its_key_to_a_retry(
        self, service: IdempotencyService, session: AsyncSession, clock: Clock, user_id: int
    ) -> None:
        stalled = await claimed(service, user_id)
        clock.now += LOCK_TIMEOUT

        retry = await claimed(service, user_id)

        assert retry.id == stalled.id and retry.token != stalled.token
        with pytest.raises(RequestInProgress):  # the stalled holder can no longer complete it
            await service.complete(stalled, status=201, body=BODY)
        await service.complete(retry, status=201, body=BODY)

    async def test_a_released_key_can_be_claimed_again(
        self, service: IdempotencyService, user_id: int
    ) -> None:
        first = await claimed(service, user_id)
        await service.release(first)

        again = await service.claim(user_id=user_id, key="k", fingerprint="other request")

        assert isinstance(again, Claim)

    async def test_a_stale_holder_cannot_release_the_new_holders_claim(
        self, service: IdempotencyService, clock: Clock, user_id: int
    ) -> None:
        stalled = await claimed(service, user_id)
        clock.now += LOCK_TIMEOUT
        await claimed(service, user_id)

        await service.release(stalled)

        with pytest.raises(RequestInProgress):
            await service.claim(user_id=user_id, key="k", fingerprint="f")


class TestExpiry:
    async def test_a_key_expires_after_the_ttl(
        self, service: IdempotencyService, session: AsyncSession, clock: Clock, user_id: int
    ) -> None:
        await service.complete(await claimed(service, user_id), status=201, body=BODY)
        await session.commit()
        clock.now += TTL - timedelta(milliseconds=1)
        assert isinstance(
            await service.claim(user_id=user_id, key="k", fingerprint="f"), StoredResponse
        )

        clock.now += timedelta(milliseconds=1)
        outcome = await service.claim(user_id=user_id, key="k", fingerprint="another request")

        assert isinstance(outcome, Claim)

    async def test_claims_purge_expired_keys_in_bounded_batches(
        self,
        service: IdempotencyService,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        user_id: int,
    ) -> None:
        for n in range(PURGE_BATCH + 5):
            await claimed(service, user_id, key=f"old-{n}")
        clock.now += TTL

        await claimed(service, user_id, key="new")
        assert await count_rows(session_factory, IdempotencyKey) == 5 + 1
        await claimed(service, user_id, key="newer")
        assert await count_rows(session_factory, IdempotencyKey) == 2
