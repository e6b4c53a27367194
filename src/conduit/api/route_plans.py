"""Solving a route's dependencies from a plan made once, instead of rediscovering them per request.

FastAPI's ``solve_dependencies`` walks the dependency tree afresh for every request: it recomputes
each dependency's cache key and scopes, asks again whether each callable is a coroutine or a
generator, builds a ``SolvedDependency`` per node, and runs the request inside two exit stacks
kept for generator dependencies. For a single-article read that bookkeeping cost about as much
CPU as the database round trip.

A ``RoutePlan`` answers those questions once, when the route is built, for routes whose shape it
covers entirely: coroutine dependencies (no ``yield``, no thread pool), parameters from the path,
query, headers and cookies, a JSON body, ``Request``, ``Response`` and ``SecurityScopes``. Per
request it does what FastAPI does, in the same order and with FastAPI's own validation (each
parameter's field, ``request_body_to_args``), so the same request gets the same errors
(``tests/unit/test_route_plans.py`` holds the two side by side). Dependencies run depth first
in declaration order, one whose parameters are invalid is not called, the first one to raise
wins over validation errors, and a dependency is solved once per request (``use_cache``).
Anything else (overrides in effect, FastAPI's tracing of the request) takes FastAPI's own path,
which stays the reference.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import params
from fastapi._body_limit import get_body_limit_error
from fastapi._compat import ModelField, Undefined
from fastapi._compat.shared import field_annotation_is_sequence
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import (
    Dependant,
    _get_cache_key,
    _get_oauth_scopes,
    _is_async_gen_callable,
    _is_coroutine_callable,
    _is_gen_callable,
)
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    _validate_value_with_model_field,
    request_body_to_args,
    request_params_to_args,
)
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.routing import APIRoute, _extract_endpoint_context
from fastapi.security import SecurityScopes
from fastapi.telemetry._api import _get_request_telemetry
from fastapi.utils import is_body_allowed_for_status_code
from starlette.datastructures import Headers, ImmutableMultiDict
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.requests import Request
from starlette.responses import Response

Around = Callable[[Request, Callable[[], Awaitable[Response]]], Awaitable[Response]]
"""Produces a request's response, given the request and what produces it from the endpoint."""

_Source = Callable[[Request], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class _Param:
    """A path, query, header or cookie parameter, with what FastAPI works out per request."""

    field: ModelField
    kind: str  # where it is read from, the first part of an error's location
    aliases: tuple[str, ...]  # the names it may be sent under, in preference order
    many: bool  # every occurrence is read (a list parameter), not only the last
    sequence: bool  # an empty list counts as absent


def _param(field: ModelField) -> _Param:
    info = field.field_info
    if not isinstance(info, params.Param):  # pragma: no cover - FastAPI's own invariant
        raise TypeError("a parameter without a location")
    sequence = field_annotation_is_sequence(info.annotation)
    return _Param(
        field=field,
        kind=info.in_.value,
        aliases=tuple(request for _, request in _get_param_aliases(field)),
        many=sequence and not _is_json_field(field),
        sequence=sequence,
    )


@dataclass(frozen=True, slots=True)
class _Params:
    """The parameters a dependant reads from one part of the request.

    Reads and validates them as FastAPI's ``request_params_to_args`` does, with what that
    function recomputes for every parameter of every request (its aliases, whether it is a list,
    whether it is a model of parameters) worked out once. A model of parameters is left to
    FastAPI's function.
    """

    source: _Source
    fields: list[ModelField]
    simple: tuple[_Param, ...] | None  # None: some parameter is a model of parameters

    @classmethod
    def of(cls, fields: list[ModelField], source: _Source) -> _Params:
        models = any(_get_param_model(field) is not None for field in fields)
        simple = None if models else tuple(_param(field) for field in fields)
        return cls(source, fields, simple)

    def read(self, request: Request, errors: list[Any]) -> dict[str, Any]:
        received = self.source(request)
        if self.simple is None:
            found, problems = request_params_to_args(self.fields, received)
            errors.extend(problems)
            return found
        values: dict[str, Any] = {}
        for param in self.simple:
            aliases = param.aliases
            alias = aliases[0]
            if len(aliases) > 1:
                alias = next((name for name in aliases if name in received), alias)
            if param.many and isinstance(received, (ImmutableMultiDict, Headers)):
                value: Any = received.getlist(alias)
            else:
                value = received.get(alias)
            if value is None or (param.sequence and len(value) == 0):
                value = Undefined  # FastAPI applies the default while validating
            found, problems = _validate_value_with_model_field(
                field=param.field, value=value, values=values, loc=(param.kind, alias)
            )
            if problems:
                errors.extend(problems)
            else:
                values[param.field.name] = found
        return values


def _path_params(request: Request) -> Mapping[str, Any]:
    return request.path_params


def _query_params(request: Request) -> Mapping[str, Any]:
    return request.query_params


def _headers(request: Request) -> Mapping[str, Any]:
    return request.headers


def _cookies(request: Request) -> Mapping[str, Any]:
    return request.cookies


@dataclass(frozen=True, slots=True, eq=False)
class _Node:
    """One dependency (or the endpoint itself) with everything FastAPI would look up per call."""

    call: Callable[..., Awaitable[Any]]
    name: str | None
    cache_key: Any
    use_cache: bool
    subs: tuple[_Node, ...]
    sources: tuple[_Params, ...]
    request_name: str | None
    connection_name: str | None
    response_name: str | None
    scopes_name: str | None
    scopes: tuple[str, ...]

    async def arguments(
        self, request: Request, response: Response, cache: dict[Any, Any], errors: list[Any]
    ) -> dict[str, Any]:
        """The keyword arguments of this node's call; problems with them go into ``errors``."""
        values: dict[str, Any] = {}
        for sub in self.subs:
            before = len(errors)
            sub_values = await sub.arguments(request, response, cache, errors)
            if len(errors) > before:
                continue
            if sub.use_cache and sub.cache_key in cache:
                solved = cache[sub.cache_key]
            else:
                solved = await sub.call(**sub_values)
            if sub.name is not None:
                values[sub.name] = solved
            cache.setdefault(sub.cache_key, solved)
        for source in self.sources:
            values.update(source.read(request, errors))
        if self.connection_name is not None:
            values[self.connection_name] = request
        if self.request_name is not None:
            values[self.request_name] = request
        if self.response_name is not None:
            values[self.response_name] = response
        if self.scopes_name is not None:
            values[self.scopes_name] = SecurityScopes(list(self.scopes))
        return values


def _plannable(dependant: Dependant, *, endpoint: bool) -> bool:
    """Whether a plan covers this dependant and its whole subtree."""
    call = dependant.call
    if (
        not _is_coroutine_callable(call)
        or _is_gen_callable(call)
        or _is_async_gen_callable(call)
        or dependant.concurrency is not None
        or dependant.websocket_param_name is not None
        or dependant.background_tasks_param_name is not None
        or (dependant.body_params and not endpoint)
    ):
        return False
    return all(_plannable(sub, endpoint=False) for sub in dependant.dependencies)


def _node(dependant: Dependant) -> _Node:
    if dependant.call is None:  # pragma: no cover - FastAPI gives every dependant its call
        raise TypeError("a dependant without a call")
    sources = tuple(
        _Params.of(fields, source)
        for fields, source in (
            (dependant.path_params, _path_params),
            (dependant.query_params, _query_params),
            (dependant.header_params, _headers),
            (dependant.cookie_params, _cookies),
        )
        if fields
    )
    scopes_name = dependant.security_scopes_param_name
    return _Node(
        call=dependant.call,
        name=dependant.name,
        cache_key=_get_cache_key(dependant=dependant),
        use_cache=dependant.use_cache,
        subs=tuple(_node(sub) for sub in dependant.dependencies),
        sources=sources,
        request_name=dependant.request_param_name,
        connection_name=dependant.http_connection_param_name,
        response_name=dependant.response_param_name,
        scopes_name=scopes_name,
        scopes=tuple(_get_oauth_scopes(dependant=dependant)),
    )


class RoutePlan:
    """The request handler of one route, from its plan (see the module's docstring)."""

    def __init__(self, route: APIRoute, *, around: Around | None = None) -> None:
        self._route = route
        self._around = around
        self._root = _node(route.dependant)
        self._body_field = route.body_field
        self._embed_body_fields = route._embed_body_fields
        self._response_field = route.response_field
        # FastAPI serialises straight to JSON bytes when the route keeps its default class.
        self._dump_json = isinstance(route.response_class, DefaultPlaceholder)
        response_class = route.response_class
        if isinstance(response_class, DefaultPlaceholder):
            response_class = response_class.value
        self._response_class: type[Response] = response_class
        self._status_code = route.status_code

    @classmethod
    def for_route(cls, route: APIRoute, *, around: Around | None = None) -> RoutePlan | None:
        """A plan for ``route``, or None when its shape is not one a plan covers.

        ``around``, if given, produces each valid request's response: it may answer without
        calling the endpoint (see ``response_cache``)."""
        streams = route.stream_item_field is not None or route.is_json_stream
        body = route.body_field
        form = body is not None and isinstance(body.field_info, params.Form)
        if streams or form or not _plannable(route.dependant, endpoint=True):
            return None
        return cls(route, around=around)

    def applies(self) -> bool:
        """Whether this request may take the plan: not while dependency overrides are set (tests),
        nor when FastAPI traces the request (its spans wrap its own solving)."""
        provider = self._route.dependency_overrides_provider
        if provider is not None and getattr(provider, "dependency_overrides", None):
            return False
        return _get_request_telemetry() is None

    async def handle(self, request: Request) -> Response:
        body = await self._body(request) if self._body_field is not None else Undefined
        response = Response()
        del response.headers["content-length"]
        response.status_code = None  # type: ignore[assignment]
        errors: list[Any] = []
        root = self._root
        values = await root.arguments(request, response, {}, errors)
        if self._body_field is not None:
            found, problems = await request_body_to_args(
                body_fields=self._route.dependant.body_params,
                received_body=body,
                embed_body_fields=self._embed_body_fields,
            )
            values.update(found)
            errors.extend(problems)
        if errors:
            raise RequestValidationError(
                errors,
                body=None if body is Undefined else body,
                endpoint_ctx=self._context(request),
            )
        if self._around is None:
            return await self._respond(request, values, response)
        return await self._around(request, lambda: self._respond(request, values, response))

    async def _respond(self, request: Request, values: dict[str, Any], sub: Response) -> Response:
        raw = await self._root.call(**values)
        if isinstance(raw, Response):
            return raw
        return self._render(request, raw, sub)

    async def _body(self, request: Request) -> Any:
        """The request's body as FastAPI reads it: parsed when its media type is JSON."""
        try:
            raw = await request.body()
            if not raw:
                return Undefined
            media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
            kind, _, subtype = media.partition("/")
            if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
                return raw
            return await request.json()
        except json.JSONDecodeError as error:
            invalid = {
                "type": "json_invalid",
                "loc": ("body", error.pos),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": error.msg},
            }
            raise RequestValidationError(
                [invalid], body=error.doc, endpoint_ctx=self._context(request)
            ) from error
        except HTTPException:
            raise
        except Exception as error:
            # Not UTF-8, nested too deep, the client gone mid-way: a 400, as FastAPI answers.
            if MAX_BODY_SIZE_SCOPE_KEY in request.scope and (limit := get_body_limit_error(error)):
                raise limit from error
            raise HTTPException(400, "There was an error parsing the body") from error

    def _render(self, request: Request, raw: Any, sub_response: Response) -> Response:
        status = sub_response.status_code or self._status_code
        arguments: dict[str, Any] = {} if status is None else {"status_code": status}
        field = self._response_field
        response: Response
        if field is None:
            response = self._response_class(jsonable_encoder(raw), **arguments)
        else:
            value, problems = field.validate(raw, {}, loc=("response",))
            if problems:
                raise ResponseValidationError(
                    errors=problems, body=raw, endpoint_ctx=self._context(request)
                )
            route = self._route
            serialize = field.serialize_json if self._dump_json else field.serialize
            content = serialize(
                value,
                include=route.response_model_include,
                exclude=route.response_model_exclude,
                by_alias=route.response_model_by_alias,
                exclude_unset=route.response_model_exclude_unset,
                exclude_defaults=route.response_model_exclude_defaults,
                exclude_none=route.response_model_exclude_none,
            )
            if self._dump_json:
                response = Response(content, media_type="application/json", **arguments)
            else:
                response = self._response_class(content, **arguments)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        response.headers.raw.extend(sub_response.headers.raw)
        return response

    def _context(self, request: Request) -> Any:
        context = dict(_extract_endpoint_context(self._root.call))
        mount = request.scope.get("root_path", "").rstrip("/")
        context["path"] = f"{request.method} {mount}{self._route.dependant.path}"
        return context
