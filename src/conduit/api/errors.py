"""One error body for every failure: ``{"errors": {"<field>": ["message", ...]}}``.

A single table maps domain errors to status codes; request validation errors and Starlette's
own HTTP errors (404 for unknown paths, 405 with ``Allow``) are reshaped into the same body.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from conduit.api.observability import REQUEST_ID_HEADER
from conduit.db.errors import OUTDATED_STATEMENT, SchemaChanged
from conduit.domain import errors as domain

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: Mapping[type[domain.ConduitError], int] = {
    domain.Unauthenticated: 401,
    domain.InvalidCredentials: 401,
    domain.Forbidden: 403,
    domain.NotFound: 404,
    domain.AlreadyExists: 409,
    domain.RequestInProgress: 409,
    domain.CreatedResourceGone: 409,
    domain.PreconditionFailed: 412,
    domain.ValidationFailed: 422,
    domain.RateLimited: 429,
}

# Where a request part is the whole failing thing, the client knows it under these names.
_LOCATION_FALLBACK = {"body": "body", "query": "query", "path": "path", "header": "header"}


class JsonResponse(Response):
    """orjson-rendered JSON; FastAPI's JsonResponse is deprecated."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_body(errors: Mapping[str, Sequence[str]]) -> dict[str, dict[str, list[str]]]:
    """The contract's error shape."""
    return {"errors": {field: list(messages) for field, messages in errors.items()}}


def error_response(
    status: int, field: str, message: str, headers: Mapping[str, str] | None = None
) -> JsonResponse:
    return JsonResponse(error_body({field: [message]}), status_code=status, headers=headers)


def status_for(error: domain.ConduitError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


async def _on_domain_error(_: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, domain.ConduitError)  # noqa: S101 - registered for this class only
    status = status_for(exc)
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": "Token"}
    elif isinstance(exc, domain.RateLimited) and exc.retry_after is not None:
        headers = {"Retry-After": str(max(exc.retry_after, 1))}
    return error_response(status, exc.field, exc.message, headers)


async def _on_validation_error(_: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    return JsonResponse(error_body(validation_messages(exc.errors())), status_code=422)


async def _on_http_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    if exc.status_code == 400 and isinstance(exc.__cause__, (ValueError, RecursionError)):
        # FastAPI reports a body it cannot decode (not UTF-8, nested too deep for the JSON
        # parser) as a bare 400; to the client it is the same mistake as malformed JSON,
        # which the contract documents as 422.
        return error_response(422, "body", "is not valid JSON")
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette's Allow names the methods of the first route on the path only, but every
        # method of a path is a route of its own here (GET and PUT /user, ...).
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail).lower())
    return error_response(exc.status_code, "body", message, headers)


def allowed_methods(request: Request) -> list[str]:
    """The methods of the first path template, in routing order, that matches the request.

    One template is one path item of the contract: `/articles/feed` allows GET only, although
    `/articles/{slug}` matches it too (and no article is ever given the slug `feed`).
    """
    path = request.scope["path"]
    template: str | None = None
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if not route.methods or regex is None or not regex.match(path):
            continue
        template = template or route.path
        if route.path == template:
            methods |= route.methods
    return sorted(methods)


# Seconds a client should wait before retrying while the database is unreachable.
RETRY_AFTER_SECONDS = 1


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database cannot be reached now", not "this request is bad".

    Connecting raises the driver's own errors (refused, timed out, host unknown) or, for a server
    that is starting up or shutting down, SQLAlchemy's wrapper around them; a connection lost
    mid-query, or a pool with no free connection in time, raises SQLAlchemy's. A migration that
    changed the schema under a transaction's prepared statement (``SchemaChanged``) is over by
    the time the client retries.
    """
    if isinstance(exc, sa.TimeoutError | ConnectionError | TimeoutError | socket.gaierror):
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    if isinstance(exc, sa.DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, sa.InterfaceError)
    ):
        return True
    if isinstance(exc, SchemaChanged):
        return True
    origin = exc.orig if isinstance(exc, sa.DBAPIError) else exc
    # The same through the ORM: SQLAlchemy's asyncpg adapter wraps the driver's error.
    if isinstance(getattr(origin, "__cause__", None), OUTDATED_STATEMENT):
        return True
    return isinstance(origin, _DRIVER_UNAVAILABLE) or (
        getattr(origin, "sqlstate", None) in _UNAVAILABLE_SQLSTATES
    )


# asyncpg raises these itself, unwrapped, while connecting to a server that is starting up,
# shutting down or gone.
_DRIVER_UNAVAILABLE = (
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# The same conditions once SQLAlchemy has wrapped them (it keeps the SQLSTATE): shutting down
# (57P01), crashed (57P02), starting up or shutting down (57P03), no free connection slot (53300).
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_NETWORK_ERRNOS = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN})


async def _on_database_error(request: Request, exc: Exception) -> JsonResponse:
    """503 with Retry-After while the database is unreachable; anything else is a bug (500).

    Registered for these classes rather than `Exception` so the response is sent from inside
    the middleware stack: the request log and metrics see the status the client got.
    """
    if not database_unavailable(exc):
        return await _on_unexpected(request, exc)
    logger.warning("database_unavailable", extra={"error": type(exc).__name__})
    return error_response(
        503,
        "body",
        "the service is temporarily unavailable; retry shortly",
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JsonResponse:
    request_id: str | None = getattr(request.state, "request_id", None)
    # The traceback goes to the log, never to the client.
    logger.error(
        "request_failed",
        exc_info=exc,
        extra={"path": request.url.path, "method": request.method, "request_id": request_id},
    )
    # Unhandled errors are answered from outside every middleware (Starlette's outermost
    # ServerErrorMiddleware), so this response brings the security headers and request id itself.
    headers = {**getattr(request.app.state, "security_headers", {}), "Cache-Control": "no-store"}
    if request_id is not None:
        headers[REQUEST_ID_HEADER] = request_id
    return error_response(500, "body", "internal server error", headers)


# Starlette's stock details are title-cased phrases; these read like the rest of the API.
_HTTP_MESSAGES = {
    400: "is malformed",
    404: "not found",
    405: "method not allowed",
}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(domain.ConduitError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for database_error in (
        sa.DBAPIError,
        sa.TimeoutError,
        OSError,
        SchemaChanged,
        *_DRIVER_UNAVAILABLE,
    ):
        app.add_exception_handler(database_error, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)


def validation_messages(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Pydantic's error list, keyed the RealWorld way: by the innermost field name."""
    grouped: dict[str, list[str]] = {}
    for error in errors:
        field = _field_name(error.get("loc", ()), error.get("type", ""))
        message = _message(error)
        bucket = grouped.setdefault(field, [])
        if message not in bucket:
            bucket.append(message)
    return grouped or {"body": ["is invalid"]}


def _field_name(loc: Sequence[Any], error_type: str) -> str:
    names = [part for part in loc if isinstance(part, str)]
    if error_type == "json_invalid" or len(names) <= 1:
        return _LOCATION_FALLBACK.get(names[0], "body") if names else "body"
    return str(names[-1])


def _message(error: Mapping[str, Any]) -> str:
    error_type = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if error_type == "missing":
        return "can't be blank"
    if error_type == "extra_forbidden":
        return "is not a known field"
    if error_type == "json_invalid":
        return "is not valid JSON"
    if error_type == "string_too_short" and ctx.get("min_length") == 1:
        return "can't be blank"
    if error_type == "string_too_long":
        return f"is too long (maximum is {ctx.get('max_length')} characters)"
    if error_type == "too_long":
        return f"has too many items (maximum is {ctx.get('max_length')})"
    if error_type == "string_pattern_mismatch":
        # Pydantic's message quotes the regex, which tells a client nothing useful.
        return "is invalid"
    message = str(error.get("msg", "is invalid"))
    # Lower-case the first letter only: the rest may quote values whose case matters.
    return message[:1].lower() + message[1:]
