"""The contract the suite holds the app against, and its operations."""

from __future__ import annotations

from pathlib import Path

import yaml

CONTRACT = Path(__file__).resolve().parents[2] / "openapi" / "conduit.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operation_ids() -> list[str]:
    """Every operationId of the contract, in document order."""
    document = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
