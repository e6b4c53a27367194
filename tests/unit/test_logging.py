"""The log's lines: one JSON object each, stamped in UTC, with secrets redacted."""

from __future__ import annotations

import io
import logging
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import structlog

from conduit.core.logging import REDACTED, UtcTimestamp, configure_logging, redact

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the log writes, with logging configured as the server configures it."""
    stream = io.StringIO()
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr(sys, "stderr", stream)  # read when logging is configured
    configure_logging("INFO")
    yield stream
    structlog.configure(**saved)
    root.handlers[:], root.level = handlers, level


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


class TestRedact:
    def test_secret_keys_are_redacted_whatever_their_case(self) -> None:
        event = {"Authorization": "Token abc", "password": "hunter2", "user_id": 7}
        assert redact(None, "", event) == {
            "Authorization": REDACTED,
            "password": REDACTED,
            "user_id": 7,
        }

    def test_nested_mappings_are_redacted_and_other_values_kept(self) -> None:
        event = {"headers": {"cookie": "s=1", "accept": "*/*"}, "tags": ["token"], "n": 1.5}
        assert redact(None, "", event) == {
            "headers": {"cookie": REDACTED, "accept": "*/*"},
            "tags": ["token"],
            "n": 1.5,
        }


class TestUtcTimestamp:
    def test_the_stamp_is_now_in_utc_to_the_microsecond(self) -> None:
        before = datetime.now(UTC)
        stamp = UtcTimestamp()(None, "", {})["timestamp"]
        after = datetime.now(UTC)
        assert ISO_UTC.match(stamp), stamp
        when = datetime.fromisoformat(stamp)
        assert before - timedelta(microseconds=1) <= when <= after

    def test_a_new_second_is_formatted_afresh(self, monkeypatch: pytest.MonkeyPatch) -> None:
        stamper = UtcTimestamp()
        clock = iter(
            [1_700_000_000_250_000_000, 1_700_000_000_500_000_999, 1_700_000_001_000_001_000]
        )
        monkeypatch.setattr(time, "time_ns", lambda: next(clock))
        stamps = [stamper(None, "", {})["timestamp"] for _ in range(3)]
        assert stamps == [
            "2023-11-14T22:13:20.250000Z",
            "2023-11-14T22:13:20.500000Z",
            "2023-11-14T22:13:21.000001Z",
        ]


class TestLines:
    def test_an_event_is_one_json_line_with_its_context(self, stderr: io.StringIO) -> None:
        structlog.contextvars.bind_contextvars(request_id="abc")
        try:
            structlog.get_logger("conduit.test").info("happened", token="secret", status=200)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        [line] = lines(stderr)
        assert ISO_UTC.match(line.pop("timestamp"))
        assert line == {
            "event": "happened",
            "token": REDACTED,
            "status": 200,
            "request_id": "abc",
            "level": "info",
            "logger": "conduit.test",
        }

    def test_standard_library_lines_have_the_same_shape(self, stderr: io.StringIO) -> None:
        logging.getLogger("uvicorn.error").warning("listening on %s", "127.0.0.1")
        [line] = lines(stderr)
        assert ISO_UTC.match(line.pop("timestamp"))
        assert line == {
            "event": "listening on 127.0.0.1",
            "level": "warning",
            "logger": "uvicorn.error",
        }
