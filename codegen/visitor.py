"""Project visitor for fastapi-code-generator: hands the whole contract to the templates.

fastapi-code-generator calls ``visit(parser, model_path)`` and merges the returned dict into the
variables of every template in ``codegen/templates``. Its own per-operation data drops what this
project needs (content-less responses, security alternatives, parameter constraints, defaults
declared on referenced schemas, tags' descriptions), so this visitor reads the parsed document
(``parser.raw_obj``) itself and returns one ``contract`` object: tags in document order, each with
its operations in document order, every type already spelled as Python.

Anything the templates could not render faithfully is a ``ContractError`` naming the operation
and what to change in the contract; the generator fails rather than guessing.

This file is loaded by path (not imported as a package module), so it stays self-contained.
"""

# No `from __future__ import annotations`: fastapi-code-generator loads this file without
# registering it in sys.modules, and dataclasses would then fail to resolve string annotations.

import copy
import json
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi_code_generator.parser import OpenAPIParser, snakecase

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_MEDIA_TYPE = "application/json"
SCHEMA_REF_PREFIX = "#/components/schemas/"
SECURITY_SCHEME = "Token"
# A role named in a security requirement (OpenAPI 3.1: `Token: [admin]`).
ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]*")

SCALAR_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
# What a route reads a scalar parameter as, where plain Python types would be too lax
# (generated.fields); the interfaces keep the plain types.
ROUTE_TYPES = {"int": "IntParam", "bool": "BoolParam"}
# JSON Schema keyword -> FastAPI Path()/Query() keyword.
PARAM_CONSTRAINTS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
}
UNSUPPORTED_FORMATS = ("date-time", "date", "time", "binary", "byte")
# Names the generated route functions use for themselves.
RESERVED_ARGUMENTS = {"impl", "self", "response", "response_headers"}
# Arguments come path first, then query, then header parameters, each in contract order.
PARAMETER_ORDER = {"path": 0, "query": 1, "header": 2}
# OpenAPI says a header parameter with one of these names is ignored: the security scheme and the
# media types describe them.
IGNORED_HEADERS = {"accept", "authorization", "content-type"}


class ContractError(Exception):
    """The contract uses something the project templates cannot render faithfully."""


@dataclass(frozen=True)
class Parameter:
    name: str  # as in the contract
    py_name: str  # snake_case argument name
    location: str  # "path", "query" or "header"
    annotation: str  # Python type of the argument, e.g. "int", "str | None", "ArticleSort"
    default: str | None  # Python expression, None when the argument is required
    fastapi_call: str  # e.g. 'Query(ge=1, le=100)'
    model: str | None  # the generated.models name the annotation uses (enums), if any

    @property
    def interface_argument(self) -> str:
        text = f"{self.py_name}: {self.annotation}"
        return text if self.default is None else f"{text} = {self.default}"

    @property
    def route_annotation(self) -> str:
        scalar, optional, _ = self.annotation.partition(" | None")
        return ROUTE_TYPES.get(scalar, scalar) + optional

    @property
    def route_argument(self) -> str:
        text = f"{self.py_name}: Annotated[{self.route_annotation}, {self.fastapi_call}]"
        return text if self.default is None else f"{text} = {self.default}"


@dataclass(frozen=True)
class Body:
    model: str
    required: bool

    @property
    def annotation(self) -> str:
        return self.model if self.required else f"{self.model} | None"

    @property
    def argument(self) -> str:
        return f"body: {self.annotation}" if self.required else f"body: {self.annotation} = None"


@dataclass(frozen=True)
class ResponseHeader:
    """A header of an operation's success response, as the implementation sets it."""

    name: str  # as in the contract, e.g. "ETag"
    py_name: str  # field of the operation's <OperationId>ResponseHeaders class, e.g. "etag"
    annotation: str  # "str" or "int"
    required: bool
    description: str  # on one line

    @property
    def wire_value(self) -> str:
        """The field as the header's text."""
        field = f"self.{self.py_name}"
        return field if self.annotation == "str" else f"str({field})"


@dataclass(frozen=True)
class ErrorResponse:
    status: str  # "401", "4XX" or "default"
    model: str | None
    description: str

    @property
    def key(self) -> str:
        return self.status if self.status.isdigit() else json.dumps(self.status)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method_name: str  # snake_case(operationId): interface method and route function name
    http_method: str  # lower case
    path: str  # relative to the mount prefix, exactly as in the contract
    summary: str
    description: str
    tag: str
    security: str  # "public", "required" or "optional"
    status_code: int
    success_description: str
    response_model: str | None  # None: the success response has no body (e.g. 204)
    error_responses: tuple[ErrorResponse, ...]
    parameters: tuple[Parameter, ...]  # path, then query, then header; contract order
    body: Body | None
    response_headers: tuple[ResponseHeader, ...]  # of the success response
    roles: tuple[str, ...] = ()  # the caller must have one of these roles (security requirement)

    @property
    def security_arguments(self) -> str:
        """What follows the auth dependency in the route's `Security(...)`: the roles, as scopes."""
        return f", scopes=[{', '.join(py(role) for role in self.roles)}]" if self.roles else ""

    @property
    def headers_class(self) -> str | None:
        """The class the implementation fills with the success response's headers, if any."""
        return f"{self.operation_id}ResponseHeaders" if self.response_headers else None

    @property
    def interface_arguments(self) -> list[str]:
        args = [p.interface_argument for p in self.parameters]
        args += [self.body.argument] if self.body else []
        return args + ([f"response_headers: {self.headers_class}"] if self.headers_class else [])

    @property
    def route_arguments(self) -> list[str]:
        args = [p.route_argument for p in self.parameters]
        args += [self.body.argument] if self.body else []
        # FastAPI's own Response parameter: headers set on it go out with the returned model.
        return args + (["response: Response"] if self.headers_class and self.response_model else [])

    @property
    def call_arguments(self) -> list[str]:
        names = [p.py_name for p in self.parameters] + (["body"] if self.body else [])
        names += ["response_headers"] if self.headers_class else []
        return [f"{name}={name}" for name in names]

    @property
    def return_annotation(self) -> str:
        return self.response_model or "None"


@dataclass(frozen=True)
class Tag:
    name: str
    description: str
    class_name: str  # <Tag>Api
    field_name: str  # snake_case(tag): the Providers field
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class Contract:
    title: str
    version: str
    tags: tuple[Tag, ...]
    operations: tuple[Operation, ...]
    models: tuple[str, ...]  # names the routes import from generated.models
    interface_models: tuple[str, ...]  # names the interfaces import (no error models)

    @property
    def with_response_headers(self) -> tuple[Operation, ...]:
        """The operations whose success response documents headers, in contract order."""
        return tuple(op for op in self.operations if op.headers_class)


class _Document:
    """Resolves local references inside the contract."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def resolve(self, obj: Any, where: str) -> Any:
        seen: set[str] = set()
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
                raise ContractError(f"{where}: unsupported or circular $ref {ref!r}")
            seen.add(ref)
            target: Any = self.raw
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise ContractError(f"{where}: $ref {ref!r} points nowhere")
                target = target[part]
            obj = target
        return obj

    def schema_name(self, schema: Any, where: str) -> str:
        """The component name a schema refers to; inline schemas are refused."""
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if not isinstance(ref, str) or not ref.startswith(SCHEMA_REF_PREFIX):
            raise ContractError(
                f"{where}: the schema must be a $ref to #/components/schemas/<Name> so the model "
                "gets the component's name (inline schemas get path-derived names)"
            )
        name = ref[len(SCHEMA_REF_PREFIX) :]
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ContractError(f"{where}: schema name {name!r} is not a Python identifier")
        self.resolve(schema, where)
        return name


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, list):
        return [str(t) for t in declared]
    return [str(declared)] if declared is not None else []


def _json_media(doc: _Document, container: dict[str, Any], where: str) -> dict[str, Any] | None:
    content = container.get("content") or {}
    if not content:
        return None
    if set(content) != {JSON_MEDIA_TYPE}:
        raise ContractError(
            f"{where}: only {JSON_MEDIA_TYPE} content is supported, got {sorted(content)}"
        )
    media = content[JSON_MEDIA_TYPE]
    if not isinstance(media, dict) or "schema" not in media:
        raise ContractError(f"{where}: {JSON_MEDIA_TYPE} content has no schema")
    return media


def _security(raw_op: dict[str, Any], raw_doc: dict[str, Any], where: str) -> str:
    requirements = raw_op.get("security", raw_doc.get("security", []))
    if not requirements:
        return "public"
    anonymous = False
    for requirement in requirements:
        if requirement == {}:
            anonymous = True
        elif set(requirement) != {SECURITY_SCHEME}:
            raise ContractError(
                f"{where}: security requirement {requirement!r} is not supported; use [], "
                f"[{{{SECURITY_SCHEME}: []}}], [{{{SECURITY_SCHEME}: [<role>, ...]}}] or "
                f"[{{{SECURITY_SCHEME}: []}}, {{}}]"
            )
    if anonymous and len(requirements) == 1:
        return "public"
    return "optional" if anonymous else "required"


def _roles(raw_op: dict[str, Any], raw_doc: dict[str, Any], where: str) -> tuple[str, ...]:
    """The roles a caller needs (OpenAPI 3.1 role names on a non-OAuth scheme), or ()."""
    requirements = raw_op.get("security", raw_doc.get("security", []))
    listed = [list(r.get(SECURITY_SCHEME) or []) for r in requirements if r]
    if not any(listed):
        return ()
    roles = listed[0]
    well_formed = all(isinstance(role, str) and ROLE_NAME.fullmatch(role) for role in roles)
    if len(requirements) != 1 or not well_formed:
        raise ContractError(
            f"{where}: roles go in the only security requirement, as lower-case names: "
            f"[{{{SECURITY_SCHEME}: [admin]}}]"
        )
    if len(set(roles)) != len(roles):
        raise ContractError(f"{where}: a role is listed twice")
    return tuple(roles)


def py(value: Any) -> str:
    """A Python literal for a scalar of the contract; strings in double quotes."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool | int | float) or value is None:
        return repr(value)
    raise ContractError(f"{value!r} is not a scalar")


def docstring(text: str) -> str:
    """The body of a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()


def header_name(name: str) -> str:
    """The Python name of a header: `Idempotency-Key` -> `idempotency_key`, `ETag` -> `etag`."""
    return re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()


def _parameter(doc: _Document, raw: Any, where: str, models: set[str]) -> Parameter:
    param = doc.resolve(raw, where)
    name = param.get("name")
    location = param.get("in")
    where = f"{where} parameter {name!r}"
    if location not in PARAMETER_ORDER:
        raise ContractError(f"{where}: parameters in {location!r} are not supported")
    if "schema" not in param or "content" in param:
        raise ContractError(f"{where}: give the parameter a `schema`")
    if location == "header":
        if str(name).lower() in IGNORED_HEADERS:
            raise ContractError(f"{where}: OpenAPI ignores a header parameter with this name")
        if _types(doc.resolve(param["schema"], where)) != ["string"]:
            raise ContractError(f"{where}: header parameters must be strings")
    py_name = header_name(name) if location == "header" else snakecase(name)
    if not py_name.isidentifier() or keyword.iskeyword(py_name) or py_name in RESERVED_ARGUMENTS:
        raise ContractError(f"{where}: {py_name!r} cannot be used as an argument name")
    required = bool(param.get("required")) or location == "path"

    raw_schema = param["schema"]
    schema = doc.resolve(raw_schema, where)
    kwargs: list[str] = []
    model: str | None = None
    if "enum" in schema:
        if _types(schema) != ["string"]:
            raise ContractError(f"{where}: only string enums are supported")
        model = annotation = doc.schema_name(raw_schema, where)  # a StrEnum in generated.models
        models.add(model)
        default = f"{model}({py(schema['default'])})" if "default" in schema else None
    else:
        types = _types(schema)
        if (
            len(types) != 1
            or types[0] not in SCALAR_TYPES
            or schema.get("format") in UNSUPPORTED_FORMATS
        ):
            raise ContractError(
                f"{where}: only plain string/integer/number/boolean schemas are supported"
            )
        annotation = SCALAR_TYPES[types[0]]
        for json_key, fastapi_key in PARAM_CONSTRAINTS.items():
            if json_key in schema:
                kwargs.append(f"{fastapi_key}={py(schema[json_key])}")
        default = py(schema["default"]) if "default" in schema else None
    if name != py_name or location == "header":  # Header() would turn `_` into `-` itself
        kwargs.insert(0, f"alias={py(name)}")
    if required:
        default = None
    elif default is None:
        annotation = f"{annotation} | None"
        default = "None"
    fastapi_call = f"{location.capitalize()}({', '.join(kwargs)})"
    return Parameter(name, py_name, location, annotation, default, fastapi_call, model)


def _body(doc: _Document, raw_op: dict[str, Any], where: str, models: set[str]) -> Body | None:
    if "requestBody" not in raw_op:
        return None
    request_body = doc.resolve(raw_op["requestBody"], f"{where} requestBody")
    media = _json_media(doc, request_body, f"{where} requestBody")
    if media is None:
        raise ContractError(f"{where}: requestBody has no content")
    model = doc.schema_name(media["schema"], f"{where} requestBody")
    models.add(model)
    return Body(model=model, required=bool(request_body.get("required")))


def _response_headers(
    doc: _Document, raw_op: dict[str, Any], status_code: int, where: str
) -> tuple[ResponseHeader, ...]:
    """The headers the success response documents; those of errors are the handlers' business."""
    responses = raw_op.get("responses") or {}
    success = next(r for s, r in responses.items() if str(s) == str(status_code))
    where = f"{where} response {status_code}"
    headers: list[ResponseHeader] = []
    for name, raw_header in (doc.resolve(success, where).get("headers") or {}).items():
        header_where = f"{where} header {name!r}"
        header = doc.resolve(raw_header, header_where)
        py_name = header_name(str(name))
        if str(name).lower() == "content-type":
            raise ContractError(f"{header_where}: OpenAPI ignores a Content-Type response header")
        types = _types(doc.resolve(header.get("schema", {}), header_where))
        if types not in (["string"], ["integer"]):
            raise ContractError(f"{header_where}: response headers need a string or integer schema")
        if not py_name.isidentifier() or keyword.iskeyword(py_name):
            raise ContractError(f"{header_where}: {py_name!r} cannot be a Python name")
        if py_name in {h.py_name for h in headers}:
            raise ContractError(f"{header_where}: two headers would be named {py_name!r}")
        description = " ".join(str(header.get("description") or "").split())
        required = bool(header.get("required"))
        annotation = SCALAR_TYPES[types[0]]
        headers.append(ResponseHeader(str(name), py_name, annotation, required, description))
    return tuple(headers)


def _responses(
    doc: _Document, raw_op: dict[str, Any], where: str, models: set[str]
) -> tuple[int, str, str | None, tuple[ErrorResponse, ...]]:
    responses = raw_op.get("responses") or {}
    success = [str(s) for s in responses if str(s).isdigit() and 200 <= int(s) < 300]
    if len(success) != 1:
        raise ContractError(f"{where}: exactly one 2xx response is supported, got {success}")
    status_code = int(success[0])
    success_model: str | None = None
    success_description = ""
    errors: list[ErrorResponse] = []
    for status, raw_response in responses.items():
        status = str(status)
        response_where = f"{where} response {status}"
        response = doc.resolve(raw_response, response_where)
        media = _json_media(doc, response, response_where)
        model = doc.schema_name(media["schema"], response_where) if media else None
        if model:
            models.add(model)
        description = str(response.get("description", ""))
        if status == success[0]:
            if model is None and status_code != 204:
                raise ContractError(
                    f"{response_where}: a success response without a body must be 204"
                )
            if model is not None and status_code == 204:
                raise ContractError(f"{response_where}: 204 cannot have a body")
            success_model, success_description = model, description
        else:
            errors.append(ErrorResponse(status=status, model=model, description=description))
    return status_code, success_description, success_model, tuple(errors)


def build_contract(raw_doc: dict[str, Any]) -> Contract:
    doc = _Document(raw_doc)
    models: set[str] = set()
    operations: list[Operation] = []
    seen_ids: set[str] = set()
    for path, path_item in (raw_doc.get("paths") or {}).items():
        path_item = doc.resolve(path_item, path)
        shared_params = path_item.get("parameters", [])
        for method, raw_op in path_item.items():  # document order
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            operation_id = raw_op.get("operationId")
            if not operation_id or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", operation_id):
                raise ContractError(f"{where}: needs a PascalCase operationId")
            if operation_id in seen_ids:
                raise ContractError(f"{where}: duplicate operationId {operation_id}")
            seen_ids.add(operation_id)
            where = f"{operation_id} ({method.upper()} {path})"
            tags = raw_op.get("tags") or []
            if len(tags) != 1:
                raise ContractError(f"{where}: needs exactly one tag (its interface), got {tags}")

            by_key: dict[tuple[str, str], Any] = {}
            for raw_param in [*shared_params, *raw_op.get("parameters", [])]:
                param = doc.resolve(raw_param, where)
                by_key[(param.get("in"), param.get("name"))] = raw_param  # operation level wins
            params = [_parameter(doc, p, where, models) for p in by_key.values()]
            params.sort(key=lambda p: PARAMETER_ORDER[p.location])  # stable: contract order
            path_names = set(re.findall(r"{([^}]+)}", path))
            if path_names != {p.name for p in params if p.location == "path"}:
                raise ContractError(f"{where}: path parameters do not match the path template")

            status_code, success_description, response_model, errors = _responses(
                doc, raw_op, where, models
            )
            operations.append(
                Operation(
                    operation_id=operation_id,
                    method_name=snakecase(operation_id),
                    http_method=method,
                    path=path,
                    summary=str(raw_op.get("summary") or operation_id),
                    description=str(raw_op.get("description") or "").strip(),
                    tag=str(tags[0]),
                    security=_security(raw_op, raw_doc, where),
                    status_code=status_code,
                    success_description=success_description,
                    response_model=response_model,
                    error_responses=errors,
                    parameters=tuple(params),
                    body=_body(doc, raw_op, where, models),
                    response_headers=_response_headers(doc, raw_op, status_code, where),
                    roles=_roles(raw_op, raw_doc, where),
                )
            )
            headers_class = operations[-1].headers_class
            if headers_class in (raw_doc.get("components") or {}).get("schemas", {}):
                raise ContractError(f"{where}: {headers_class} is also a schema name")

    declared = list(raw_doc.get("tags") or [])
    tag_names = [str(t["name"]) for t in declared]
    tag_names += [op.tag for op in operations if op.tag not in tag_names]
    descriptions = {str(t["name"]): str(t.get("description") or "").strip() for t in declared}
    tags: list[Tag] = []
    for name in dict.fromkeys(tag_names):
        tag_ops = tuple(op for op in operations if op.tag == name)
        if not tag_ops:
            continue
        pascal = "".join(w[:1].upper() + w[1:] for w in re.split(r"[^0-9A-Za-z]+", name) if w)
        class_name, field_name = f"{pascal}Api", snakecase(pascal)
        if not field_name.isidentifier() or keyword.iskeyword(field_name):
            raise ContractError(f"tag {name!r}: cannot be turned into a Python name")
        tags.append(Tag(name, descriptions.get(name, ""), class_name, field_name, tag_ops))

    info = raw_doc.get("info") or {}
    return Contract(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        tags=tuple(tags),
        operations=tuple(operations),
        models=tuple(sorted(models)),
        interface_models=tuple(
            sorted(
                {op.response_model for op in operations if op.response_model}
                | {op.body.model for op in operations if op.body}
                | {p.model for op in operations for p in op.parameters if p.model}
            )
        ),
    )


def visit(parser: OpenAPIParser, model_path: Path) -> dict[str, object]:
    raw_doc = copy.deepcopy(parser.raw_obj)
    if not isinstance(raw_doc, dict) or "paths" not in raw_doc:
        raise ContractError("the parsed document has no paths")
    contract = build_contract(raw_doc)
    parsed_ids = {str(op.operationId) for op in parser.operations.values()}
    if parsed_ids != {op.operation_id for op in contract.operations}:
        raise ContractError(
            f"visitor and fastapi-code-generator disagree on the operations: {sorted(parsed_ids)}"
        )
    return {"contract": contract, "py": py, "docstring": docstring}
