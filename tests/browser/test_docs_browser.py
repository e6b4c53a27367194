"""/docs and /redoc in real headless Chromium, served offline by a live server.

The designer's view: Swagger UI lists every operation of the contract, authorizes with a real
token the RealWorld way (``Token <jwt>``) and runs GetCurrentUser against the server; ReDoc
renders every operation. Screenshots land in var/reports/ (on failure too, as ``*-failed.png``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from conduit.api.docs import load_contract
from tests.browser.conftest import Account

pytestmark = pytest.mark.browser

WAIT_SECONDS = 30.0
CSP_IMAGE_REFUSAL = 'violates the following Content Security Policy directive: "img-src'
METHODS = ("get", "put", "post", "delete", "patch")
# The public RealWorld API 1.1.0: the contract may add operations, never lose one of these.
REALWORLD_OPERATIONS = frozenset(
    {
        "Login",
        "CreateUser",
        "GetCurrentUser",
        "UpdateCurrentUser",
        "GetProfileByUsername",
        "FollowUserByUsername",
        "UnfollowUserByUsername",
        "GetArticlesFeed",
        "GetArticles",
        "CreateArticle",
        "GetArticle",
        "UpdateArticle",
        "DeleteArticle",
        "GetArticleComments",
        "CreateArticleComment",
        "DeleteArticleComment",
        "CreateArticleFavorite",
        "DeleteArticleFavorite",
        "GetTags",
    }
)


def contract_operations() -> dict[str, list[str]]:
    """operationId -> its tags, for every operation of the served contract."""
    found: dict[str, list[str]] = {}
    for item in load_contract()["paths"].values():
        for method in METHODS:
            if method in item:
                found[item[method]["operationId"]] = list(item[method].get("tags", ["default"]))
    return found


def wait_for(driver: Chrome, css: str) -> WebElement:
    located = WebDriverWait(driver, WAIT_SECONDS).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, css)), f"nothing visible at {css!r}"
    )
    element: WebElement = located
    return element


def click(driver: Chrome, css: str, within: WebElement | None = None) -> WebElement:
    scope = within if within is not None else driver
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda _: scope.find_element(By.CSS_SELECTOR, css).is_enabled(), f"no {css!r}"
    )
    element = scope.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()
    return element


@contextmanager
def screenshot_on_failure(driver: Chrome, path: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        driver.save_screenshot(str(path.with_name(f"{path.stem}-failed.png")))
        raise


def browser_log(driver: Chrome, kind: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = driver.get_log(kind)  # type: ignore[no-untyped-call]
    return entries


def page_errors(driver: Chrome) -> list[str]:
    """JavaScript errors and failed loads the page logged, but for images the page's CSP refused
    (they never leave the browser; ``requests_elsewhere`` sees everything that did)."""
    return [
        entry["message"]
        for entry in browser_log(driver, "browser")
        if entry["level"] == "SEVERE" and CSP_IMAGE_REFUSAL not in entry["message"]
    ]


def requests_elsewhere(driver: Chrome, origin: str) -> list[str]:
    """Network requests the page sent to any other host than ``origin`` (the browser's own
    chrome:// pages, data: and blob: URLs, and requests it blocked itself do not count)."""
    sent: dict[str, str] = {}
    blocked: set[str] = set()
    for entry in browser_log(driver, "performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            sent[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFailed" and params.get("blockedReason"):
            blocked.add(params["requestId"])
    return [
        url
        for request_id, url in sent.items()
        if urlsplit(url).scheme in {"http", "https", "ws", "wss"}
        and not url.startswith(origin + "/")
        and request_id not in blocked
    ]


class TestSwaggerUI:
    def test_lists_every_operation_authorizes_and_runs_get_current_user(
        self, browser: Chrome, docs_server: str, account: Account, reports_dir: Path
    ) -> None:
        screenshot = reports_dir / "docs-swagger-ui.png"
        with screenshot_on_failure(browser, screenshot):
            browser.get(f"{docs_server}/docs")
            wait_for(browser, ".opblock")
            self.assert_every_operation_listed(browser)
            self.authorize(browser, account.token)
            block = self.execute(browser, "Users", "GetCurrentUser")
            self.assert_current_user_shown(block, docs_server, account)
            assert page_errors(browser) == []
            assert requests_elsewhere(browser, docs_server) == []
            browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", block)
            assert browser.save_screenshot(str(screenshot))

    @staticmethod
    def assert_every_operation_listed(browser: Chrome) -> None:
        expected = {
            f"operations-{tag}-{operation_id}"
            for operation_id, tags in contract_operations().items()
            for tag in tags
        }
        shown = browser.execute_script(
            "return Array.from(document.querySelectorAll('.opblock'), (block) => block.id)"
        )
        assert set(shown) == expected
        shown_ids = {block_id.split("-", 2)[2] for block_id in shown}
        assert shown_ids >= REALWORLD_OPERATIONS
        assert browser.find_elements(By.CSS_SELECTOR, ".errors-wrapper") == []

    @staticmethod
    def authorize(browser: Chrome, token: str) -> None:
        click(browser, ".auth-wrapper button.authorize")
        dialog = wait_for(browser, ".modal-ux")
        field = dialog.find_element(By.CSS_SELECTOR, ".auth-container input")
        field.send_keys(f"Token {token}")
        click(browser, "button[aria-label='Apply credentials']", within=dialog)
        # Once authorized, the dialog offers Logout instead of Authorize.
        WebDriverWait(browser, WAIT_SECONDS).until(
            lambda _: dialog.find_elements(
                By.CSS_SELECTOR, "button[aria-label='Remove authorization']"
            ),
            "the Authorize dialog did not accept the token",
        )
        click(browser, ".auth-btn-wrapper button.btn-done", within=dialog)
        WebDriverWait(browser, WAIT_SECONDS).until(
            ec.invisibility_of_element_located((By.CSS_SELECTOR, ".modal-ux"))
        )

    @staticmethod
    def execute(browser: Chrome, tag: str, operation_id: str) -> WebElement:
        block = wait_for(browser, f"#operations-{tag}-{operation_id}")
        click(browser, ".opblock-summary-control", within=block)
        click(browser, "button.try-out__btn", within=block)
        click(browser, "button.execute", within=block)
        WebDriverWait(browser, WAIT_SECONDS).until(
            lambda _: block.find_elements(By.CSS_SELECTOR, ".live-responses-table .response"),
            f"{operation_id}: no response shown after Execute",
        )
        return block

    @staticmethod
    def assert_current_user_shown(block: WebElement, docs_server: str, account: Account) -> None:
        live = block.find_element(By.CSS_SELECTOR, ".live-responses-table")
        status = live.find_element(By.CSS_SELECTOR, ".response .response-col_status").text
        body = live.find_element(By.CSS_SELECTOR, ".response .response-col_description").text
        assert status.strip() == "200", body
        assert f'"username": "{account.username}"' in body
        request_url = block.find_element(By.CSS_SELECTOR, ".request-url pre").text
        assert urlsplit(request_url).path == "/api/user"
        assert request_url.startswith(docs_server)
        curl = block.find_element(By.CSS_SELECTOR, ".curl-command").text
        assert f"Authorization: Token {account.token}" in curl


class TestRedoc:
    def test_renders_every_operation(
        self, browser: Chrome, docs_server: str, reports_dir: Path
    ) -> None:
        screenshot = reports_dir / "docs-redoc.png"
        with screenshot_on_failure(browser, screenshot):
            browser.get(f"{docs_server}/redoc")
            wait_for(browser, "[data-section-id*='operation/']")
            sections = browser.execute_script(
                "return Array.from(document.querySelectorAll(\"[data-section-id*='operation/']\"),"
                " (section) => section.getAttribute('data-section-id'))"
            )
            shown = {section.rsplit("operation/", 1)[1] for section in sections}
            assert shown == contract_operations().keys()
            assert page_errors(browser) == []
            assert requests_elsewhere(browser, docs_server) == []
            assert browser.save_screenshot(str(screenshot))
