"""Operational endpoints outside the /api contract: liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from fastapi import FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import Response

from conduit.api.errors import JsonResponse
from conduit.api.observability import Metrics

READINESS_TIMEOUT_SECONDS = 2.0


def _status(ok: bool, checks: dict[str, str]) -> JsonResponse:
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


async def _database_ready(request: Request) -> str:
    async with request.app.state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return "ok"


async def _probe(name: str, probe: Callable[[], Any], checks: dict[str, str]) -> bool:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            checks[name] = await probe()
    except TimeoutError:
        checks[name] = "timeout"
    except Exception:  # any failure of a dependency means "not ready"
        checks[name] = "unreachable"
    return checks[name] == "ok"


def watch_for_shutdown(app: FastAPI) -> None:
    """Flag the app as draining on SIGTERM, then let the server's own handler run.

    uvicorn (and gunicorn's workers) stop accepting connections on SIGTERM but finish the
    requests in flight; /readyz answers 503 from that moment so a load balancer stops routing
    here before the process is gone.

    uvicorn also records the signal and, once drained, raises it again under the default
    handler, so a clean drain would end as "killed by SIGTERM" (status 143), which container
    runtimes and CI report as a failure. The drain is the whole answer to SIGTERM, so the record
    is dropped and a drained server exits 0 (tests/faults/test_graceful_shutdown.py).
    """
    app.state.shutting_down = False
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        app.state.shutting_down = True
        if callable(previous):
            previous(signum, frame)
            captured = getattr(getattr(previous, "__self__", None), "_captured_signals", None)
            if isinstance(captured, list) and signum in captured:
                captured.remove(signum)

    try:
        signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (e.g. tests driving the app in a worker thread)
        return


def install_health(app: FastAPI, metrics: Metrics) -> None:
    async def healthz() -> JsonResponse:
        return _status(True, {})

    async def readyz(request: Request) -> JsonResponse:
        if getattr(request.app.state, "shutting_down", False):
            return _status(False, {"server": "shutting down"})
        checks: dict[str, str] = {}
        ok = await _probe("database", lambda: _database_ready(request), checks)
        redis = getattr(request.app.state, "redis", None)
        if redis is not None:
            ok = await _probe("redis", lambda: _redis_ready(redis), checks) and ok
        return _status(ok, checks)

    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    for path, endpoint in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", prometheus)):
        app.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)


async def _redis_ready(redis: Any) -> str:
    await redis.ping()
    return "ok"
