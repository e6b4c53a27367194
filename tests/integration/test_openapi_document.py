"""The served document is the contract, and FastAPI's own view of the routes agrees with it.

FastAPI derives an OpenAPI document from the routes it actually registered. If a template or a
binding drifted from the contract (a lost parameter, a status code, a security requirement), the
derived document shows it; these tests hold the two against each other operation by operation.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI

from conduit.core.settings import Settings
from conduit.main import create_app

CONTRACT = Path(__file__).resolve().parents[2] / "openapi" / "conduit.yaml"
METHODS = ("get", "put", "post", "delete", "patch")
PREFIX = "/api"


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    with CONTRACT.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(Settings(var_dir=tmp_path_factory.mktemp("var")))


@pytest.fixture(scope="module")
def derived(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(document: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {prefix}{path}", item[method]


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def by_operation_id(document: dict[str, Any], prefix: str = "") -> dict[str, tuple[str, Any]]:
    return {op["operationId"]: (key, op) for key, op in operations(document, prefix)}


def parameters(document: dict[str, Any], operation: dict[str, Any]) -> set[tuple[str, str, bool]]:
    found = set()
    for raw in operation.get("parameters", []):
        param = resolve(document, raw)
        found.add((param["name"], param["in"], bool(param.get("required", False))))
    return found


def schemes(operation: dict[str, Any]) -> set[str]:
    return {name for requirement in operation.get("security") or [] for name in requirement}


def roles(operation: dict[str, Any]) -> set[str]:
    """The roles (OpenAPI 3.1) or scopes the security requirements list."""
    return {
        role
        for requirement in operation.get("security") or []
        for listed in requirement.values()
        for role in listed
    }


async def test_the_served_document_is_the_contract(app: FastAPI, contract: dict[str, Any]) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://conduit") as client:
        response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == contract


def test_fastapi_registers_exactly_the_contract_operations(
    contract: dict[str, Any], derived: dict[str, Any]
) -> None:
    expected = {key: op["operationId"] for key, op in operations(contract, PREFIX)}
    actual = {key: op.get("operationId") for key, op in operations(derived)}
    assert actual == expected


ASPECTS = ("parameters", "request body", "status codes", "security", "roles")


def mismatches(contract: dict[str, Any], derived: dict[str, Any]) -> list[str]:
    """Every way the app's registered routes differ from the contract, in plain words."""
    found = by_operation_id(derived)
    problems = []
    for operation_id, (_, spec) in by_operation_id(contract, PREFIX).items():
        if operation_id not in found:
            problems.append(f"{operation_id}: not registered")
            continue
        _, actual = found[operation_id]
        for aspect in ASPECTS:
            expected_value, actual_value = _aspect(aspect, contract, spec, derived, actual)
            if expected_value != actual_value:
                problems.append(
                    f"{operation_id} {aspect}: contract {expected_value!r}, app {actual_value!r}"
                )
    return problems


def test_each_operation_matches_the_contract(
    contract: dict[str, Any], derived: dict[str, Any]
) -> None:
    assert mismatches(contract, derived) == []


class TestTheComparisonCatchesDrift:
    """Break FastAPI's view on purpose and see the comparison name the break."""

    def test_a_lost_query_parameter(
        self, contract: dict[str, Any], derived: dict[str, Any]
    ) -> None:
        broken = copy.deepcopy(derived)
        operation = broken["paths"]["/api/articles"]["get"]
        operation["parameters"] = [p for p in operation["parameters"] if p["name"] != "tag"]
        assert [m for m in mismatches(contract, broken) if m.startswith("GetArticles param")]

    def test_an_undocumented_status_code(
        self, contract: dict[str, Any], derived: dict[str, Any]
    ) -> None:
        broken = copy.deepcopy(derived)
        broken["paths"]["/api/user"]["get"]["responses"]["418"] = {"description": "teapot"}
        assert mismatches(contract, broken) == [
            "GetCurrentUser status codes: contract ['200', '401', '500', '503'], "
            "app ['200', '401', '418', '500', '503']"
        ]

    def test_a_protected_operation_left_public(
        self, contract: dict[str, Any], derived: dict[str, Any]
    ) -> None:
        broken = copy.deepcopy(derived)
        del broken["paths"]["/api/articles"]["post"]["security"]
        assert mismatches(contract, broken) == [
            "CreateArticle security: contract ['Token'], app []"
        ]

    def test_an_admin_operation_open_to_any_user(
        self, contract: dict[str, Any], derived: dict[str, Any]
    ) -> None:
        broken = copy.deepcopy(derived)
        broken["paths"]["/api/admin/users"]["get"]["security"] = [{"Token": []}]
        assert mismatches(contract, broken) == ["ListUsers roles: contract ['admin'], app []"]

    def test_a_missing_request_body(
        self, contract: dict[str, Any], derived: dict[str, Any]
    ) -> None:
        broken = copy.deepcopy(derived)
        del broken["paths"]["/api/users"]["post"]["requestBody"]
        assert mismatches(contract, broken) == [
            "CreateUser request body: contract (True, 'NewUserRequest'), app None"
        ]

    def test_an_operation_that_is_not_registered(
        self, contract: dict[str, Any], derived: dict[str, Any]
    ) -> None:
        broken = copy.deepcopy(derived)
        del broken["paths"]["/api/tags"]
        assert mismatches(contract, broken) == ["GetTags: not registered"]


def _aspect(
    aspect: str,
    contract: dict[str, Any],
    spec: dict[str, Any],
    derived: dict[str, Any],
    actual: dict[str, Any],
) -> tuple[object, object]:
    if aspect == "parameters":
        return sorted(parameters(contract, spec)), sorted(parameters(derived, actual))
    if aspect == "request body":
        return _body(contract, spec), _body(derived, actual)
    if aspect == "status codes":
        return sorted(spec["responses"]), sorted(actual["responses"])
    if aspect == "roles":
        return sorted(roles(spec)), sorted(roles(actual))
    return sorted(schemes(spec)), sorted(schemes(actual))


def _body(document: dict[str, Any], operation: dict[str, Any]) -> tuple[bool, str] | None:
    """(required, schema component name) of the JSON request body, or None."""
    if "requestBody" not in operation:
        return None
    body = resolve(document, operation["requestBody"])
    schema = body["content"]["application/json"]["schema"]
    return bool(body.get("required", False)), schema["$ref"].rsplit("/", 1)[-1]
