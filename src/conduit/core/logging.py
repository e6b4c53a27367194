"""Structured logging: one JSON object per line, configured once, secrets redacted.

Conduit's own code logs through structlog (``structlog.get_logger(__name__)``) with short
snake_case events and key-value context; the standard library's loggers (uvicorn, SQLAlchemy,
Alembic) are rendered by the same processors, so every line of the process has one shape.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import MutableMapping
from contextlib import nullcontext
from typing import Any

import orjson
import structlog

# The backstop: whatever a caller passes, values under these keys never reach the log.
REDACTED_KEYS = frozenset(
    {
        "authorization",
        "jwt_keys",
        "jwt_secret",
        "password",
        "password_hash",
        "secret",
        "token",
        "cookie",
        "set-cookie",
    }
)
REDACTED = "[redacted]"

# At DEBUG these log every bound parameter and result row: password hashes, tokens' owners,
# emails. An operator who turns on DEBUG for Conduit must not turn that on with it;
# CONDUIT_DB_ECHO shows the statements, without their values.
QUIET_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool")


# Values of these types hold no nested keys. Checked first: an isinstance check against an
# abstract base class (MutableMapping) costs several times more, and a request's log line has
# about ten values, nearly all of them these.
_SCALARS = (str, int, float, type(None))


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace secret-looking values, at the top level and in nested mappings."""
    for key, value in event.items():  # replacing values leaves the keys as they are
        if key.lower() in REDACTED_KEYS:
            event[key] = REDACTED
        elif not isinstance(value, _SCALARS) and isinstance(value, MutableMapping):
            event[key] = redact(None, "", dict(value))
    return event


def _json(event: MutableMapping[str, Any], **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


class UtcTimestamp:
    """Adds ``timestamp``: ISO 8601 in UTC to the microsecond, e.g. 2026-11-27T07:23:03.248810Z.

    What structlog's ``TimeStamper(fmt="iso", utc=True)`` writes (which drops the fraction at a
    whole second), for a fraction of its cost: the date and time of day are formatted once per
    second, not once per line, and every request writes a line.
    """

    def __init__(self) -> None:
        self._second: tuple[int, str] = (-1, "")  # one attribute: replaced whole, never torn

    def __call__(
        self, _: Any, __: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        now, nanoseconds = divmod(time.time_ns(), 1_000_000_000)  # integers: no rounding
        second, prefix = self._second
        if now != second:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            self._second = (now, prefix)
        event["timestamp"] = f"{prefix}.{nanoseconds // 1000:06d}Z"
        return event


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    UtcTimestamp(),
    redact,
]


class HandlerLogger:
    """structlog's final logger: one rendered line to the stream of Conduit's log handler.

    Conduit's own events skip the standard library (a LogRecord, a caller lookup, a copy of the
    record and a second processor pass in ``ProcessorFormatter``): that way the one line per
    request cost about 250 µs, a quarter of what a list page costs. The line is written under
    the handler's lock, so it never interleaves with a line of a standard-library logger.
    """

    def __init__(self, handler: logging.StreamHandler[Any], name: str) -> None:
        self._handler = handler
        self.name = name  # read by structlog.stdlib.add_logger_name

    def msg(self, line: str) -> None:
        handler = self._handler
        with handler.lock or nullcontext():
            handler.stream.write(line + "\n")
            handler.stream.flush()  # the lock is held: not handler.flush(), which takes it again

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def configure_logging(level: str = "INFO") -> None:
    """Render structlog and the standard library as the same JSON lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(serializer=_json),
            ],
        )
    )

    def logger_factory(name: str = "", *_: Any) -> HandlerLogger:
        return HandlerLogger(handler, name)

    structlog.configure(
        processors=[
            *_SHARED,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_json),
        ],
        logger_factory=logger_factory,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    # One line per request comes from Conduit's middleware; uvicorn's access log would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
