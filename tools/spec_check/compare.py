"""Operation-level comparison: what a client of the old contract relies on, checked in the new."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tools.spec_check.document import (
    Contract,
    Operation,
    Requirement,
    operations,
    parameters,
    security,
    template_key,
)
from tools.spec_check.schemas import SchemaDiff, Side, Where

_SCHEME_FIELDS = ("type", "in", "name", "scheme", "bearerFormat")


def breaking_changes(old: Contract, new: Contract) -> list[str]:
    """Every breaking change from `old` to `new`, in plain words, in document order."""
    diff = SchemaDiff(old, new)
    old_ops, new_ops = operations(old), operations(new)
    found = [
        *_servers(old, new),
        *_security_schemes(old, new),
        *_removed_operations(old_ops, new_ops),
    ]
    for key, old_op in old_ops.items():
        if key in new_ops:
            found.extend(
                f"{old_op.label}: {what}" for what in _operation(diff, old_op, new_ops[key])
            )
    return list(dict.fromkeys(found))


def _servers(old: Contract, new: Contract) -> Iterator[str]:
    new_urls = {server.get("url") for server in new.raw.get("servers", [])}
    for server in old.raw.get("servers", []):
        if server.get("url") not in new_urls:
            yield f"server URL {server.get('url')} was removed"


def _security_schemes(old: Contract, new: Contract) -> Iterator[str]:
    old_schemes = old.raw.get("components", {}).get("securitySchemes", {})
    new_schemes = new.raw.get("components", {}).get("securitySchemes", {})
    for name, scheme in old_schemes.items():
        if name not in new_schemes:
            continue  # operations that used it report the change
        for field in _SCHEME_FIELDS:
            before, after = scheme.get(field), new_schemes[name].get(field)
            if before != after:
                yield f"security scheme `{name}`: {field} changed from {before} to {after}"


def _removed_operations(
    old_ops: Mapping[tuple[str, str], Operation], new_ops: Mapping[tuple[str, str], Operation]
) -> Iterator[str]:
    new_paths = {path for _, path in new_ops}
    new_ids = {op.operation_id: op for op in new_ops.values() if op.operation_id}
    removed_paths: dict[str, list[str]] = {}
    for key, op in old_ops.items():
        if key in new_ops:
            continue
        moved = new_ids.get(op.operation_id) if op.operation_id else None
        hint = f"now at {moved.method.upper()} {moved.path}" if moved else ""
        if template_key(op.path) in new_paths:
            yield f"{op.label} was removed" + (f" ({hint})" if hint else "")
        else:
            name = " ".join(filter(None, (op.method.upper(), op.operation_id)))
            removed_paths.setdefault(op.path, []).append(f"{name}, {hint}" if hint else name)
    for path, names in removed_paths.items():
        yield f"path {path} was removed ({'; '.join(names)})"


def _operation(diff: SchemaDiff, old_op: Operation, new_op: Operation) -> Iterator[str]:
    old, new = diff.old, diff.new
    if old_op.operation_id and old_op.operation_id != new_op.operation_id:
        after = f"renamed to {new_op.operation_id}" if new_op.operation_id else "removed"
        yield f"operationId {old_op.operation_id} {after}"
    yield from _security(security(old, old_op), security(new, new_op))
    yield from _parameters(diff, old_op, new_op)
    yield from _request_body(
        diff,
        old.resolve(old_op.node.get("requestBody")),
        new.resolve(new_op.node.get("requestBody")),
    )
    yield from _responses(diff, old_op.node.get("responses", {}), new_op.node.get("responses", {}))


def _covers(new_alternative: Requirement, old_alternative: Requirement) -> bool:
    """A client that satisfied `old_alternative` also satisfies `new_alternative`."""
    return all(
        scheme in old_alternative and scopes <= old_alternative[scheme]
        for scheme, scopes in new_alternative.items()
    )


def _security(old: list[Requirement], new: list[Requirement]) -> Iterator[str]:
    for alternative in old:
        if any(_covers(candidate, alternative) for candidate in new):
            continue
        if not alternative:
            was = "public" if old == [{}] else "optional"
            yield f"now requires authentication (it was {was})"
        else:
            yield f"no longer accepts the credentials {' + '.join(sorted(alternative))}"


def _parameters(diff: SchemaDiff, old_op: Operation, new_op: Operation) -> Iterator[str]:
    old_params, new_params = parameters(diff.old, old_op), parameters(diff.new, new_op)
    for key, parameter in old_params.items():
        if key not in new_params:
            yield f"{parameter.label} was removed"
            continue
        current = new_params[key]
        if current.required and not parameter.required:
            yield f"{parameter.label} is now required"
        if current.serialization != parameter.serialization:
            before, after = parameter.serialization, current.serialization
            yield f"{parameter.label}: style/explode changed from {before} to {after}"
        yield from diff.changes(
            parameter.schema, current.schema, Side.REQUEST, Where(parameter.label)
        )
    for key, parameter in new_params.items():
        if key not in old_params and parameter.required:
            yield f"{parameter.label} is new and required"


def _request_body(diff: SchemaDiff, old: Any, new: Any) -> Iterator[str]:
    if new is None:
        if old is not None:
            yield "request body was removed"
        return
    if new.get("required") is True and (old is None or old.get("required") is not True):
        yield "request body is now required"
    if old is None:
        return
    yield from _content(
        diff, old.get("content", {}), new.get("content", {}), Side.REQUEST, "request body"
    )


def _responses(
    diff: SchemaDiff, old_responses: Mapping[str, Any], new_responses: Mapping[str, Any]
) -> Iterator[str]:
    for status, response in old_responses.items():
        if status not in new_responses:
            if str(status).startswith("2"):
                yield f"no longer returns status {status}"
            continue  # a client never relied on an error it stops getting
        old_response = diff.old.resolve(response)
        new_response = diff.new.resolve(new_responses[status])
        yield from _content(
            diff,
            old_response.get("content", {}),
            new_response.get("content", {}),
            Side.RESPONSE,
            f"response {status}",
        )
        yield from _headers(
            diff, old_response.get("headers", {}), new_response.get("headers", {}), status
        )


def _content(
    diff: SchemaDiff, old: Mapping[str, Any], new: Mapping[str, Any], side: Side, prefix: str
) -> Iterator[str]:
    for media_type, media in old.items():
        if media_type not in new:
            verb = "no longer accepts" if side is Side.REQUEST else "no longer has content type"
            yield f"{prefix} {verb} {media_type}"
            continue
        where = Where(f"{prefix} ({media_type})" if len(old) > 1 else prefix)
        yield from diff.changes(
            media.get("schema", {}), new[media_type].get("schema", {}), side, where
        )


def _headers(
    diff: SchemaDiff,
    old_headers: Mapping[str, Any],
    new_headers: Mapping[str, Any],
    status: str,
) -> Iterator[str]:
    current = {name.lower(): header for name, header in new_headers.items()}
    for name, header in old_headers.items():
        if name.lower() not in current:
            yield f"response {status} no longer has the header {name}"
            continue
        old_header = diff.old.resolve(header)
        new_header = diff.new.resolve(current[name.lower()])
        yield from diff.changes(
            old_header.get("schema", {}),
            new_header.get("schema", {}),
            Side.RESPONSE,
            Where(f"response {status} header {name}"),
        )
