"""Fault injection against real processes: a PostgreSQL cluster of the tests' own (see
``cluster.py``) and uvicorn servers on it (see ``tests.live_server``).

These tests stop databases and kill servers, and take a minute, so they run under
``make test-faults`` (which sets ``CONDUIT_FAULT_TESTS=1``), not ``make test``; elsewhere they
are skipped with that reason.

- ``cluster`` (package): the dedicated cluster, started; stopped and deleted at the end. Without
  PostgreSQL's server binaries the tests skip, or fail when ``CI=true``.
- ``database``: a fresh migrated database on it; the cluster is (re)started first if a test left
  it stopped.
- ``start_server``: ``start_server(env)`` starts a server on ``database`` and waits until it is
  ready; every server still running is stopped after the test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.faults.cluster import PostgresCluster, server_binaries
from tests.live_server import IN_CI, ServerProcess, cheap_argon2, create_database, drop_database

ENABLED = os.environ.get("CONDUIT_FAULT_TESTS") == "1"
HERE = Path(__file__).parent

StartServer = Callable[[Mapping[str, str]], Awaitable[ServerProcess]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if ENABLED:
        return
    skip = pytest.mark.skip(reason="fault-injection tests run with `make test-faults`")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required because CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def cluster() -> Iterator[PostgresCluster]:
    bindir = server_binaries()
    if bindir is None:
        _unavailable("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    assert bindir is not None
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root needs runuser to start PostgreSQL as `postgres`")
    cluster = PostgresCluster.create(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
async def database(cluster: PostgresCluster) -> AsyncIterator[str]:
    if not cluster.running():
        cluster.start()
    url = await create_database(cluster.admin_url)
    try:
        yield url
    finally:
        if not cluster.running():
            cluster.start()
        await drop_database(cluster.admin_url, url)


@pytest.fixture
async def start_server(database: str, tmp_path: Path) -> AsyncIterator[StartServer]:
    servers: list[ServerProcess] = []

    async def start(env: Mapping[str, str]) -> ServerProcess:
        server = ServerProcess.start(database, tmp_path, env={**cheap_argon2, **env})
        servers.append(server)
        await server.wait_ready()
        return server

    try:
        yield start
    finally:
        for server in servers:
            await server.stop()
