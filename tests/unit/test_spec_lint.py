"""`make spec-lint`: openapi-spec-validator and Spectral with Conduit's ruleset
(tools/spec-lint/spectral.yaml) pass on the contract, and each rule fires on a copy of the
contract broken on purpose.

Spectral runs once for the contract and all the broken copies (one Node.js start, a few
seconds). `make test` installs it first (`make spec-tools`); a bare `pytest` without it skips
these tests with the reason shown, except with CI=true, where they fail.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "openapi" / "conduit.yaml"
RULESET = ROOT / "tools" / "spec-lint" / "spectral.yaml"
SPECTRAL = ROOT / ".tools" / "spec-lint" / "node_modules" / ".bin" / "spectral"
IN_CI = os.environ.get("CI", "").lower() == "true"
BASELINE = "unchanged"

Doc = dict[str, Any]
Mutation = Callable[[Doc], None]


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    path: str


def _without(*keys: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        node: Any = doc
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return mutate


def _with(*keys: Any, value: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        node: Any = doc
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(doc: Doc) -> None:
        for mutation in mutations:
            mutation(doc)

    return mutate


TAGS = ("paths", "/tags", "get")
LOGIN = ("paths", "/users/login", "post")
ORPHANS = {
    "Orphan": {"type": "object", "properties": {"x": {"$ref": "#/components/schemas/OrphanPart"}}},
    "OrphanPart": {"type": "string"},
}


def _add_orphans(doc: Doc) -> None:
    doc["components"]["schemas"].update(copy.deepcopy(ORPHANS))


# name -> (how the copy is broken, rule expected to fire, the finding's message or None, path)
BROKEN: dict[str, tuple[Mutation, str, str | None, str]] = {
    "no-operation-id": (
        _without(*TAGS, "operationId"),
        "operation-operationId",
        None,
        "paths./tags.get",
    ),
    "no-summary": (
        _without(*TAGS, "summary"),
        "conduit-operation-summary",
        None,
        "paths./tags.get",
    ),
    "no-tag": (_without(*TAGS, "tags"), "operation-tags", None, "paths./tags.get"),
    "undeclared-tag": (
        _with(*TAGS, "tags", value=["Misc"]),
        "operation-tag-defined",
        None,
        "paths./tags.get.tags.0",
    ),
    "two-tags": (
        _with(*TAGS, "tags", value=["Tags", "Articles"]),
        "operation-singular-tag",
        None,
        "paths./tags.get.tags",
    ),
    "no-request-example": (
        _without(
            "components", "requestBodies", "LoginUserBody", "content", "application/json", "example"
        ),
        "conduit-request-example",
        "POST /users/login (Login): request body application/json has no example",
        "components.requestBodies.LoginUserBody.content.application/json",
    ),
    "no-response-example": (
        _without(*TAGS, "responses", "200", "content", "application/json", "example"),
        "conduit-response-example",
        "GET /tags (GetTags): response 200 application/json has no example",
        "paths./tags.get.responses.200.content.application/json",
    ),
    "example-off-schema": (
        _with(
            "components",
            "requestBodies",
            "LoginUserBody",
            "content",
            "application/json",
            "example",
            value={"user": {"email": 42, "password": "jakejake"}},
        ),
        "oas3-valid-media-example",
        None,
        "components.requestBodies.LoginUserBody.content.application/json.example.user.email",
    ),
    "protected-without-401": (
        _without("paths", "/profiles/{username}/follow", "post", "responses", "401"),
        "conduit-protected-responses",
        "POST /profiles/{username}/follow (FollowUserByUsername) requires authentication "
        "but does not document 401",
        "paths./profiles/{username}/follow.post.responses",
    ),
    "protected-without-403": (
        _without("paths", "/articles/{slug}", "delete", "responses", "403"),
        "conduit-protected-responses",
        "DELETE /articles/{slug} (DeleteArticle) requires authentication but does not document 403",
        "paths./articles/{slug}.delete.responses",
    ),
    "protected-by-root-security": (
        _both(_without(*TAGS, "security"), _with("security", value=[{"Token": []}])),
        "conduit-protected-responses",
        "GET /tags (GetTags) requires authentication but does not document 401",
        "paths./tags.get.responses",
    ),
    "role-restricted-read-without-403": (
        _without("paths", "/admin/users", "get", "responses", "403"),
        "conduit-protected-responses",
        "GET /admin/users (ListUsers) requires authentication but does not document 403",
        "paths./admin/users.get.responses",
    ),
    "unknown-role": (
        _with("paths", "/admin/users", "get", "security", value=[{"Token": ["superuser"]}]),
        "conduit-security-requirements",
        '"superuser" is not a role (Role)',
        "paths./admin/users.get.security.0.Token.0",
    ),
    "undefined-security-scheme": (
        _with(*TAGS, "security", value=[{"Cookie": []}]),
        "conduit-security-requirements",
        '"Cookie" is not a scheme of components.securitySchemes',
        "paths./tags.get.security.0.Cookie",
    ),
    "parameters-without-422": (
        _without("paths", "/articles/{slug}", "get", "responses", "422"),
        "conduit-input-validation-response",
        "GET /articles/{slug} (GetArticle) takes input but does not document 422",
        "paths./articles/{slug}.get.responses",
    ),
    "body-without-422": (
        _without(*LOGIN, "responses", "422"),
        "conduit-input-validation-response",
        "POST /users/login (Login) takes input but does not document 422",
        "paths./users/login.post.responses",
    ),
    "unused-schema": (
        _add_orphans,
        "conduit-no-unused-components",
        "components.schemas.OrphanPart is not used by any operation",
        "components.schemas.OrphanPart",
    ),
    "unused-security-scheme": (
        _with("components", "securitySchemes", "Basic", value={"type": "http", "scheme": "basic"}),
        "conduit-no-unused-components",
        "components.securitySchemes.Basic is not used by any operation",
        "components.securitySchemes.Basic",
    ),
}


def _spectral(files: list[Path], report: Path) -> list[dict[str, Any]]:
    if not SPECTRAL.exists():
        reason = f"Spectral is not installed at {SPECTRAL.relative_to(ROOT)}: run `make spec-tools`"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    command = [str(SPECTRAL), "lint", "--format=json", f"--output={report}", "--fail-severity=warn"]
    result = subprocess.run(  # noqa: S603 - fixed argv
        [*command, f"--ruleset={RULESET}", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SCARF_ANALYTICS": "false"},
    )
    if not report.exists():
        pytest.fail(f"Spectral did not run:\n{result.stdout}\n{result.stderr}")
    findings: list[dict[str, Any]] = json.loads(report.read_text(encoding="utf-8"))
    return findings


@pytest.fixture(scope="module")
def contract() -> Doc:
    loaded: Doc = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def findings(contract: Doc, tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[Finding]]:
    """Spectral's findings per copy: the unchanged contract and each broken copy."""
    folder = tmp_path_factory.mktemp("spec-lint")
    files = {BASELINE: folder / f"{BASELINE}.yaml"}
    files[BASELINE].write_text(CONTRACT.read_text(encoding="utf-8"), encoding="utf-8")
    for name, (mutate, *_) in BROKEN.items():
        broken = copy.deepcopy(contract)
        mutate(broken)
        files[name] = folder / f"{name}.yaml"
        files[name].write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
    by_copy: dict[str, set[Finding]] = {name: set() for name in files}
    for raw in _spectral(list(files.values()), folder / "report.json"):
        finding = Finding(raw["code"], raw["message"], ".".join(map(str, raw["path"])))
        by_copy[Path(raw["source"]).stem].add(finding)
    return by_copy


def test_contract_is_valid_openapi(contract: Doc) -> None:
    validate(contract)


def test_validator_rejects_a_response_without_description(contract: Doc) -> None:
    broken = copy.deepcopy(contract)
    del broken["paths"]["/tags"]["get"]["responses"]["200"]["description"]

    with pytest.raises(OpenAPIValidationError, match='"description" is a required property'):
        validate(broken)


def test_contract_follows_the_ruleset(findings: dict[str, set[Finding]]) -> None:
    problems = sorted(f"{f.path}: {f.message} [{f.rule}]" for f in findings[BASELINE])

    assert not problems, "openapi/conduit.yaml breaks the lint rules:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", BROKEN)
def test_rule_fires_on_broken_copy(findings: dict[str, set[Finding]], name: str) -> None:
    _, rule, message, path = BROKEN[name]
    new = findings[name] - findings[BASELINE]

    assert any(f.rule == rule and f.path == path and message in (None, f.message) for f in new), (
        sorted(new, key=str)
    )


def test_unused_components_are_found_transitively(findings: dict[str, set[Finding]]) -> None:
    unused = {f.path for f in findings["unused-schema"] if f.rule == "conduit-no-unused-components"}

    assert unused == {"components.schemas.Orphan", "components.schemas.OrphanPart"}


def test_public_and_optional_operations_need_no_403_and_inputless_ones_no_422(
    findings: dict[str, set[Finding]],
) -> None:
    about = [
        f.message
        for f in findings[BASELINE]
        if "GetTags" in f.message or "GetArticles)" in f.message
    ]

    assert about == []
