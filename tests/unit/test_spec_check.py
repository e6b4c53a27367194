"""`make spec-check` (tools/spec_check): each kind of breaking change to the real contract is
reported in words, and additive changes pass."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.spec_check import Contract, breaking_changes
from tools.spec_check.cli import main

CONTRACT = Path(__file__).resolve().parents[2] / "openapi" / "conduit.yaml"
Doc = dict[str, Any]
Mutation = Callable[[Doc], None]


def _parent(doc: Doc, keys: tuple[Any, ...]) -> Any:
    node: Any = doc
    for key in keys[:-1]:
        node = node[key]
    return node


def put(*keys: Any, value: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        _parent(doc, keys)[keys[-1]] = copy.deepcopy(value)

    return mutate


def drop(*keys: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        del _parent(doc, keys)[keys[-1]]

    return mutate


def add(*keys: Any, value: Any) -> Mutation:
    """Append to the list at `keys`."""

    def mutate(doc: Doc) -> None:
        _parent(doc, keys)[keys[-1]].append(copy.deepcopy(value))

    return mutate


def remove(*keys: Any, value: Any) -> Mutation:
    """Remove `value` from the list at `keys`."""

    def mutate(doc: Doc) -> None:
        _parent(doc, keys)[keys[-1]].remove(value)

    return mutate


def rename(*keys: Any, to: str) -> Mutation:
    def mutate(doc: Doc) -> None:
        parent = _parent(doc, keys)
        parent[to] = parent.pop(keys[-1])

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(doc: Doc) -> None:
        for mutation in mutations:
            mutation(doc)

    return mutate


def schema(name: str, *keys: Any) -> tuple[Any, ...]:
    return ("components", "schemas", name, *keys)


def prop(name: str, field: str, *keys: Any) -> tuple[Any, ...]:
    return schema(name, "properties", field, *keys)


PARAMS = ("components", "parameters")
OPTIONAL_QUERY = {
    "name": "q",
    "in": "query",
    "description": "Search.",
    "schema": {"type": "string"},
}


@pytest.fixture(scope="module")
def contract() -> Doc:
    loaded: Doc = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return loaded


def changes(old: Doc, new: Doc) -> list[str]:
    return breaking_changes(Contract(old), Contract(new))


def changes_after(contract: Doc, mutate: Mutation) -> list[str]:
    new = copy.deepcopy(contract)
    mutate(new)
    return changes(contract, new)


BREAKING = [
    # operations, paths, ids, security
    pytest.param(
        drop("paths", "/articles/{slug}", "delete"),
        "DELETE /articles/{slug} (DeleteArticle) was removed",
        id="removed-method",
    ),
    pytest.param(drop("paths", "/tags"), "path /tags was removed (GET GetTags)", id="removed-path"),
    pytest.param(
        put("paths", "/tags", "get", "operationId", value="ListTags"),
        "GET /tags (GetTags): operationId GetTags renamed to ListTags",
        id="renamed-operation-id",
    ),
    pytest.param(
        drop("paths", "/tags", "get", "operationId"),
        "GET /tags (GetTags): operationId GetTags removed",
        id="removed-operation-id",
    ),
    pytest.param(
        put("paths", "/tags", "get", "security", value=[{"Token": []}]),
        "GET /tags (GetTags): now requires authentication (it was public)",
        id="public-to-protected",
    ),
    pytest.param(
        put("paths", "/articles", "get", "security", value=[{"Token": []}]),
        "GET /articles (GetArticles): now requires authentication (it was optional)",
        id="optional-to-protected",
    ),
    pytest.param(
        put("servers", value=[{"url": "/api/v2"}]),
        "server URL /api was removed",
        id="server-url",
    ),
    pytest.param(
        put("components", "securitySchemes", "Token", "name", value="X-Token"),
        "security scheme `Token`: name changed from Authorization to X-Token",
        id="security-scheme",
    ),
    # parameters
    pytest.param(
        add("paths", "/articles", "get", "parameters", value={**OPTIONAL_QUERY, "required": True}),
        "GET /articles (GetArticles): query parameter `q` is new and required",
        id="new-required-parameter",
    ),
    pytest.param(
        put(*PARAMS, "Limit", "required", value=True),
        "GET /articles (GetArticles): query parameter `limit` is now required",
        id="parameter-made-required",
    ),
    pytest.param(
        drop("paths", "/articles", "get", "parameters", 0),
        "GET /articles (GetArticles): query parameter `tag` was removed",
        id="removed-parameter",
    ),
    pytest.param(
        put(*PARAMS, "Limit", "schema", "maximum", value=50),
        "GET /articles/feed (GetArticlesFeed): query parameter `limit`: "
        "maximum lowered from 100 to 50",
        id="maximum-lowered",
    ),
    pytest.param(
        put(*PARAMS, "Offset", "schema", "minimum", value=1),
        "GET /articles (GetArticles): query parameter `offset`: minimum raised from 0 to 1",
        id="minimum-raised",
    ),
    pytest.param(
        put(*PARAMS, "Limit", "schema", "default", value=10),
        "GET /articles (GetArticles): query parameter `limit`: default changed from 20 to 10",
        id="default-changed",
    ),
    pytest.param(
        remove(*schema("ArticleSort", "enum"), value="title"),
        "GET /articles (GetArticles): query parameter `sort`: no longer accepts title",
        id="enum-narrowed",
    ),
    pytest.param(
        put(*PARAMS, "Slug", "schema", "pattern", value="^[a-z]+$"),
        "GET /articles/{slug} (GetArticle): path parameter `slug`: pattern changed from "
        "`^[a-z0-9]+(?:-[a-z0-9]+)*$` to `^[a-z]+$`",
        id="pattern-changed",
    ),
    pytest.param(
        put(*schema("CommentId", "type"), value="string"),
        "DELETE /articles/{slug}/comments/{id} (DeleteArticleComment): path parameter `id`: "
        "type changed from integer to string",
        id="parameter-type-changed",
    ),
    pytest.param(
        put(*PARAMS, "Sort", "explode", value=False),
        "GET /articles (GetArticles): query parameter `sort`: style/explode changed from "
        "('form', True) to ('form', False)",
        id="parameter-serialization",
    ),
    # request bodies
    pytest.param(
        both(
            put(*prop("NewArticle", "slug"), value={"type": "string"}),
            add(*schema("NewArticle", "required"), value="slug"),
        ),
        "POST /articles (CreateArticle): request body field `article.slug` is new and required",
        id="new-required-request-field",
    ),
    pytest.param(
        add(*schema("NewArticle", "required"), value="tagList"),
        "POST /articles (CreateArticle): request body field `article.tagList` is now required",
        id="request-field-made-required",
    ),
    pytest.param(
        drop(*prop("UpdateArticle", "body")),
        "PUT /articles/{slug} (UpdateArticle): request body field `article.body` was removed",
        id="removed-request-field",
    ),
    pytest.param(
        put(*schema("ArticleTitle", "maxLength"), value=100),
        "POST /articles (CreateArticle): request body field `article.title`: "
        "maxLength lowered from 255 to 100",
        id="max-length-lowered",
    ),
    pytest.param(
        put(*schema("Password", "minLength"), value=12),
        "POST /users (CreateUser): request body field `user.password`: "
        "minLength raised from 8 to 12",
        id="min-length-raised",
    ),
    pytest.param(
        put(*schema("Password", "pattern"), value="[0-9]"),
        "POST /users (CreateUser): request body field `user.password`: pattern `[0-9]` added",
        id="pattern-added",
    ),
    pytest.param(
        put(*schema("TagList", "maxItems"), value=5),
        "POST /articles (CreateArticle): request body field `article.tagList`: "
        "maxItems lowered from 10 to 5",
        id="max-items-lowered",
    ),
    pytest.param(
        put(*schema("TagList", "uniqueItems"), value=True),
        "POST /articles (CreateArticle): request body field `article.tagList`: uniqueItems added",
        id="unique-items-added",
    ),
    pytest.param(
        put(*schema("Bio", "type"), value="string"),
        "PUT /user (UpdateCurrentUser): request body field `user.bio`: no longer accepts null",
        id="request-null-removed",
    ),
    pytest.param(
        put(*schema("Image", "format"), value="uri"),
        "PUT /user (UpdateCurrentUser): request body field `user.image`: format uri added",
        id="format-added",
    ),
    pytest.param(
        put(*schema("ArticleBody", "type"), value="integer"),
        "POST /articles (CreateArticle): request body field `article.body`: "
        "type changed from string to integer",
        id="request-type-changed",
    ),
    pytest.param(
        put("components", "requestBodies", "NewCommentBody", "content", value={}),
        "POST /articles/{slug}/comments (CreateArticleComment): "
        "request body no longer accepts application/json",
        id="request-content-type-removed",
    ),
    pytest.param(
        drop("paths", "/users/login", "post", "requestBody"),
        "POST /users/login (Login): request body was removed",
        id="request-body-removed",
    ),
    # responses
    pytest.param(
        both(
            drop(*prop("Article", "favoritesCount")),
            remove(*schema("Article", "required"), value="favoritesCount"),
        ),
        "GET /articles/{slug} (GetArticle): response 200 field `article.favoritesCount` "
        "was removed",
        id="removed-response-field",
    ),
    pytest.param(
        remove(*schema("Profile", "required"), value="bio"),
        "GET /profiles/{username} (GetProfileByUsername): response 200 field `profile.bio` "
        "is now optional",
        id="response-field-made-optional",
    ),
    pytest.param(
        put(*prop("User", "email", "type"), value=["string", "null"]),
        "GET /user (GetCurrentUser): response 200 field `user.email`: may now be null",
        id="response-field-made-nullable",
    ),
    pytest.param(
        put(*prop("User", "token", "maxLength"), value=8192),
        "GET /user (GetCurrentUser): response 200 field `user.token`: "
        "maxLength raised from 4096 to 8192",
        id="response-max-length-raised",
    ),
    pytest.param(
        drop(*prop("Comment", "id", "minimum")),
        "GET /articles/{slug}/comments (GetArticleComments): response 200 field "
        "`comments[].id`: minimum 1 removed",
        id="response-minimum-removed",
    ),
    pytest.param(
        put(*schema("MultipleArticlesResponse", "properties", "articles", "maxItems"), value=200),
        "GET /articles (GetArticles): response 200 field `articles`: "
        "maxItems raised from 100 to 200",
        id="response-max-items-raised",
    ),
    pytest.param(
        put(*prop("Article", "favoritesCount", "type"), value="number"),
        "GET /articles/{slug} (GetArticle): response 200 field `article.favoritesCount`: "
        "type changed from integer to number",
        id="response-type-widened",
    ),
    pytest.param(
        put(*schema("Timestamp", "format"), value="date"),
        "GET /articles/{slug} (GetArticle): response 200 field `article.createdAt`: "
        "format changed from date-time to date",
        id="response-format-changed",
    ),
    pytest.param(
        drop(*prop("GenericErrorModel", "errors", "additionalProperties")),
        "GET /user (GetCurrentUser): response 401 field `errors`: "
        "additional properties are no longer restricted by a schema",
        id="response-additional-properties-loosened",
    ),
    pytest.param(
        rename("paths", "/users", "post", "responses", "201", to="200"),
        "POST /users (CreateUser): no longer returns status 201",
        id="removed-success-status",
    ),
    pytest.param(
        rename(
            "components", "responses", "ProfileOk", "content", "application/json", to="text/plain"
        ),
        "GET /profiles/{username} (GetProfileByUsername): response 200 no longer has "
        "content type application/json",
        id="removed-response-content-type",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), BREAKING)
def test_reports_breaking_change(contract: Doc, mutate: Mutation, expected: str) -> None:
    assert expected in changes_after(contract, mutate)


def test_shared_component_change_is_reported_for_every_operation_using_it(contract: Doc) -> None:
    found = changes_after(contract, put(*PARAMS, "Limit", "schema", "maximum", value=50))

    assert [change.split(":")[0] for change in found] == [
        "GET /articles/feed (GetArticlesFeed)",
        "GET /articles (GetArticles)",
        "GET /admin/users (ListUsers)",
    ]


def test_request_additional_properties_tightened(contract: Doc) -> None:
    old = copy.deepcopy(contract)
    drop(*schema("NewComment", "additionalProperties"))(old)

    assert changes(old, contract) == [
        "POST /articles/{slug}/comments (CreateArticleComment): request body field `comment`: "
        "no longer accepts additional properties"
    ]


def test_request_body_made_required(contract: Doc) -> None:
    old = copy.deepcopy(contract)
    put("components", "requestBodies", "UpdateArticleBody", "required", value=False)(old)

    assert changes(old, contract) == [
        "PUT /articles/{slug} (UpdateArticle): request body is now required"
    ]


ADDITIVE = [
    pytest.param(lambda doc: None, id="unchanged"),
    pytest.param(
        add("paths", "/articles", "get", "parameters", value=OPTIONAL_QUERY),
        id="new-optional-parameter",
    ),
    pytest.param(
        put(
            "paths",
            "/health",
            value={"get": {"operationId": "Health", "responses": {"200": {"description": "Up."}}}},
        ),
        id="new-path",
    ),
    pytest.param(
        put(
            "paths",
            "/tags",
            "post",
            value={"operationId": "CreateTag", "responses": {"201": {"description": "Made."}}},
        ),
        id="new-method",
    ),
    pytest.param(
        put(*prop("NewArticle", "draft"), value={"type": "boolean"}),
        id="new-optional-request-field",
    ),
    pytest.param(
        both(
            put(*prop("Article", "readingTime"), value={"type": "integer"}),
            add(*schema("Article", "required"), value="readingTime"),
        ),
        id="new-response-field",
    ),
    pytest.param(
        put(
            "paths",
            "/tags",
            "get",
            "responses",
            "429",
            value={"$ref": "#/components/responses/InternalError"},
        ),
        id="new-error-status",
    ),
    pytest.param(
        drop("paths", "/articles/{slug}", "get", "responses", "404"), id="removed-error-status"
    ),
    pytest.param(
        add(*schema("ArticleSort", "enum"), value="-updatedAt"), id="request-enum-widened"
    ),
    pytest.param(
        put(*schema("ArticleTitle", "maxLength"), value=300), id="request-max-length-raised"
    ),
    pytest.param(drop(*schema("ArticleTitle", "pattern")), id="request-pattern-removed"),
    pytest.param(
        remove(*schema("NewArticle", "required"), value="description"),
        id="request-field-made-optional",
    ),
    pytest.param(
        put(*schema("Password", "type"), value=["string", "null"]), id="request-null-allowed"
    ),
    pytest.param(put(*prop("Profile", "bio", "type"), value="string"), id="response-null-removed"),
    pytest.param(
        put(*prop("User", "token", "maxLength"), value=2048), id="response-max-length-lowered"
    ),
    pytest.param(
        put("paths", "/tags", "get", "security", value=[{"Token": []}, {}]), id="public-to-optional"
    ),
    pytest.param(drop("paths", "/articles/feed", "get", "responses", "401"), id="removed-401"),
]


@pytest.mark.parametrize("mutate", ADDITIVE)
def test_additive_change_passes(contract: Doc, mutate: Mutation) -> None:
    assert changes_after(contract, mutate) == []


def test_renaming_a_path_parameter_passes(contract: Doc) -> None:
    new = copy.deepcopy(contract)
    new["paths"] = {
        path.replace("{slug}", "{article}"): item for path, item in new["paths"].items()
    }
    new["components"]["parameters"]["Slug"]["name"] = "article"

    assert changes(contract, new) == []


class TestMovedOperation:
    def test_removed_method_names_the_new_place(self, contract: Doc) -> None:
        new = copy.deepcopy(contract)
        new["paths"]["/articles"]["delete"] = new["paths"]["/articles/{slug}"].pop("delete")

        assert changes(contract, new) == [
            "DELETE /articles/{slug} (DeleteArticle) was removed (now at DELETE /articles)"
        ]

    def test_removed_path_names_the_new_place(self, contract: Doc) -> None:
        new = copy.deepcopy(contract)
        new["paths"]["/tag-list"] = new["paths"].pop("/tags")

        assert changes(contract, new) == [
            "path /tags was removed (GET GetTags, now at GET /tag-list)"
        ]


def _mini(response: Any, headers: Any = None) -> Doc:
    """A one-operation contract returning `response` (a schema), for the generic machinery."""
    ok: Doc = {"description": "OK", "content": {"application/json": {"schema": response}}}
    if headers is not None:
        ok["headers"] = headers
    request = {"content": {"application/json": {"schema": response}}}
    operation = {"operationId": "Op", "requestBody": request, "responses": {"200": ok}}
    return {
        "openapi": "3.1.0",
        "paths": {"/x": {"post": operation}},
        "components": {
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "children": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Node"},
                        },
                        "name": {"type": "string"},
                    },
                },
                "A": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                "B": {
                    "type": "object",
                    "properties": {"b": {"type": "integer"}},
                    "required": ["b"],
                },
            }
        },
    }


class TestGenericSchemas:
    def test_recursive_schema_terminates_and_finds_nested_change(self) -> None:
        old = _mini({"$ref": "#/components/schemas/Node"})
        new = copy.deepcopy(old)
        new["components"]["schemas"]["Node"]["properties"]["name"]["maxLength"] = 10

        assert changes(old, new) == [
            "POST /x (Op): request body field `name`: maxLength 10 added",
        ]

    def test_one_of_alternative_removed_breaks_requests_added_breaks_responses(self) -> None:
        one = _mini({"oneOf": [{"$ref": "#/components/schemas/A"}]})
        two = _mini(
            {"oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]}
        )

        assert changes(two, one) == ["POST /x (Op): request body: no longer accepts `B`"]
        assert changes(one, two) == ["POST /x (Op): response 200: may now be `B`"]

    def test_all_of_members_are_merged(self) -> None:
        old = _mini(
            {"allOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}]}
        )
        new = _mini({"allOf": [{"$ref": "#/components/schemas/A"}]})

        assert changes(old, new) == [
            "POST /x (Op): request body field `b` was removed",
            "POST /x (Op): response 200 field `b` was removed",
        ]

    def test_response_enum_widened(self) -> None:
        old = _mini({"type": "string", "enum": ["a"]})
        new = _mini({"type": "string", "enum": ["a", "b"]})

        assert changes(old, new) == ["POST /x (Op): response 200: may now be b"]

    def test_response_header_removed(self) -> None:
        old = _mini({"type": "string"}, headers={"Retry-After": {"schema": {"type": "integer"}}})
        new = _mini({"type": "string"}, headers={})

        assert changes(old, new) == [
            "POST /x (Op): response 200 no longer has the header Retry-After"
        ]


class TestCli:
    def test_unchanged_contract_exits_0(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--contract", str(CONTRACT), "--base-file", str(CONTRACT)]) == 0
        assert "no breaking changes" in capsys.readouterr().out

    def test_breaking_change_exits_1_and_lists_it(
        self, contract: Doc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        new = copy.deepcopy(contract)
        del new["paths"]["/tags"]
        changed = tmp_path / "conduit.yaml"
        changed.write_text(yaml.safe_dump(new), encoding="utf-8")

        assert main(["--contract", str(changed), "--base-file", str(CONTRACT)]) == 1
        assert "  - path /tags was removed (GET GetTags)" in capsys.readouterr().err.splitlines()

    def test_base_is_read_from_a_git_ref(
        self, contract: Doc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        spec = tmp_path / "openapi" / "conduit.yaml"
        spec.parent.mkdir()
        spec.write_text(CONTRACT.read_text(encoding="utf-8"), encoding="utf-8")
        _git(tmp_path, "init", "--quiet", "--initial-branch=main")
        _git(tmp_path, "add", ".")
        _git(tmp_path, "commit", "--quiet", "--message=contract")
        spec.write_text(
            spec.read_text(encoding="utf-8").replace("maxLength: 4096", "maxLength: 9999"),
            encoding="utf-8",
        )

        assert main(["--contract", str(spec), "--base", "main"]) == 1
        assert "maxLength raised from 4096 to 9999" in capsys.readouterr().err

    def test_unknown_ref_exits_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--contract", str(CONTRACT), "--base", "no-such-ref-anywhere"]) == 2
        assert "cannot read" in capsys.readouterr().err


def _git(cwd: Path, *args: str) -> None:
    identity = ["-c", "user.name=spec-check", "-c", "user.email=spec-check@example.invalid"]
    subprocess.run(["git", *identity, *args], cwd=cwd, check=True)  # noqa: S603, S607
