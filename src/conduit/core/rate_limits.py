"""Rate limiting on the `limits` library: quotas, their storage, and the decision for one request.

Counters live in process memory by default. With a Redis client they live in Redis, so every
server process shares them. Which operations a quota covers, and who it counts against, is the
API layer's business (``conduit.api.rate_limits``); this module knows nothing of HTTP.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.errors import StorageError
from redis.asyncio import Redis

logger = structlog.get_logger(__name__)

Strategy = Literal["moving-window", "sliding-window-counter", "fixed-window"]
_STRATEGIES: Mapping[Strategy, Callable[[Storage], RateLimiter]] = {
    # Exact: at most N requests in any window of the period, e.g. any 60 seconds.
    "moving-window": MovingWindowRateLimiter,
    # Approximate, cheaper: the current window plus a weighted share of the previous one.
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
    # Cheapest: one counter per window, so up to 2N around a window's boundary.
    "fixed-window": FixedWindowRateLimiter,
}


def parse_limits(value: str) -> tuple[RateLimitItem, ...]:
    """``"10/minute;100/hour"`` as limit items; ``ValueError`` when malformed, empty or zero
    (turning limiting off is ``CONDUIT_RATE_LIMIT_ENABLED=false``, not a limit of 0)."""
    items = tuple(parse_many(value))
    if not items or any(item.amount < 1 for item in items):
        raise ValueError(f"not a usable rate limit: {value!r}")
    return items


@dataclass(frozen=True, slots=True)
class Quota:
    """A named budget of requests, e.g. ``login``: 10 a minute and 100 an hour."""

    name: str
    items: tuple[RateLimitItem, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether one request fits its quota, and the state of the quota after it."""

    allowed: bool
    limit: int
    remaining: int
    # Seconds until the quota has room again (the draft RateLimit-Reset: delta seconds).
    reset_after: int

    def headers(self) -> dict[str, str]:
        """The RateLimit-* fields (IETF httpapi draft), plus Retry-After when refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(self.reset_after, 1))
        return headers


class QuotaLimiter:
    """Counts hits against quotas in memory or, once ``use_redis`` is called, in Redis."""

    def __init__(self, *, strategy: Strategy, key_prefix: str) -> None:
        self._strategy = strategy
        self._key_prefix = key_prefix
        self._limiter = self._build(MemoryStorage())

    def use_redis(self, client: Redis, url: str) -> None:
        """Keep the counters in Redis, over ``client``'s connection pool (owned by the caller)."""
        # limits types its pass-through options as scalars; the pool is documented and supported.
        options: dict[str, Any] = {"connection_pool": client.connection_pool}
        storage = RedisStorage(
            f"async+{url}",
            implementation="redispy",
            key_prefix=self._key_prefix,
            wrap_exceptions=True,
            **options,
        )
        self._limiter = self._build(storage)

    def _build(self, storage: Storage) -> RateLimiter:
        return _STRATEGIES[self._strategy](storage)

    async def hit(self, quota: Quota, identity: str) -> Decision | None:
        """Count one request by ``identity`` against ``quota``.

        With several limits (per minute, per hour) the answer is about the first one refused,
        or else the one closest to running out. ``None`` when the storage cannot be reached:
        limiting then fails open, so an unreachable Redis degrades protection, not service
        (/readyz reports Redis as unreachable meanwhile).
        """
        decisions: list[Decision] = []
        try:
            for item in quota.items:
                allowed = await self._limiter.hit(item, quota.name, identity)
                stats = await self._limiter.get_window_stats(item, quota.name, identity)
                reset_after = max(math.ceil(stats.reset_time - time.time()), 0)
                remaining = max(stats.remaining, 0)
                decisions.append(Decision(allowed, item.amount, remaining, reset_after))
                if not allowed:
                    return decisions[-1]
        except StorageError as error:
            logger.warning(
                "rate_limit_storage_unavailable",
                quota=quota.name,
                error=type(error.storage_error).__name__,
            )
            return None
        return min(decisions, key=lambda decision: decision.remaining)


def client_identity(host: str | None) -> str:
    """The key of a client address: the address itself, or its /64 network for IPv6.

    One IPv6 client commonly holds a whole /64, so counting single addresses would give it
    2**64 budgets. IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
    """
    if not host:
        return "ip:unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"ip:{host}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"ip:{address}"
