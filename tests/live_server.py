"""A real uvicorn server process on a PostgreSQL database of its own, for tests that need what
in-process tests cannot give: real sockets, real parallelism on the pool, signals, crashes.

- ``create_database(admin_url)`` / ``drop_database(admin_url, url)``: a fresh, migrated
  ``conduit_<hex>`` database on the server behind ``admin_url`` (a ``postgres`` database URL);
  ``fresh_database(admin_url)``: the same as ``async with``, dropped when the block ends.
- ``ServerProcess.start(database_url, var_dir, env=...)``: uvicorn with the app factory, run the
  way ``make serve`` runs it (uvloop, httptools, no access log), on a free port, in a session of
  its own so a signal meant for it never reaches pytest. ``app`` names another factory (a test's
  deliberately broken app). ``env`` adds ``CONDUIT_`` settings; none
  of the caller's own ``CONDUIT_`` variables leak in; rate limiting is off unless ``env`` turns
  it on. ``wait_ready()`` polls ``/readyz``;
  ``terminate()`` / ``kill()`` send SIGTERM / SIGKILL; ``stop()`` is the fixtures' clean-up.
- ``running_server(database_url, var_dir, ...)``: ``async with`` a started, ready server,
  stopped when the block ends, however it ends.
- ``cheap_argon2``: ``tests.app_settings.CHEAP_ARGON2`` as environment variables (registration
  ~1 ms instead of ~50 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from conduit.db.migrate import upgrade_async
from tests.app_settings import CHEAP_ARGON2

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
JWT_SECRET = "live-server-tests-secret-of-at-least-32-characters"
APP_FACTORY = "conduit.main:create_app_from_env"
IN_CI = os.environ.get("CI", "").lower() == "true"

cheap_argon2 = {f"CONDUIT_{name.upper()}": str(value) for name, value in CHEAP_ARGON2.items()}

# Variables an outer `make` exports; the server must not inherit its jobserver or overrides.
_MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


async def create_database(admin_url: str) -> str:
    """A new, migrated database next to ``admin_url``; skips (fails in CI) if none answers."""
    name = f"conduit_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(admin_url)
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, SQLAlchemyError) as error:  # refused, timed out, auth failed, ...
        reason = f"PostgreSQL at {admin_url} unavailable: {error!r}"
        if IN_CI:
            pytest.fail(f"{reason} (required because CI=true)")
        pytest.skip(reason)
    finally:
        await admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    await upgrade_async(url)
    return url


async def drop_database(admin_url: str, url: str) -> None:
    admin = _admin_engine(admin_url)
    try:
        async with admin.connect() as connection:
            name = make_url(url).database
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    """``async with`` a database from ``create_database``, dropped when the block ends, however
    it ends."""
    url = await create_database(admin_url)
    try:
        yield url
    finally:
        await drop_database(admin_url, url)


def _admin_engine(admin_url: str) -> AsyncEngine:
    return create_async_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5})


def _environment(database_url: str, var_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CONDUIT_") and key not in _MAKE_VARIABLES
    }
    env.update(
        CONDUIT_ENVIRONMENT="test",
        CONDUIT_DATABASE_URL=database_url,
        CONDUIT_VAR_DIR=str(var_dir),
        CONDUIT_JWT_SECRET=JWT_SECRET,
        CONDUIT_LOG_LEVEL="WARNING",
        # Bursts from one address are what these tests send; the rate-limit tests turn it on.
        CONDUIT_RATE_LIMIT_ENABLED="false",
    )
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    @classmethod
    def start(
        cls,
        database_url: str,
        var_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        app: str = APP_FACTORY,
    ) -> ServerProcess:
        port = port or free_port()
        log = var_dir / f"server-{port}-{uuid.uuid4().hex[:6]}.log"
        command = [sys.executable, "-m", "uvicorn", app]
        command += ["--factory", "--host", HOST, "--port", str(port)]
        command += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - a fixed command line, no shell
                command,
                env=_environment(database_url, var_dir, env or {}),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(process=process, base_url=f"http://{HOST}:{port}", log=log)

    def tail(self, lines: int = 40) -> str:
        content = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(content.splitlines()[-lines:])

    async def wait_ready(self, within: float = START_TIMEOUT_SECONDS) -> None:
        """Until ``/readyz`` is 200: the app started and reached its database."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"server exited with {self.process.returncode}:\n{self.tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        pytest.fail(f"server not ready within {within:.0f}s:\n{self.tail()}")

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)

    async def wait_exit(self, within: float = STOP_TIMEOUT_SECONDS) -> int | None:
        """The exit status (negative: killed by that signal), or None if still running."""
        deadline = time.monotonic() + within
        while True:
            status = self.process.poll()
            if status is not None or time.monotonic() >= deadline:
                return status
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; always reaps the process."""
        if self.process.poll() is None:
            self.terminate()
            if await self.wait_exit() is None:
                self.kill()
        self.process.wait()


@contextlib.asynccontextmanager
async def running_server(
    database_url: str,
    var_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    app: str = APP_FACTORY,
) -> AsyncIterator[ServerProcess]:
    """``ServerProcess.start``, ready to serve; stopped and reaped when the block ends."""
    server = ServerProcess.start(database_url, var_dir, env=env, app=app)
    try:
        await server.wait_ready()
        yield server
    finally:
        await server.stop()
