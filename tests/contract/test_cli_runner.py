"""``make contract`` fails when the server breaks the contract.

Each test runs the make targets' runner (tests/contract/cli_runner.py) against a deliberately
broken app (tests/contract/mutants.py), on the operations concerned and with a small budget: it
must exit 1 naming the check the app breaks, with the failure in the JUnit report too. That the
real app passes the same runner with every operation is what `make contract` shows in CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.cli_runner import ROOT
from tests.live_server import IN_CI

RUN_TIMEOUT_SECONDS = 300
ARTICLE_LIFE = ["CreateArticle", "GetArticle", "DeleteArticle"]


def run_contract(
    app: str, operations: list[str], reports: Path
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tests.contract.cli_runner", "--app", app]
    command += ["--max-examples", "5", "--max-time", "20", "--report-dir", str(reports), "--"]
    for operation in operations:
        command += ["--include-operation-id", operation]
    result = subprocess.run(  # noqa: S603 - our own runner, no shell
        command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=False
    )
    if result.returncode == 2 and "unavailable" in result.stderr:
        (pytest.fail if IN_CI else pytest.skip)(result.stderr.strip())
    return result


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("mutant", "operations", "code"),
    [
        pytest.param("feed_without_token", ["GetArticlesFeed"], "ST401", id="ignored_auth"),
        pytest.param("delete_keeps_article", ARTICLE_LIFE, "ST301", id="use_after_free"),
    ],
)
def test_make_contract_fails_on_a_server_that_breaks_the_contract(
    mutant: str, operations: list[str], code: str, tmp_path: Path
) -> None:
    result = run_contract(f"tests.contract.mutants:{mutant}", operations, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert code in output
    assert 'failures="0"' not in (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert (tmp_path / "har.json").is_file()


def test_the_pytest_process_never_loads_the_live_servers_hooks() -> None:
    # They register globally: loaded here, they would run in the in-process contract tests too
    # and look for the live run's credentials there.
    code = (
        "import sys, tests.contract.cli_runner; print('tests.contract.live_hooks' in sys.modules)"
    )
    loaded = subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"
