"""Rate limits per operation: login and registration per client address, writes per user.

A pure ASGI middleware, so a request over its quota is refused with 429 before its body is
read, a token verified against the database, or a session opened. Which operations a quota
covers comes from the contract's manifest: every authenticated operation other than a GET is a
write, so a new operation is covered the moment it is generated.

The client address is the ASGI client address. Behind a reverse proxy that is the proxy's,
unless uvicorn is told to trust it (``--proxy-headers --forwarded-allow-ips=<proxy>``); this
module never reads X-Forwarded-For itself, which any client can write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.api.errors import error_response
from conduit.api.routing import OperationIndex
from conduit.core.rate_limits import Quota, QuotaLimiter, client_identity, parse_limits
from conduit.core.security import TokenCodec, token_from_header
from conduit.core.settings import Settings
from conduit.domain.errors import Unauthenticated
from generated.manifest import OPERATIONS, SECURITY

logger = structlog.get_logger(__name__)

# Operations limited per client address whatever the caller, by operationId.
_CLIENT_QUOTAS = {"Login": "login", "CreateUser": "register"}
# No operation of these methods writes: they are never counted (CORS preflights included).
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class OperationQuota:
    quota: Quota
    # "user": the caller's user id when its token is valid, else its address (it gets 401).
    per: Literal["client", "user"]


def quotas_by_operation(settings: Settings) -> dict[str, OperationQuota]:
    """The quota of every limited operation, by operationId."""
    client = {
        "login": OperationQuota(Quota("login", parse_limits(settings.rate_limit_login)), "client"),
        "register": OperationQuota(
            Quota("register", parse_limits(settings.rate_limit_register)), "client"
        ),
    }
    writes = OperationQuota(Quota("writes", parse_limits(settings.rate_limit_writes)), "user")
    quotas: dict[str, OperationQuota] = {}
    for operation_id, operation in OPERATIONS.items():
        if operation_id in _CLIENT_QUOTAS:
            quotas[operation_id] = client[_CLIENT_QUOTAS[operation_id]]
        elif operation.method not in _READ_METHODS and SECURITY[operation_id] != "public":
            quotas[operation_id] = writes
    return quotas


class RateLimit:
    """Count each request of a limited operation; 429 with Retry-After once over the quota.

    Every counted response carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: QuotaLimiter,
        quotas: Mapping[str, OperationQuota],
        operations: OperationIndex,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.quotas = quotas
        self.operations = operations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READ_METHODS:
            await self.app(scope, receive, send)
            return
        operation = self.operations.find(scope)
        limited = self.quotas.get(operation.operation_id) if operation else None
        if limited is None:
            await self.app(scope, receive, send)
            return
        identity = self._identity(limited, scope)
        decision = await self.limiter.hit(limited.quota, identity)
        if decision is None:  # storage unreachable: fail open (logged by the limiter)
            await self.app(scope, receive, send)
            return
        headers = decision.headers()
        if not decision.allowed:
            logger.info("rate_limited", quota=limited.quota.name, identity=identity)
            message = f"too many requests, retry in {headers['Retry-After']} seconds"
            await error_response(429, "body", message, headers)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _identity(self, limited: OperationQuota, scope: Scope) -> str:
        if limited.per == "user":
            user_id = _user_id(scope)
            if user_id is not None:
                return f"user:{user_id}"
        client = scope.get("client")
        return client_identity(client[0] if client else None)


def _user_id(scope: Scope) -> int | None:
    """The user a request's token names, if the token is genuine (signature, expiry, issuer).

    Only a verified token may choose the bucket: an unverified ``sub`` would let anyone spend
    another user's quota. Revocation is not checked here (it needs the database); a revoked
    token still only spends its own user's quota, and the route answers it with 401.
    """
    tokens: TokenCodec = scope["app"].state.tokens
    try:
        token = token_from_header(Headers(scope=scope).get("authorization"))
        return tokens.verify(token).user_id if token is not None else None
    except Unauthenticated:
        return None
