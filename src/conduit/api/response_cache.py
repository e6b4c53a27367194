"""Read responses remembered per database snapshot, so they are exact in every process.

A read's response is a function of the request (path, query, caller) and of the data the
database shows it, which PostgreSQL names by the statement's snapshot (``db.snapshots``): the
same snapshot, the same committed data; after any commit, never an earlier snapshot again. So
a response computed after snapshot S was taken is a correct answer to any request that sees S:

- no invalidation to get wrong: a write commits, every later snapshot differs, and the entries
  of older snapshots are never served again, in this process or any other;
- a response is served only to a request that read the same snapshot. If a write committed
  while the response was computed, the response may show it, and every request that can still
  read S began before that commit: it overlaps the write, and may see it or not.

A lookup costs the snapshot instead of the operation's statements, its rows, and building and
serialising the response. Requests share one statement among all who asked while the previous
one was in flight (``db.snapshots.SharedSnapshot``), so a hit takes no connection of its own;
a signed-in caller's account is checked at the same snapshot, from memory if it was already
read at it (``repositories.users.KnownAccesses``), else by a statement that returns its own
snapshot. Routes look their response up before validating parameters and solving dependencies
(``api.deps``): an entry exists only for a request that was valid and succeeded. A miss waits
for that snapshot on top, so when writes keep the snapshot moving and almost every lookup
misses, the cache stands aside for a while (``ResponseCache.active``).

Entries live in the process's memory, bounded in bytes, least recently used first out, and
for ``max_age`` at most. Only operations whose response depends on nothing but the database and
the request take part (``CACHEABLE``): not the current user, whose response carries a token.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from conduit.db.snapshots import snapshot_column
from conduit.repositories._rows import Query

CACHEABLE = frozenset(
    {
        "GetArticles",
        "GetArticlesFeed",
        "GetArticle",
        "GetArticleComments",
        "GetProfileByUsername",
        "GetTags",
    }
)
"""Operations whose response is a function of the request's path, query and caller, and of the
data: the reads of the contract except the current user (its token is issued per request)."""

_SNAPSHOT = Query(select(snapshot_column()))

# Kept, per entry, on top of its body: the key, the headers, the bookkeeping.
_ENTRY_OVERHEAD = 512

Key = tuple[str, bytes, int | None]
Produce = Callable[[], Awaitable[Response]]
# The database's snapshot, read after the request began.
Snapshot = Callable[[], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class _Entry:
    snapshot: str
    stored_at: float
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(n) + len(v) for n, v in self.headers) + _ENTRY_OVERHEAD

    def response(self) -> Response:
        response = Response(self.body, status_code=self.status)
        response.raw_headers = list(self.headers)
        return response


@dataclass(slots=True)
class _Window:
    """Lookups and hits since the window opened."""

    lookups: int = 0
    hits: int = 0


class ResponseCache:
    """Responses by request and snapshot; see the module's docstring.

    ``window`` lookups are judged together: if fewer than ``min_hit_ratio`` of them hit, the
    snapshot is moving too fast for the cache to pay, and it stands aside for ``rest`` seconds.
    """

    def __init__(
        self,
        *,
        max_bytes: int,
        max_age: float,
        window: int = 256,
        min_hit_ratio: float = 0.2,
        rest: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._window_size = window
        self._min_hit_ratio = min_hit_ratio
        self._rest = rest
        self._clock = clock
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._bytes = 0
        self._window = _Window()
        self._resting_until = 0.0
        # Since the process started, for the metrics.
        self.hits = self.misses = self.bypasses = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def resting(self) -> bool:
        """Whether the cache stands aside now, after a run of misses."""
        if self._resting_until and self._clock() < self._resting_until:
            return True
        self._resting_until = 0.0
        return False

    def active(self) -> bool:
        """Whether requests should look here now (not while resting); counts the bypasses."""
        if self.resting():
            self.bypasses += 1
            return False
        return True

    def get(self, key: Key, snapshot: str) -> Response | None:
        """The response stored for ``key`` at exactly ``snapshot``, if any."""
        entry = self._entries.get(key)
        hit = (
            entry is not None
            and entry.snapshot == snapshot
            and self._clock() - entry.stored_at <= self.max_age
        )
        self._count(hit)
        if not hit or entry is None:
            return None
        self._entries.move_to_end(key)
        return entry.response()

    def put(self, key: Key, snapshot: str, response: Response) -> None:
        """Remember a successful response, computed after ``snapshot`` was read."""
        body = getattr(response, "body", None)
        if not 200 <= response.status_code < 300 or not isinstance(body, bytes):
            return
        headers = tuple(response.raw_headers)
        entry = _Entry(snapshot, self._clock(), response.status_code, headers, body)
        if entry.size > self.max_bytes:
            return
        self._drop(key)
        self._entries[key] = entry
        self._bytes += entry.size
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def _count(self, hit: bool) -> None:
        window = self._window
        window.lookups += 1
        if hit:
            window.hits += 1
            self.hits += 1
        else:
            self.misses += 1
        if window.lookups >= self._window_size:
            if window.hits < self._min_hit_ratio * window.lookups:
                self._resting_until = self._clock() + self._rest
            self._window = _Window()

    async def respond(self, request: Request, snapshot: Snapshot, produce: Produce) -> Response:
        """The response to ``request``: remembered at the database's current snapshot (read
        after the request began), or produced (and remembered)."""
        if not self.active():
            return await produce()
        seen = await snapshot()
        cached = self.lookup(request, seen)
        if cached is not None:
            return cached
        return await self.fill(request, seen, produce)

    def lookup(self, request: Request, snapshot: str) -> Response | None:
        """The response stored for ``request`` (its caller already known) at ``snapshot``."""
        return self.get(_key(request), snapshot)

    async def fill(self, request: Request, snapshot: str, produce: Produce) -> Response:
        """The response ``produce`` makes for ``request`` after a miss at ``snapshot``,
        remembered."""
        response = await produce()
        self.put(_key(request), snapshot, response)
        return response


def _key(request: Request) -> Key:
    """Path, query and caller: what, with the snapshot, a cacheable response depends on."""
    viewer = getattr(request.state, "viewer", None)
    scope = request.scope
    return (scope["path"], scope["query_string"], getattr(viewer, "id", None))


async def read_snapshot(session: AsyncSession) -> str:
    """The snapshot of a statement sent on ``session`` now."""
    row = await _SNAPSHOT.first(session, {})
    if row is None:  # pragma: no cover - a SELECT without FROM returns its row
        raise RuntimeError("no snapshot")
    snapshot: str = row["snapshot"]
    return snapshot


class ResponseCacheCollector(Collector):
    """The cache's counters and size, read at scrape time."""

    def __init__(self, cache: ResponseCache) -> None:
        self._cache = cache

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        cache = self._cache
        lookups = CounterMetricFamily(
            "conduit_response_cache_lookups",
            "Cacheable reads by outcome: hit, miss, or bypass (the cache resting).",
            labels=["result"],
        )
        for result, count in (
            ("hit", cache.hits),
            ("miss", cache.misses),
            ("bypass", cache.bypasses),
        ):
            lookups.add_metric([result], float(count))
        yield lookups
        yield GaugeMetricFamily(
            "conduit_response_cache_bytes", "Bytes the cached responses take.", cache.size_bytes
        )
