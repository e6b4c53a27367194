"""Settings for the apps tests build in-process with ``create_app``.

- ``CHEAP_ARGON2``: the cheapest argon2id the settings allow (registration ~1 ms instead of
  ~50 ms); the tests exercise behaviour, not hashing. ``tests.live_server.cheap_argon2`` is the
  same as environment variables, for server processes.
- ``app_settings(database_url, var_dir, **overrides)``: a test environment on that database with
  a fixed JWT secret, cheap argon2 and no rate limits (the tests of limits turn them on);
  anything else is an override. The response cache is off: most in-process tests run every
  request in one outer transaction that never commits, so the database's snapshot never moves
  and the cache would replay what a test's own writes changed. It is tested where requests
  commit (``tests/reliability/test_response_cache.py`` and the live servers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from conduit.core.settings import Settings

CHEAP_ARGON2 = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1}
JWT_SECRET = "in-process-tests-secret-of-at-least-32-chars"


def app_settings(database_url: str, var_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "var_dir": var_dir,
        "jwt_secret": SecretStr(JWT_SECRET),
        **CHEAP_ARGON2,
        "rate_limit_enabled": False,
        "response_cache_mb": 0,
    }
    return Settings(**{**values, **overrides})
