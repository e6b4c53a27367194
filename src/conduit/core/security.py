"""JSON Web Tokens: issuing and verifying the tokens clients send as ``Authorization``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pydantic import SecretStr

from conduit.domain.errors import Unauthenticated

# Pinned: a token's header never chooses how it is verified (no "none", no RS/HS confusion).
_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
_SCHEMES = frozenset({"token", "bearer"})


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What Conduit trusts from a verified token."""

    user_id: int
    issued_at: datetime
    token_id: str


class TokenCodec:
    """Signs and verifies Conduit's JWTs with one shared secret."""

    def __init__(self, *, secret: SecretStr, issuer: str, audience: str, ttl: timedelta) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl

    def issue(self, user_id: int, *, now: datetime | None = None) -> str:
        """A signed token for ``user_id``, valid for the configured lifetime."""
        issued = now or datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret.get_secret_value(), algorithm=_ALGORITHM)

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token; ``Unauthenticated`` for anything else."""
        try:
            claims = jwt.decode(
                token,
                self._secret.get_secret_value(),
                algorithms=[_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
            user_id = int(claims["sub"])
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Unauthenticated(field="token", message="is missing or invalid") from exc
        return TokenClaims(
            user_id=user_id,
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            token_id=str(claims["jti"]),
        )


def token_from_header(value: str | None) -> str | None:
    """The token in an ``Authorization`` header value (``Token x`` or ``Bearer x``).

    ``None`` when there is no header; ``Unauthenticated`` when it is there but malformed,
    because a client that sends credentials expects them to be checked.
    """
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in _SCHEMES or not token or " " in token:
        raise Unauthenticated(field="token", message="is missing or invalid")
    return token
