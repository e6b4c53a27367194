"""The benchmark runs end to end: tiny data, 1 s per scenario, every scenario free of errors.

Not a timed test: it checks that `make bench` works (seeding, `make serve`, wrk with every
scenario's requests, the ceiling, the report and chart), not how fast anything is. It needs wrk
(`make bench-deps`, which `make test` runs) and PostgreSQL; without them it is skipped, or fails
when CI=true.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bench import database, run, scenarios
from tests.conftest import IN_CI, POSTGRES_ADMIN_URL

# Login and the storm beside it may finish no request within 1 s on a slow machine (a few dozen
# argon2 hashes share one core); every other scenario must get answers.
MAY_BE_SILENT = {"login", "tags-during-login"}


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required because CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def bench_url() -> Iterator[str]:
    if shutil.which("wrk") is None:
        _unavailable("wrk is not installed (make bench-deps)")
    name = f"conduit_bench_smoke_{uuid.uuid4().hex[:8]}"
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        database.server_version(POSTGRES_ADMIN_URL)
    except (OSError, SQLAlchemyError) as error:
        _unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL} unavailable: {error!r}")
    try:
        yield url
    finally:
        database.drop_all(url)


@pytest.fixture(scope="module")
def outcome(bench_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    folder = tmp_path_factory.mktemp("bench")
    code = run.main(
        [
            *("--database-url", bench_url),
            *("--articles", "60", "--users", "12", "--quick"),
            *("--output-dir", str(folder / "reports"), "--work-dir", str(folder / "work")),
        ]
    )
    return code, folder / "reports"


@pytest.fixture(scope="module")
def results(outcome: tuple[int, Path]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((outcome[1] / "bench.json").read_text(encoding="utf-8"))
    return data


def _errors(result: dict[str, Any]) -> int:
    own = result["load"]["socket_errors"] + result["load"]["status_errors"]
    background = result["background"] or {"socket_errors": 0, "status_errors": 0}
    return int(own + background["socket_errors"] + background["status_errors"])


def test_every_scenario_ran_without_errors(
    outcome: tuple[int, Path], results: dict[str, Any]
) -> None:
    measured = [results["ceiling"], *results["references"], *results["scenarios"]]
    ran = {r["name"]: r for r in measured}
    references = {name for name, _, _ in run.REFERENCES}
    expected = {s.name for s in scenarios.full_suite(_any_fixtures())} | {"ceiling"} | references
    assert set(ran) == expected
    assert {name: _errors(r) for name, r in ran.items() if _errors(r)} == {}
    silent = {n for n, r in ran.items() if r["load"]["requests"] == 0} - MAY_BE_SILENT
    assert silent == set()
    assert outcome[0] == 0


def test_the_report_has_the_table_memory_and_chart(outcome: tuple[int, Path]) -> None:
    markdown = (outcome[1] / "bench.md").read_text(encoding="utf-8")
    for name in (
        "ceiling",
        "starlette-route",
        "fastapi-route",
        "list-anonymous",
        "feed",
        "login",
        "create-article",
        "comment",
    ):
        assert f"| {name} |" in markdown
    assert "peak RSS (VmHWM)" in markdown
    assert (outcome[1] / "bench.png").read_bytes().startswith(b"\x89PNG")


def test_server_memory_was_measured(results: dict[str, Any]) -> None:
    workers = [m for m in results["memory"] if m["role"] == "worker"]
    assert len(workers) == 1
    assert workers[0]["peak_kib"] >= workers[0]["current_kib"] > 0


def _any_fixtures() -> scenarios.Fixtures:
    return scenarios.Fixtures(
        reader_email="a@example.com",
        tag="t",
        author="a",
        fan="a",
        slugs=("s",),
        toggle_slugs=("s",),
        usernames=("a",),
        login_emails=("a@example.com",),
        password="p",
    )
