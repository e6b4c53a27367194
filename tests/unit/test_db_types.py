from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine import Dialect, make_url

from conduit.db.types import UTCDateTime, utc_now

PG = make_url("postgresql+asyncpg://").get_dialect()()
SQLITE = make_url("sqlite+aiosqlite://").get_dialect()()
PLUS_TWO = timezone(timedelta(hours=2))


class TestUTCDateTime:
    def test_bind_converts_to_utc_and_truncates_to_milliseconds(self) -> None:
        value = datetime(2026, 1, 2, 12, 0, 0, 123_456, tzinfo=PLUS_TWO)
        bound = UTCDateTime().process_bind_param(value, PG)
        assert bound == datetime(2026, 1, 2, 10, 0, 0, 123_000, tzinfo=UTC)

    def test_sqlite_stores_naive_utc(self) -> None:
        value = datetime(2026, 1, 2, 12, 0, tzinfo=PLUS_TWO)
        assert UTCDateTime().process_bind_param(value, SQLITE) == datetime(2026, 1, 2, 10, 0)

    def test_naive_input_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            UTCDateTime().process_bind_param(datetime(2026, 1, 2), PG)

    @pytest.mark.parametrize("dialect", [PG, SQLITE])
    def test_results_are_timezone_aware_utc(self, dialect: Dialect) -> None:
        naive = datetime(2026, 1, 2, 10, 0)
        result = UTCDateTime().process_result_value(naive, dialect)
        assert result is not None
        assert result.tzinfo is UTC

    def test_none_passes_through(self) -> None:
        assert UTCDateTime().process_bind_param(None, PG) is None
        assert UTCDateTime().process_result_value(None, PG) is None


def test_utc_now_is_aware_with_millisecond_precision() -> None:
    now = utc_now()
    assert now.tzinfo is UTC
    assert now.microsecond % 1000 == 0
