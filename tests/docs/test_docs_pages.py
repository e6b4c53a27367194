"""/docs and /redoc load everything from this server, at pinned versions, and degrade clearly.

In-process, on an app with only the docs routes and a stand-in node_modules, so these run without
npm; tests/browser runs the real files in a real browser.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from conduit.api.docs import (
    DOCS_ASSETS_DIR,
    IMMUTABLE,
    OPENAPI_URL,
    REDOC_CSP,
    STATIC_URL,
    DocsAssets,
    install_docs,
)

DOCS_ASSETS_PROJECT = Path(__file__).resolve().parents[2] / "tools" / "docs-assets"
PACKAGES = {"swagger-ui-dist": "5.0.0-test", "redoc": "2.0.0-test"}
FILES = {
    "swagger-ui-dist": ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"],
    "redoc": ["bundles/redoc.standalone.js"],
}
# Every URL an HTML attribute or the Swagger UI initializer names.
URL_PATTERN = re.compile(r"""(?:src|href)="([^"]*)"|(?:spec-url|url)[=:]\s*['"]([^'"]*)['"]""")


@pytest.fixture
def assets_dir(tmp_path: Path) -> Path:
    root = tmp_path / "node_modules"
    for package, version in PACKAGES.items():
        (root / package).mkdir(parents=True)
        (root / package / "package.json").write_text(json.dumps({"version": version}))
        for name in FILES[package]:
            path = root / package / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"/* {package} {name} */")
    return root


async def _client(assets_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    install_docs(app, assets_dir=assets_dir)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://conduit") as client:
        yield client


@pytest.fixture
async def client(assets_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(assets_dir):
        yield client


def urls_in(html: str) -> set[str]:
    return {first or second for first, second in URL_PATTERN.findall(html)}


class TestPages:
    async def test_swagger_ui_loads_only_files_of_this_server(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/docs")
        assert response.status_code == 200
        assert urls_in(response.text) == {
            f"{STATIC_URL}/swagger-ui-dist@5.0.0-test/swagger-ui-bundle.js",
            f"{STATIC_URL}/swagger-ui-dist@5.0.0-test/swagger-ui.css",
            f"{STATIC_URL}/swagger-ui-dist@5.0.0-test/favicon.png",
            OPENAPI_URL,
        }
        assert '"validatorUrl": null' in response.text

    async def test_redoc_loads_only_files_of_this_server(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/redoc")
        assert response.status_code == 200
        assert urls_in(response.text) == {
            f"{STATIC_URL}/redoc@2.0.0-test/redoc.standalone.js",
            f"{STATIC_URL}/swagger-ui-dist@5.0.0-test/favicon.png",
            OPENAPI_URL,
        }
        assert "fonts.googleapis.com" not in response.text
        assert response.headers["content-security-policy"] == REDOC_CSP


class TestStaticFiles:
    @pytest.mark.parametrize(
        ("url_path", "source", "media_type"),
        [
            (
                "swagger-ui-dist@5.0.0-test/swagger-ui-bundle.js",
                "swagger-ui-dist/swagger-ui-bundle.js",
                "text/javascript",
            ),
            (
                "swagger-ui-dist@5.0.0-test/swagger-ui.css",
                "swagger-ui-dist/swagger-ui.css",
                "text/css",
            ),
            (
                "swagger-ui-dist@5.0.0-test/favicon.png",
                "swagger-ui-dist/favicon-32x32.png",
                "image/png",
            ),
            (
                "redoc@2.0.0-test/redoc.standalone.js",
                "redoc/bundles/redoc.standalone.js",
                "text/javascript",
            ),
        ],
    )
    async def test_are_served_for_good_under_versioned_urls(
        self,
        client: httpx.AsyncClient,
        assets_dir: Path,
        url_path: str,
        source: str,
        media_type: str,
    ) -> None:
        response = await client.get(f"{STATIC_URL}/{url_path}")
        assert response.status_code == 200
        assert response.content == (assets_dir / source).read_bytes()
        assert response.headers["content-type"].split(";")[0] == media_type
        assert response.headers["cache-control"] == IMMUTABLE

    @pytest.mark.parametrize(
        "url_path",
        [
            "swagger-ui-dist@5.0.0-test/package.json",
            "swagger-ui-dist@4.0.0/swagger-ui-bundle.js",
            "redoc@2.0.0-test/swagger-ui.css",
            "swagger-ui-dist@5.0.0-test/..%2F..%2Fredoc%2Fpackage.json",
        ],
    )
    async def test_nothing_else_is_served(self, client: httpx.AsyncClient, url_path: str) -> None:
        response = await client.get(f"{STATIC_URL}/{url_path}")
        assert response.status_code == 404


class TestWithoutAssets:
    @pytest.fixture
    async def bare_client(self, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
        async for client in _client(tmp_path / "missing"):
            yield client

    async def test_the_contract_is_still_served(self, bare_client: httpx.AsyncClient) -> None:
        response = await bare_client.get(OPENAPI_URL)
        assert response.status_code == 200
        assert response.json()["openapi"].startswith("3.1")

    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    async def test_pages_answer_503_saying_how_to_install(
        self, bare_client: httpx.AsyncClient, page: str
    ) -> None:
        response = await bare_client.get(page)
        assert response.status_code == 503
        assert "make docs-assets-update" in response.text

    def test_start_up_logs_the_missing_files(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="conduit.api.docs"):
            install_docs(FastAPI(), assets_dir=tmp_path / "missing")
        assert [record.getMessage() for record in caplog.records] == ["docs_assets_missing"]
        assert getattr(caplog.records[0], "path", None) == str(tmp_path / "missing")

    @pytest.mark.parametrize(
        "damage",
        ["redoc/bundles/redoc.standalone.js", "swagger-ui-dist/package.json", "corrupt-manifest"],
    )
    def test_a_missing_or_unreadable_file_counts_as_not_installed(
        self, assets_dir: Path, damage: str
    ) -> None:
        if damage == "corrupt-manifest":
            (assets_dir / "redoc" / "package.json").write_text("{not json")
        else:
            (assets_dir / damage).unlink()
        assert DocsAssets.find(assets_dir) is None


def test_asset_versions_are_pinned_exactly() -> None:
    manifest = json.loads((DOCS_ASSETS_PROJECT / "package.json").read_text())
    lock = json.loads((DOCS_ASSETS_PROJECT / "package-lock.json").read_text())
    assert manifest["dependencies"].keys() == PACKAGES.keys()
    for package, version in manifest["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{package} {version} is not exact"
        assert lock["packages"][f"node_modules/{package}"]["version"] == version
        assert lock["packages"][""]["dependencies"][package] == version


def test_the_vendored_files_are_the_pinned_versions() -> None:
    manifest = json.loads((DOCS_ASSETS_PROJECT / "package.json").read_text())
    assets = DocsAssets.find(DOCS_ASSETS_DIR)
    assert assets is not None, "vendored Swagger UI/ReDoc files are missing"
    served = {url.split("/")[0] for url in assets.files}
    assert served == {
        f"{package}@{version}" for package, version in manifest["dependencies"].items()
    }
