"""Per-request observability: request ids, one log line per request, Prometheus metrics."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is echoed into logs and headers, so only short, plain ones are taken as they are.
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Requests that match no route share one label, so a scan of random paths cannot grow the
# metric's cardinality without bound.
UNMATCHED_ROUTE = "<unmatched>"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The process's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "conduit_http_requests",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "conduit_http_request_duration_seconds",
            "HTTP request latency by route template and method.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Bounded: routes are templates (unmatched paths share one label) and statuses are few.
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        """Count one request and its latency."""
        # Labelled children are looked up once per label set and kept: resolving them through
        # labels() on every request cost more than the increments.
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        counter, histogram = children
        counter.inc()
        histogram.observe(elapsed)

    def watch_pool(self, engine: AsyncEngine) -> None:
        self.registry.register(PoolCollector(engine))


class PoolCollector(Collector):
    """Database pool usage, read from the pool at scrape time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool: Any = self._engine.sync_engine.pool
        for name, doc, reader in (
            ("size", "Connections the pool keeps open.", "size"),
            ("checked_out", "Connections in use by requests.", "checkedout"),
            ("overflow", "Connections opened beyond the pool size.", "overflow"),
        ):
            method = getattr(pool, reader, None)
            if callable(method):
                yield GaugeMetricFamily(f"conduit_db_pool_{name}", doc, value=float(method()))


def request_id_from(headers: Headers) -> str:
    candidate = headers.get(REQUEST_ID_HEADER)
    if candidate is not None and _CLIENT_REQUEST_ID.match(candidate):
        return candidate
    # 128 random bits as 32 hex digits, like uuid4().hex less the UUID object built around them.
    return os.urandom(16).hex()


def route_template(scope: Scope) -> str:
    """The matched route's template with its mount prefix, e.g. ``/api/articles/{slug}``.

    A route included from a router knows only its own part of the path. Path parameters never
    span a ``/``, so the prefix is the request path's leading segments that the template lacks.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED_ROUTE
    segments = scope["path"].split("/")
    prefix = "/".join(segments[: len(segments) - template.count("/")])
    return prefix + template


def viewer_id(scope: Scope) -> int | None:
    viewer = scope.get("state", {}).get("viewer")
    user_id = getattr(viewer, "id", None)
    return user_id if isinstance(user_id, int) else None


class RequestObservability:
    """Give every request an id (echoed as X-Request-ID), log it once, and count it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope))
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        # Kept on the request too: a 500 is answered outside this middleware (Starlette's
        # ServerErrorMiddleware), after the id has left the log context.
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        method, route = scope["method"], route_template(scope)
        self.metrics.observe(method, route, status, elapsed)
        logger.info(
            "request_finished",
            method=method,
            route=route,
            status=status,
            duration_ms=round(elapsed * 1000, 2),
            user_id=viewer_id(scope),
        )
