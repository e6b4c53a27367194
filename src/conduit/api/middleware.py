"""ASGI middleware that must see a request before FastAPI reads it."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.api.errors import error_response


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413, before they are read whole.

    A declared ``Content-Length`` over the limit is refused without reading a byte. A body
    without one (chunked) is counted as it streams in, and reading stops at the limit: the
    ``HTTPException`` raised from ``receive`` reaches FastAPI's body reader, which re-raises it
    to the error handlers, so the client gets the contract's error body.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        # A malformed Content-Length never gets here: the HTTP server refuses it first.
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, "body", self._message())(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _message(self) -> str:
        return f"request body is larger than {self.max_bytes} bytes"

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._message())
            return message

        return limited_receive
