"""Idempotency keys: a retried create request gets its first response, not a second resource."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Claim:
    """The right to run the request a key names; ``token`` fences off a holder taken over since."""

    id: int
    token: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What the first request with a key answered: replayed to its retries."""

    status: int
    body: str  # JSON


def request_fingerprint(method: str, path: str, canonical_body: bytes) -> str:
    """Identifies a request: its method, its path and its body in a canonical JSON form."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical_body):
        digest.update(len(part).to_bytes(8, "big"))  # length-prefixed: no ambiguous joins
        digest.update(part)
    return digest.hexdigest()
