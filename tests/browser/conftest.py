"""A real server and a real headless Chromium, for the docs pages as a person sees them.

Fixtures:

- ``docs_server`` (session): ``http://127.0.0.1:<free port>`` of uvicorn started in a subprocess
  the way ``make run`` does (``conduit migrate``, then the app factory), with a fresh
  ``CONDUIT_VAR_DIR`` (SQLite file, JWT secret) and no other ``CONDUIT_`` variable of the caller.
  Its output is in ``server.log`` beside that directory, shown when it fails to start.
- ``account`` (session): a user registered over HTTP on that server, with its token.
- ``browser`` (function): a Selenium ``WebDriver`` on Debian's ``chromium`` through Debian's
  ``chromedriver`` (the two come from one source package, so their versions always match),
  headless, with a fresh profile, no background traffic and no host but 127.0.0.1 resolvable.
  Its console and network logs are kept (``get_log("browser")``, ``get_log("performance")``).

Chromium and chromedriver (``make browser-deps``) and the Swagger UI / ReDoc files (vendored in
src/conduit/api/static) are prerequisites: without them these tests are skipped with the reason,
or fail when ``CI=true``. Every test here carries the ``browser`` marker (``-m "not browser"``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from conduit.api.docs import DOCS_ASSETS_DIR, DocsAssets

REPO_ROOT = Path(__file__).resolve().parents[2]
REPORTS_DIR = REPO_ROOT / "var" / "reports"
HOST = "127.0.0.1"
CHROMIUM = Path(os.environ.get("CONDUIT_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CONDUIT_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
IN_CI = os.environ.get("CI", "").lower() == "true"
START_TIMEOUT_SECONDS = 60.0
# As root (here and in CI) Chromium needs --no-sandbox. The rest keep it from calling home, and
# the resolver rule takes every host but the server's off the map: the pages are tested offline,
# whatever network the machine has.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--window-size=1280,1400",
    f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {HOST}",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives headless Chromium against a live server (tests/browser)"
    )


@dataclass(frozen=True)
class Account:
    username: str
    token: str


def _missing_prerequisite(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required because CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_binaries() -> tuple[Path, Path]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        _missing_prerequisite(f"{', '.join(missing)} not installed: run `make browser-deps`")
    if DocsAssets.find(DOCS_ASSETS_DIR) is None:
        _missing_prerequisite(
            f"Swagger UI/ReDoc files missing under {DOCS_ASSETS_DIR}: run `make docs-assets-update`"
        )
    return CHROMIUM, CHROMEDRIVER


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_answering(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{base_url}/api/tags", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    output = log.read_text(encoding="utf-8", errors="replace")[-4000:]
    pytest.fail(f"uvicorn did not answer on {base_url}:\n{output}")


@pytest.fixture(scope="session")
def docs_server(
    browser_binaries: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    var_dir = tmp_path_factory.mktemp("browser-var")
    log = var_dir.parent / "server.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CONDUIT_")}
    env["CONDUIT_VAR_DIR"] = str(var_dir)
    subprocess.run(
        [sys.executable, "-m", "conduit.cli", "migrate"], cwd=REPO_ROOT, env=env, check=True
    )
    port = _free_port()
    base_url = f"http://{HOST}:{port}"
    command = [sys.executable, "-m", "uvicorn", "conduit.main:create_app_from_env", "--factory"]
    command += ["--host", HOST, "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed command line, no shell
            command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output
        )
    try:
        _wait_until_answering(process, base_url, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def account(docs_server: str) -> Account:
    username = f"designer{uuid.uuid4().hex[:8]}"
    user = {"username": username, "email": f"{username}@example.com", "password": uuid.uuid4().hex}
    response = httpx.post(f"{docs_server}/api/users", json={"user": user}, timeout=10.0)
    assert response.status_code == 201, response.text
    return Account(username=username, token=response.json()["user"]["token"])


@pytest.fixture
def browser(browser_binaries: tuple[Path, Path], tmp_path: Path) -> Iterator[webdriver.Chrome]:
    chromium, chromedriver = browser_binaries
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    # Console messages, and the network events that show every request the page made.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path=str(chromedriver), log_output=str(tmp_path / "driver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def reports_dir() -> Path:
    REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    return REPORTS_DIR
