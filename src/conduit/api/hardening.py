"""Response hardening: security headers on every response, and CORS from an allow-list.

The API serves JSON only, so its Content-Security-Policy allows nothing at all; the two HTML
pages (/docs, /redoc) send a policy of their own (api/docs.py), which is kept. Responses to
authenticated requests, and every /api response, are ``no-store``: they depend on the caller
(``following``, ``favorited``) and change with every write, so no cache may keep them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.api.errors import error_response
from conduit.api.observability import REQUEST_ID_HEADER
from conduit.core.settings import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
NO_STORE = "no-store"

# What a RealWorld front end on another origin needs: the contract's methods, its two request
# headers (and a request id of its own, echoed back), and the headers of a 429 to read.
CORS_METHODS = ("GET", "POST", "PUT", "DELETE")
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    REQUEST_ID_HEADER,
    "Idempotency-Key",
    "If-Match",
)
CORS_EXPOSED_HEADERS = (
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    REQUEST_ID_HEADER,
    "ETag",
    "Idempotent-Replayed",
)


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers every response carries unless it sets its own."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": API_CSP,
    }
    if settings.hsts_seconds > 0:
        headers["Strict-Transport-Security"] = f"max-age={settings.hsts_seconds}"
    return headers


class SecurityHeaders:
    """Add ``headers`` to every response that lacks them, and ``no-store`` where it belongs."""

    def __init__(self, app: ASGIApp, *, headers: Mapping[str, str], api_prefix: str) -> None:
        self.app = app
        # Encoded once, as MutableHeaders.setdefault would encode them on every response.
        self.raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
        ]
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authenticated = any(name == b"authorization" for name, _ in scope["headers"])
        path: str = scope["path"]
        api = path == self.api_prefix or path.startswith(self.api_prefix + "/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # One pass for what setdefault per header did in one pass each: add those the
                # response does not set itself, in the same order.
                present = {name for name, _ in headers.raw}
                headers.raw.extend(pair for pair in self.raw_headers if pair[0] not in present)
                if authenticated:
                    headers["Cache-Control"] = NO_STORE
                elif api:
                    headers.setdefault("Cache-Control", NO_STORE)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Cors(CORSMiddleware):
    """Starlette's CORS, with refused preflights in the contract's error shape."""

    def __init__(self, app: ASGIApp, *, origins: Collection[str]) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        # Starlette says what it refused ("Disallowed CORS origin, headers") in plain text.
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in {"content-length", "content-type"}
        }
        message = f"cross-origin request refused ({refused})"
        return error_response(response.status_code, "body", message, headers)
