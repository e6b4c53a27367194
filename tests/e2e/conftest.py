"""A real Conduit server, started by ``make run``, for black-box tests over HTTP.

Fixtures:

- ``server`` (session): a ``LiveServer`` answering on ``http://127.0.0.1:<free port>``. It is the
  Makefile's own ``run`` target (``conduit migrate``, then uvicorn with the app factory), run as
  ``make -o .venv/.installed run HOST=127.0.0.1 PORT=<port>``, so the command line lives in one
  place. ``-o .venv/.installed`` skips only the install step: pytest already runs inside that
  environment (``make test`` depends on ``install``), and re-syncing it from a test would rewrite
  the interpreter's packages under the running test session. The server gets a fresh
  ``CONDUIT_VAR_DIR`` (SQLite file and JWT secret) in a temporary directory, rate limits out of
  its reach, and no other ``CONDUIT_`` variable from the caller's environment. It runs in its own
  process group, which is sent SIGTERM at the end, then SIGKILL if anything in it is still alive
  after a grace period. Its output is in ``LiveServer.log``.
- ``api`` (session): an ``httpx.Client`` with ``base_url`` ``<server>/api``.
- ``register`` (function): ``register()`` signs up a new user with unique, valid credentials and
  returns an ``Account`` holding its token.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
# Variables an outer `make test` exports to its children; the inner make must not inherit its
# command-line overrides (say `make test PORT=9000`) or its jobserver.
_MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL")


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    log: Path


@dataclass(frozen=True)
class Account:
    username: str
    email: str
    password: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        """The RealWorld ``Authorization: Token <jwt>`` header."""
        return {"Authorization": f"Token {self.token}"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _server_environment(var_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CONDUIT_") and key not in _MAKE_VARIABLES
    }
    env["CONDUIT_VAR_DIR"] = str(var_dir)
    # The suite registers and writes far faster than a person from one address: the limits
    # stay on (their headers are part of what a client sees) but out of its reach.
    for quota in ("LOGIN", "REGISTER", "WRITES"):
        env[f"CONDUIT_RATE_LIMIT_{quota}"] = "100000/minute"
    return env


def _tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _wait_until_answering(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"`make run` exited with {process.returncode} before answering:\n{_tail(log)}"
            )
        try:
            if httpx.get(f"{base_url}/api/tags", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"`make run` did not answer within {START_TIMEOUT_SECONDS:.0f}s:\n{_tail(log)}")


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _group_exited(process: subprocess.Popen[bytes], pgid: int, timeout: float) -> bool:
    """Wait until no process of the group is left (make may exit before uvicorn has)."""
    deadline = time.monotonic() + timeout
    while True:
        process.poll()  # reap make, the group leader, as soon as it exits
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (make and uvicorn), SIGKILL after a grace period."""
    pgid = process.pid  # start_new_session made make the leader of its own group
    _signal_group(pgid, signal.SIGTERM)
    if not _group_exited(process, pgid, STOP_TIMEOUT_SECONDS):
        _signal_group(pgid, signal.SIGKILL)
        _group_exited(process, pgid, STOP_TIMEOUT_SECONDS)
    process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("e2e-var")
    log = var_dir / "server.log"
    port = _free_port()
    base_url = f"http://{HOST}:{port}"
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "run"]
    command += [f"HOST={HOST}", f"PORT={port}"]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - a fixed command line, no shell
            command,
            cwd=REPO_ROOT,
            env=_server_environment(var_dir),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_answering(process, base_url, log)
        yield LiveServer(base_url=base_url, log=log)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.base_url}/api", timeout=10.0) as client:
        yield client


@pytest.fixture
def register(api: httpx.Client) -> Callable[[], Account]:
    def sign_up() -> Account:
        # Unique per call: every test builds its own users, so tests never depend on each other.
        name = f"u{uuid.uuid4().hex[:12]}"
        email, password = f"{name}@example.com", f"pw-{uuid.uuid4().hex}"
        body: dict[str, Any] = {"user": {"username": name, "email": email, "password": password}}
        response = api.post("/users", json=body)
        assert response.status_code == 201, response.text
        return Account(
            username=name, email=email, password=password, token=response.json()["user"]["token"]
        )

    return sign_up
