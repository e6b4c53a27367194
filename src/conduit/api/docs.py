"""Serve the hand-written contract (not FastAPI's re-derivation of it) and its docs pages.

Swagger UI (/docs) and ReDoc (/redoc) load their JavaScript and CSS from this server, out of
copies vendored under ``static/`` (with their licenses) from the npm packages pinned in
tools/docs-assets/package-lock.json, so the pages work with no internet and `make run` needs no
Node.js. `make docs-assets-update` refreshes the copies. Should the files be missing from an
install, the API still serves; the two pages answer 503.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import yaml
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CONTRACT_PATH = PROJECT_ROOT / "openapi" / "conduit.yaml"
DOCS_ASSETS_DIR = Path(__file__).resolve().parent / "static"
OPENAPI_URL = "/api/openapi.json"
STATIC_URL = "/docs/static"
TITLE = "Conduit API"
# The version is part of every asset URL, so an upgrade changes the URL and browsers may keep
# each file for good.
IMMUTABLE = "public, max-age=31536000, immutable"


def docs_csp(*inline_scripts: str) -> str:
    """The Content-Security-Policy of a docs page: everything from this server only.

    Inline scripts are allowed one by one, by hash (Swagger UI's start-up call); inline styles
    are allowed, as both bundles inject ``<style>`` elements at run time. Images come from this
    server or ``data:`` URIs only: ReDoc 2.5.4 hard-codes its logo in the sidebar footer from
    cdn.redoc.ly (and hides the image when it fails to load).
    """
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in inline_scripts
    ]
    return "; ".join(
        (
            "default-src 'none'",
            " ".join(("script-src 'self'", *hashes)),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


REDOC_CSP = docs_csp()
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

# URL name -> (npm package, file inside it, media type). Nothing else under node_modules is served.
_ASSET_FILES: dict[str, tuple[str, str, str]] = {
    "swagger-ui-bundle.js": ("swagger-ui-dist", "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": ("swagger-ui-dist", "swagger-ui.css", "text/css"),
    "favicon.png": ("swagger-ui-dist", "favicon-32x32.png", "image/png"),
    "redoc.standalone.js": ("redoc", "bundles/redoc.standalone.js", "text/javascript"),
}
_SWAGGER_UI_PARAMETERS: dict[str, Any] = {
    # Swagger UI would otherwise send the document to an online validator.
    "validatorUrl": None,
    "displayOperationId": True,
}


@dataclass(frozen=True)
class DocsAssets:
    """The installed asset files, by URL path under STATIC_URL."""

    files: dict[str, tuple[Path, str]]
    urls: dict[str, str]

    @classmethod
    def find(cls, root: Path = DOCS_ASSETS_DIR) -> DocsAssets | None:
        """The assets under ``root``, or None if any file is missing or unreadable."""
        files: dict[str, tuple[Path, str]] = {}
        urls: dict[str, str] = {}
        for name, (package, relative, media_type) in _ASSET_FILES.items():
            path = root / package / relative
            try:
                version = str(
                    orjson.loads((root / package / "package.json").read_bytes())["version"]
                )
            except (OSError, ValueError, KeyError, TypeError):
                return None
            if not path.is_file():
                return None
            url_path = f"{package}@{version}/{name}"
            files[url_path] = (path, media_type)
            urls[name] = f"{STATIC_URL}/{url_path}"
        return cls(files=files, urls=urls)


@lru_cache(maxsize=4)
def load_contract(path: Path = CONTRACT_PATH) -> dict[str, Any]:
    """The contract as a JSON-ready dict (read once per process)."""
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


def _assets_missing_page(page: str) -> HTMLResponse:
    # The server's own paths stay in its log (docs_assets_missing), out of the response.
    message = (
        f"<!DOCTYPE html><title>{TITLE}</title><h1>{page} is not installed</h1>"
        "<p>Its JavaScript and CSS files are missing on this server. "
        "Run <code>make docs-assets-update</code> and restart it. The contract itself is at "
        f'<a href="{OPENAPI_URL}">{OPENAPI_URL}</a>.</p>'
    )
    return HTMLResponse(message, status_code=503)


def _swagger_ui_page(assets: DocsAssets) -> tuple[bytes, str]:
    """Swagger UI's page, and the policy that lets exactly its inline script run."""
    html = bytes(
        get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=TITLE,
            swagger_js_url=assets.urls["swagger-ui-bundle.js"],
            swagger_css_url=assets.urls["swagger-ui.css"],
            swagger_favicon_url=assets.urls["favicon.png"],
            swagger_ui_parameters=_SWAGGER_UI_PARAMETERS,
        ).body
    )
    return html, docs_csp(*_INLINE_SCRIPT.findall(html.decode()))


def install_docs(
    app: FastAPI, contract_path: Path = CONTRACT_PATH, assets_dir: Path = DOCS_ASSETS_DIR
) -> None:
    # Rendered once: the document is immutable for the life of the process.
    body = orjson.dumps(load_contract(contract_path))
    assets = DocsAssets.find(assets_dir)
    if assets is None:
        logger.warning("docs_assets_missing", extra={"path": str(assets_dir)})

    async def openapi_json() -> Response:
        return Response(body, media_type="application/json")

    swagger_page = _swagger_ui_page(assets) if assets is not None else None

    async def swagger_ui() -> HTMLResponse:
        if swagger_page is None:
            return _assets_missing_page("Swagger UI")
        html, csp = swagger_page
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    async def redoc() -> HTMLResponse:
        if assets is None:
            return _assets_missing_page("ReDoc")
        page = get_redoc_html(
            openapi_url=OPENAPI_URL,
            title=TITLE,
            redoc_js_url=assets.urls["redoc.standalone.js"],
            redoc_favicon_url=assets.urls["favicon.png"],
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_CSP
        return page

    async def static_file(bundle: str, name: str) -> Response:
        found = assets.files.get(f"{bundle}/{name}") if assets else None
        if found is None:
            return Response(status_code=404)
        path, media_type = found
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": IMMUTABLE})

    app.add_api_route(OPENAPI_URL, openapi_json, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        STATIC_URL + "/{bundle}/{name}", static_file, methods=["GET"], include_in_schema=False
    )
