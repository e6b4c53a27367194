"""Which operation of the contract a request is for, known before FastAPI routes it.

Middleware that must refuse a request before its body is read (rate limits, 415) still needs
to know the operation: it matches the request the way the router will, against the app's own
routes in routing order, so no path is spelled twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.types import Scope

from generated.manifest import OPERATIONS


@dataclass(frozen=True, slots=True)
class Operation:
    """A contract operation as the middleware sees it."""

    operation_id: str
    # Whether the operation reads a JSON request body.
    takes_body: bool


@dataclass(frozen=True, slots=True)
class _Route:
    regex: re.Pattern[str]
    methods: frozenset[str]
    operation: Operation | None


class OperationIndex:
    """Finds the operation a method and path are routed to; built on first use, once every
    route of the app exists."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._routes: tuple[_Route, ...] | None = None

    def find(self, scope: Scope) -> Operation | None:
        """The operation the router will run for ``scope``; None for anything else (an unknown
        path, a method the path does not have, a route outside the contract)."""
        method, path = scope["method"], route_path(scope)
        for route in self._table():
            if method in route.methods and route.regex.match(path):
                return route.operation
        return None

    def _table(self) -> tuple[_Route, ...]:
        if self._routes is None:
            self._routes = tuple(self._build())
        return self._routes

    def _build(self) -> list[_Route]:
        routes = []
        for route in iter_route_contexts(self._app.routes):
            regex, methods = getattr(route, "path_regex", None), route.methods
            if regex is None or not methods:
                continue
            operation_id = getattr(route, "operation_id", None)
            operation = None
            if isinstance(operation_id, str) and operation_id in OPERATIONS:
                takes_body = getattr(route, "body_field", None) is not None
                operation = Operation(operation_id, takes_body)
            routes.append(_Route(regex, frozenset(methods), operation))
        return routes


def route_path(scope: Scope) -> str:
    """The path the router matches: the request path without the app's mount point (as
    Starlette's router computes it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root) :] if path[len(root)] == "/" else path
