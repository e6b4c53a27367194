"""SIGTERM under uvicorn: the app flags itself as draining, and a drained server exits 0.

The end-to-end behaviour (requests in flight finish, new connections are refused, status 0) is
tests/faults/test_graceful_shutdown.py, under `make test-faults`; this pins the handler's
contract with uvicorn's real ``Server`` in a fraction of a second.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from conduit.api.health import watch_for_shutdown


@pytest.fixture
def uvicorn_server() -> Iterator[uvicorn.Server]:
    original = signal.getsignal(signal.SIGTERM)
    server = uvicorn.Server(uvicorn.Config(FastAPI()))
    # What uvicorn's capture_signals() does before the app's lifespan starts.
    signal.signal(signal.SIGTERM, server.handle_exit)
    try:
        yield server
    finally:
        signal.signal(signal.SIGTERM, original)


def _deliver_sigterm() -> None:
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler)
    handler(signal.SIGTERM, None)


def test_sigterm_marks_the_app_draining_and_tells_uvicorn_to_stop(
    uvicorn_server: uvicorn.Server,
) -> None:
    app = FastAPI()
    watch_for_shutdown(app)
    assert app.state.shutting_down is False

    _deliver_sigterm()

    assert app.state.shutting_down is True
    assert uvicorn_server.should_exit is True


def test_a_drained_server_does_not_die_of_the_signal_afterwards(
    uvicorn_server: uvicorn.Server,
) -> None:
    watch_for_shutdown(FastAPI())

    _deliver_sigterm()

    # uvicorn raises every signal left here again once it has shut down (exit status 143).
    assert uvicorn_server._captured_signals == []
