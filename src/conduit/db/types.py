"""Column types that make SQLite and PostgreSQL behave the same."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# BIGSERIAL on PostgreSQL; SQLite only auto-increments a column declared exactly INTEGER.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def utc_now() -> datetime:
    """Now, in UTC, truncated to milliseconds (the precision the API exposes)."""
    return truncate_ms(datetime.now(UTC))


def truncate_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes with millisecond precision on every backend.

    PostgreSQL stores timestamptz; SQLite has no timezone support, so values
    are stored as naive UTC text and re-tagged as UTC when read back. Naive
    input is rejected: guessing a timezone silently corrupts data.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = truncate_ms(value.astimezone(UTC))
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
