"""ASGI middleware that must see a request before FastAPI reads it."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.api.errors import error_response
from conduit.api.routing import OperationIndex


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


class RequireJsonBody:
    """Refuse a body that is not declared JSON with 415, on the operations that take one.

    ``application/json`` and the ``application/*+json`` types are JSON, with no charset or
    ``charset=utf-8`` (RFC 8259: JSON on the wire is UTF-8). A body without a Content-Type is
    refused too: guessing the type of a body is how content sniffing starts. Requests without a
    body are left to the operation (422 when it requires one), and so is any request FastAPI will
    not route to an operation (404, 405).
    """

    def __init__(self, app: ASGIApp, *, operations: OperationIndex) -> None:
        self.app = app
        self.operations = operations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if _has_body(headers) and not is_json(headers.get("content-type")):
            operation = self.operations.find(scope)
            if operation is not None and operation.takes_body:
                response = error_response(
                    415,
                    "body",
                    "must be sent as application/json",
                    {"Accept": "application/json"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() != "0"
    return "transfer-encoding" in headers


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type value declares UTF-8 JSON."""
    if content_type is None:
        return False
    media_type, *parameters = (part.strip() for part in content_type.split(";"))
    kind, _, subtype = media_type.lower().partition("/")
    json = subtype == "json" or (subtype.endswith("+json") and len(subtype) > len("+json"))
    if kind != "application" or not json:
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            return False
    return True
