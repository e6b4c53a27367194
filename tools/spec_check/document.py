"""A parsed contract and the views the comparison needs: $refs, operations, parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

Node = Mapping[str, Any]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_TEMPLATE_PARAMETER = re.compile(r"\{([^}/]+)\}")
# Where a parameter's serialization style defaults to `form` (others default to `simple`).
_FORM_LOCATIONS = frozenset({"query", "cookie"})


class ContractError(Exception):
    """The document cannot be compared: not YAML, not OpenAPI, or an unresolvable $ref."""


@dataclass(frozen=True)
class Contract:
    raw: Node

    @classmethod
    def parse(cls, text: str, *, source: str) -> Contract:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ContractError(f"{source} is not valid YAML: {exc}") from exc
        if not isinstance(data, Mapping) or not isinstance(data.get("paths", {}), Mapping):
            raise ContractError(f"{source} is not an OpenAPI document")
        return cls(data)

    def resolve(self, node: Any) -> Any:
        """Follow `$ref`s; keywords beside a `$ref` (allowed in 3.1 schemas) win over the target."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref: str = node["$ref"]
            if ref in seen:
                raise ContractError(f"$ref cycle through {ref}")
            seen.add(ref)
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            target = self._pointer(ref)
            node = {**target, **siblings} if siblings and isinstance(target, Mapping) else target
        return node

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ContractError(f"only local $refs are supported, not {ref}")
        node: Any = self.raw
        for token in ref[2:].split("/"):
            key = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or key not in node:
                raise ContractError(f"$ref {ref} points to nothing")
            node = node[key]
        return node


def template_key(path: str) -> str:
    """`/articles/{slug}` and `/articles/{id}` are the same URL to a client."""
    return _TEMPLATE_PARAMETER.sub("{}", path)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    node: Node
    path_item: Node

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, template_key(self.path))

    @property
    def operation_id(self) -> str | None:
        value = self.node.get("operationId")
        return value if isinstance(value, str) else None

    @property
    def label(self) -> str:
        suffix = f" ({self.operation_id})" if self.operation_id else ""
        return f"{self.method.upper()} {self.path}{suffix}"


def operations(contract: Contract) -> dict[tuple[str, str], Operation]:
    found: dict[tuple[str, str], Operation] = {}
    for path, item in contract.raw.get("paths", {}).items():
        path_item = contract.resolve(item)
        for method in METHODS:
            node = path_item.get(method)
            if isinstance(node, Mapping):
                operation = Operation(method, path, node, path_item)
                found[operation.key] = operation
    return found


@dataclass(frozen=True)
class Parameter:
    location: str
    name: str
    node: Node

    @property
    def label(self) -> str:
        return f"{self.location} parameter `{self.name}`"

    @property
    def required(self) -> bool:
        return self.location == "path" or self.node.get("required") is True

    @property
    def schema(self) -> Any:
        if "schema" in self.node:
            return self.node["schema"]
        content = self.node.get("content", {})
        return next((media.get("schema", {}) for media in content.values()), {})

    @property
    def serialization(self) -> tuple[str, bool]:
        style = self.node.get("style", "form" if self.location in _FORM_LOCATIONS else "simple")
        return style, self.node.get("explode", style == "form")


def parameters(contract: Contract, operation: Operation) -> dict[tuple[str, str], Parameter]:
    """Path-item parameters overridden by the operation's, keyed so that renaming a path
    parameter (a client never sends its name) is not a change."""
    positions = {
        name: index for index, name in enumerate(_TEMPLATE_PARAMETER.findall(operation.path))
    }
    merged: dict[tuple[str, str], Parameter] = {}
    for raw in [*operation.path_item.get("parameters", []), *operation.node.get("parameters", [])]:
        node = contract.resolve(raw)
        location, name = node["in"], node["name"]
        merged[(location, name)] = Parameter(location, name, node)
    return {_parameter_key(parameter, positions): parameter for parameter in merged.values()}


def _parameter_key(parameter: Parameter, positions: Mapping[str, int]) -> tuple[str, str]:
    if parameter.location == "path":
        return ("path", f"#{positions.get(parameter.name, parameter.name)}")
    if parameter.location == "header":
        return ("header", parameter.name.lower())
    return (parameter.location, parameter.name)


Requirement = Mapping[str, frozenset[str]]


def security(contract: Contract, operation: Operation) -> list[Requirement]:
    """The alternatives a client may satisfy; a public operation has one empty alternative."""
    declared = operation.node.get("security", contract.raw.get("security", []))
    alternatives: list[Requirement] = [
        {str(scheme): frozenset(scopes) for scheme, scopes in requirement.items()}
        for requirement in declared
    ]
    return alternatives or [{}]
