"""Runtime configuration, read from the environment (``CONDUIT_`` prefix)."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from conduit.core.rate_limits import Strategy, parse_limits

Environment = Literal["development", "test", "production"]
# Where spans go: an OTLP/HTTP collector, stdout (development), or nowhere (trace ids in the
# logs and trace context passed on, nothing exported). The names are OTEL_TRACES_EXPORTER's.
TraceExporter = Literal["otlp", "console", "none"]

_JWT_SECRET_FILE = "jwt_secret"  # noqa: S105 - a file name, not a secret


class InsecureConfiguration(RuntimeError):
    """Raised at start-up when production is missing a secret it must not default."""


# The key id the single secret (CONDUIT_JWT_SECRET, or the generated development one) signs as.
DEFAULT_JWT_KID = "default"
_MIN_SECRET_LENGTH = 32


class JwtKey(BaseModel):
    """One entry of CONDUIT_JWT_KEYS: a key id (sent as the token's `kid`) and its secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kid: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    secret: SecretStr

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < _MIN_SECRET_LENGTH:
            raise InsecureConfiguration(
                f"every secret of CONDUIT_JWT_KEYS must be at least {_MIN_SECRET_LENGTH} characters"
            )
        return value


class Settings(BaseSettings):
    """Everything an operator can set; built once in ``create_app`` and injected."""

    model_config = SettingsConfigDict(env_prefix="CONDUIT_", extra="ignore")

    environment: Environment = "development"
    var_dir: Path = Path("var")
    # Empty means "the embedded SQLite file under var_dir".
    database_url: str = ""
    db_pool_size: int = Field(default=10, ge=1, le=200)
    # 0: under sustained load the pool's overflow connections are opened and closed over and
    # over (a connection is set up for a few requests, then dropped), which cost CPU and latency
    # in the benchmark; a fixed pool of db_pool_size connections per worker does not.
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    # How long a request waits for a free connection before it gets 503.
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    # How long a statement may go unanswered before its request gets 503: a database that went
    # silent (a network partition) would otherwise hold requests until TCP gives up, minutes on.
    db_statement_timeout_seconds: float = Field(default=10.0, gt=0)

    # Reads remembered per database snapshot (api/response_cache.py), PostgreSQL only; 0: off.
    # Per worker, on top of its own memory.
    response_cache_mb: int = Field(default=16, ge=0, le=4096)
    # How long an entry may be served at most, even while the database has not changed.
    response_cache_max_age_seconds: float = Field(default=60.0, gt=0)

    jwt_secret: SecretStr | None = None
    # Key rotation, as JSON: [{"kid": "2026-11", "secret": "..."}, {"kid": "2026-05", ...}]. The
    # first key signs new tokens, every key verifies the tokens naming it; drop a key to revoke
    # the tokens it signed. CONDUIT_JWT_SECRET is the one-key shorthand (kid "default").
    jwt_keys: list[JwtKey] | None = None
    jwt_issuer: str = "conduit"
    jwt_audience: str = "conduit-api"
    jwt_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)

    # OWASP's minimum for argon2id (2026): m=19 MiB, t=2, p=1.
    argon2_memory_kib: int = Field(default=19456, ge=1024)
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_parallelism: int = Field(default=1, ge=1)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Idempotency-Key: how long a key is remembered after its first use, and how long a request
    # may hold its key unfinished before a retry may run again (its server stopped mid-request).
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=1)
    idempotency_lock_timeout_seconds: int = Field(default=60, ge=1)
    cors_origins: list[str] = Field(default_factory=list)
    # Sent as Strict-Transport-Security when above 0; only for a service reached over HTTPS only.
    hsts_seconds: int = Field(default=0, ge=0)
    log_level: str = "INFO"

    # Shared state of several server processes (rate-limit counters); none means in-process.
    redis_url: SecretStr | None = None
    redis_timeout_seconds: float = Field(default=1.0, gt=0)

    # Limits in the `limits` notation, several separated by ";". Login and registration count
    # per client address, writes (authenticated non-GET operations) per user.
    rate_limit_enabled: bool = True
    rate_limit_login: str = "10/minute;100/hour"
    rate_limit_register: str = "5/minute;50/hour"
    rate_limit_writes: str = "60/minute;1000/hour"
    rate_limit_strategy: Strategy = "moving-window"
    # Prefix of the Redis keys, so several deployments (or test runs) can share one Redis.
    rate_limit_key_prefix: str = Field(default="conduit", min_length=1, pattern=r"^[\w.:-]+$")

    # OpenTelemetry tracing: a span per request and per SQL statement. Off, nothing of
    # OpenTelemetry is even imported. The exporter also honours the standard OTEL_EXPORTER_OTLP_*
    # variables (headers, timeout, certificates), and OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.
    otel_enabled: bool = False
    otel_exporter: TraceExporter = "otlp"
    # The collector's base URL (http://collector:4318; /v1/traces is appended). Unset, the
    # standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, else localhost.
    otel_exporter_otlp_endpoint: str | None = None
    # Unset: OTEL_SERVICE_NAME, else "conduit".
    otel_service_name: str | None = Field(default=None, min_length=1, max_length=200)
    # Share of the traces started here that are recorded; a caller's sampling decision (the
    # traceparent's sampled flag) is followed either way.
    otel_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)

    @field_validator("otel_exporter_otlp_endpoint")
    @classmethod
    def _otlp_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (OTLP over HTTP)")
        return value

    @field_validator("rate_limit_login", "rate_limit_register", "rate_limit_writes")
    @classmethod
    def _valid_limits(cls, value: str) -> str:
        parse_limits(value)
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("redis://", "rediss://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.environment == "production" and self.jwt_secret is None and not self.jwt_keys:
            raise InsecureConfiguration(
                "CONDUIT_JWT_SECRET or CONDUIT_JWT_KEYS must be set when "
                "CONDUIT_ENVIRONMENT=production"
            )
        if self.jwt_secret is not None and self.jwt_keys is not None:
            raise InsecureConfiguration("set CONDUIT_JWT_SECRET or CONDUIT_JWT_KEYS, not both")
        if self.jwt_keys is not None:
            kids = [key.kid for key in self.jwt_keys]
            if not kids or len(set(kids)) != len(kids):
                raise InsecureConfiguration("CONDUIT_JWT_KEYS needs one key or more, unique kids")
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise InsecureConfiguration("CONDUIT_JWT_SECRET must be at least 32 characters")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'conduit.db').resolve()}"

    def resolved_jwt_keys(self) -> list[JwtKey]:
        """The verification keys, the signing one first: CONDUIT_JWT_KEYS, or the single secret."""
        if self.jwt_keys is not None:
            return list(self.jwt_keys)
        return [JwtKey(kid=DEFAULT_JWT_KID, secret=self.resolved_jwt_secret())]

    def resolved_jwt_secret(self) -> SecretStr:
        """The configured secret, or (outside production) one generated once and kept in var/."""
        if self.jwt_secret is not None:
            return self.jwt_secret
        path = self.var_dir / _JWT_SECRET_FILE
        if not path.exists():
            _write_secret_once(path)
        return SecretStr(path.read_text(encoding="ascii").strip())


def _write_secret_once(path: Path) -> None:
    """Write a fresh secret to ``path`` unless another process got there first.

    The secret is written to a private temporary file and hard-linked into place, so a worker
    starting at the same moment sees either no file or the whole secret, never half of one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
