"""What Conduit adds to FastAPI's own request spans; installed only when tracing is on.

FastAPI (0.165) traces requests itself once it is given a tracer provider (see
``conduit.main``): a server span per request, named by the route template as routing picks it
(``GET /api/articles/{slug}``), the HTTP semantic-convention attributes, a caller's W3C
``traceparent`` continued, 5xx marked as errors, and spans for dependency resolution, the
endpoint and serialization. It reads no request header into a span but the trace context's.

This middleware, outermost of Conduit's and so inside that span, adds the rest: the span's ids
in every log line of the request, the user id and request id on the span, and no spans at all
for probes and scrapes.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Final

import structlog
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_HEADER_TEMPLATE
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.api.observability import REQUEST_ID_HEADER, viewer_id

# Probes and scrapes run every few seconds and tell nothing about a user's request: no span,
# and their SQL (the readiness check's SELECT 1) makes none either.
UNTRACED_PATHS: Final = frozenset({"/healthz", "/readyz", "/metrics"})
# Semantic conventions' user.id (still incubating, so not among the stable constants).
USER_ID: Final = "user.id"
REQUEST_ID_ATTRIBUTE: Final = f"{HTTP_RESPONSE_HEADER_TEMPLATE}.{REQUEST_ID_HEADER.lower()}"


def untraced(scope: MutableMapping[str, Any]) -> bool:
    """FastAPI's ``exclude``: requests that get no server span."""
    return scope.get("path") in UNTRACED_PATHS


class TraceContext:
    """Tie the request's log lines and its span together, and name the user on the span."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if untraced(scope):
            with suppress_instrumentation():
                await self.app(scope, receive, send)
            return
        span = trace.get_current_span()
        ids = span.get_span_context()
        if not ids.is_valid:
            await self.app(scope, receive, send)
            return

        async def send_traced(message: Message) -> None:
            # Before the answer goes out: FastAPI ends the span once the last byte is sent.
            if message["type"] == "http.response.start":
                request_id = Headers(raw=message.get("headers", [])).get(REQUEST_ID_HEADER)
                if request_id is not None:
                    span.set_attribute(REQUEST_ID_ATTRIBUTE, [request_id])
                user_id = viewer_id(scope)
                if user_id is not None:
                    span.set_attribute(USER_ID, str(user_id))
            await send(message)

        structlog.contextvars.bind_contextvars(
            trace_id=trace.format_trace_id(ids.trace_id), span_id=trace.format_span_id(ids.span_id)
        )
        try:
            await self.app(scope, receive, send_traced)
        finally:
            structlog.contextvars.unbind_contextvars("trace_id", "span_id")
