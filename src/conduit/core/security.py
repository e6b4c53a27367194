"""JSON Web Tokens: issuing and verifying the tokens clients send as ``Authorization``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pydantic import SecretStr

from conduit.domain.errors import Unauthenticated

# Pinned: a token's header never chooses how it is verified (no "none", no RS/HS confusion).
_ALGORITHM = "HS256"
# `ver`: the account's token version when the token was issued; an older one is revoked.
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "ver"]
_SCHEMES = frozenset({"token", "bearer"})
# How many verified tokens a process remembers (a few hundred bytes each).
_VERIFIED_TOKENS = 4096


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One HS256 secret and the key id (`kid` header) that names it in tokens."""

    kid: str
    secret: SecretStr


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What Conduit trusts from a verified token."""

    user_id: int
    issued_at: datetime
    token_id: str
    version: int


def _invalid() -> Unauthenticated:
    return Unauthenticated(field="token", message="is missing or invalid")


class TokenCodec:
    """Signs with the first key and verifies with any configured key, chosen by `kid`.

    Rotation: put a new key first and keep the old one after it; tokens signed with the old key
    keep working until they expire or the old key is removed (then they get 401).
    """

    def __init__(
        self, *, keys: Sequence[SigningKey], issuer: str, audience: str, ttl: timedelta
    ) -> None:
        if not keys:
            raise ValueError("at least one signing key is required")
        if len({key.kid for key in keys}) != len(keys):
            raise ValueError("key ids must be unique")
        self._signing = keys[0]
        self._keys = {key.kid: key.secret for key in keys}
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl
        # Verified tokens and their expiry: a client sends the same token with every request,
        # and checking its signature and claims again cost more than the rest of a small
        # request's authentication. Keys are fixed for the codec's lifetime, so a token that
        # verified once stays valid until it expires.
        self._verified: dict[str, tuple[TokenClaims, float]] = {}

    def issue(self, user_id: int, *, version: int = 0, now: datetime | None = None) -> str:
        """A signed token for ``user_id`` at ``version``, valid for the configured lifetime."""
        issued = now or datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self._ttl,
            "jti": uuid.uuid4().hex,
            "ver": version,
        }
        return jwt.encode(
            claims,
            self._signing.secret.get_secret_value(),
            algorithm=_ALGORITHM,
            headers={"kid": self._signing.kid},
        )

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token; ``Unauthenticated`` for anything else.

        Signature, expiry and revocation are all checked as 401s; whether the token's version is
        still the account's is for the caller to check (it needs the database).
        """
        now = time.time()
        known = self._verified.get(token)
        if known is not None:
            claims, expires = known
            if now < expires:
                return claims
            del self._verified[token]
        claims, expires, valid_from = self._decode(token)
        # Only a token already in force is remembered: then only its expiry can change.
        if valid_from <= now:
            if len(self._verified) >= _VERIFIED_TOKENS:
                del self._verified[next(iter(self._verified))]  # the oldest entry
            self._verified[token] = (claims, expires)
        return claims

    def _decode(self, token: str) -> tuple[TokenClaims, float, float]:
        """The claims, expiry and start of validity (``nbf`` or ``iat``, the later) of a token,
        fully verified."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            secret = self._keys.get(kid) if isinstance(kid, str) else None
            if secret is None:
                raise _invalid()
            claims = jwt.decode(
                token,
                secret.get_secret_value(),
                algorithms=[_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
            user_id = int(claims["sub"])
            version = claims["ver"]
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise _invalid() from exc
        if type(version) is not int or version < 0:  # bool is an int to isinstance
            raise _invalid()
        verified = TokenClaims(
            user_id=user_id,
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            token_id=str(claims["jti"]),
            version=version,
        )
        return verified, float(claims["exp"]), float(max(claims["nbf"], claims["iat"]))


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
