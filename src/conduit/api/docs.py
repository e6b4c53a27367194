"""Serve the hand-written contract (not FastAPI's re-derivation of it) and its docs pages."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import yaml
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

CONTRACT_PATH = Path(__file__).resolve().parents[3] / "openapi" / "conduit.yaml"
OPENAPI_URL = "/api/openapi.json"


@lru_cache(maxsize=4)
def load_contract(path: Path = CONTRACT_PATH) -> dict[str, Any]:
    """The contract as a JSON-ready dict (read once per process)."""
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


def install_docs(app: FastAPI, contract_path: Path = CONTRACT_PATH) -> None:
    # Rendered once: the document is immutable for the life of the process.
    body = orjson.dumps(load_contract(contract_path))

    async def openapi_json() -> Response:
        return Response(body, media_type="application/json")

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=OPENAPI_URL, title="Conduit API")

    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=OPENAPI_URL, title="Conduit API")

    app.add_api_route(OPENAPI_URL, openapi_json, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
