"""Idempotency-Key values in generated requests: a key of their own for each distinct request.

The fuzzer draws keys from a small space (``0``, the contract's example, ...), so it sends one
key with many different requests. A real client sends a new key with each new request and the
same key only with retries of it; the server refuses one key reused for another request (422,
tests/integration/test_api_idempotency.py proves it), and would rightly fail
``positive_data_acceptance`` for it. So a valid key is made specific to the request it goes out
with: a repeat of the same request (checks resend cases) keeps the key and gets the replay.
Invalid keys go out as drawn: they must get 422.

Importing this module registers the ``before_call`` hook: the in-process suite (conftest.py) and
the CLI run (live_hooks.py) both do.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import schemathesis
from schemathesis import Case, HookContext

HEADER = "idempotency-key"
# The contract's IdempotencyKey parameter.
VALID_KEY = re.compile(r"[A-Za-z0-9._~:+/=-]{1,255}")
DIGEST_LENGTH = 12


def request_specific(key: str, case: Case[Any]) -> str:
    """``key`` with a digest of the request appended (once), still a valid key."""
    request = json.dumps(
        [case.method.upper(), case.formatted_path, case.body], sort_keys=True, default=repr
    )
    suffix = "." + hashlib.sha256(request.encode()).hexdigest()[:DIGEST_LENGTH]
    if key.endswith(suffix):  # a case sent again
        return key
    return key[: 255 - len(suffix)] + suffix


@schemathesis.hook
def before_call(ctx: HookContext, case: Case[Any], **kwargs: Any) -> None:
    if case.headers is None:
        return
    for name, value in case.headers.items():
        if name.lower() == HEADER and isinstance(value, str) and VALID_KEY.fullmatch(value):
            case.headers[name] = request_specific(value, case)
