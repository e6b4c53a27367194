"""The ceiling: a bare ASGI app answering every request with the same precomputed bytes.

The runner captures a real ``GET /api/articles?limit=20`` response (body and content type) and
serves it from here on the same uvicorn stack, workers and CPU pinning as Conduit
(``make serve-ceiling``). No framework, no routing, no I/O: what one Python worker can do at most
on this machine, so Conduit's figures can be read as a share of it.

Two references serve the same bytes from one route of a bare framework app: ``starlette_app``
and ``fastapi_app`` (``make serve-ceiling CEILING_APP=fastapi_app``). Between them and the
ceiling is what the frameworks cost before an application does anything.

    BENCH_CEILING_BODY=<file> BENCH_CEILING_CONTENT_TYPE=application/json uvicorn bench.ceiling:app
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _load() -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = Path(os.environ["BENCH_CEILING_BODY"]).read_bytes()
    content_type = os.environ.get("BENCH_CEILING_CONTENT_TYPE", "application/json")
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    return body, headers


BODY, HEADERS = _load()
START = {"type": "http.response.start", "status": 200, "headers": HEADERS}
RESPONSE = {"type": "http.response.body", "body": BODY}
CONTENT_TYPE = os.environ.get("BENCH_CEILING_CONTENT_TYPE", "application/json")
PATH = "/api/articles"


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    await send(START)
    await send(RESPONSE)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _page() -> Response:
    return Response(BODY, media_type=CONTENT_TYPE)


async def _starlette_page(_: Request) -> Response:
    return await _page()


starlette_app = Starlette(routes=[Route(PATH, _starlette_page)])

fastapi_app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
fastapi_app.get(PATH)(_page)
