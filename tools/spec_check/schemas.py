"""Schema comparison with the variance of the side a schema is on.

REQUEST: the new schema must accept every value the old one accepted (narrowing breaks).
RESPONSE: the new schema may only produce values the old one allowed (widening breaks).
Most checks below are written once as "is `narrow` narrower than `wide`?" and run with
(old, new) on the request side and (new, old) on the response side.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tools.spec_check.document import Contract, Node

_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
# (narrow, wide): every value of the first format is a value of the second.
_FORMAT_SUBSETS = frozenset({("int32", "int64"), ("float", "double")})
_ALTERNATIVES = ("oneOf", "anyOf")


class Side(Enum):
    REQUEST = "request"
    RESPONSE = "response"


@dataclass(frozen=True)
class Where:
    """Where a change is, in words: `request body field `user.bio``."""

    prefix: str
    field: str = ""

    def child(self, name: str) -> Where:
        return Where(self.prefix, f"{self.field}.{name}" if self.field else name)

    def items(self) -> Where:
        return Where(self.prefix, f"{self.field}[]")

    def __str__(self) -> str:
        return f"{self.prefix} field `{self.field}`" if self.field else self.prefix


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _types(schema: Node) -> frozenset[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    types = {declared} if isinstance(declared, str) else set(declared)
    if schema.get("nullable") is True:  # OpenAPI 3.0 spelling
        types.add("null")
    return frozenset(types)


def _show_types(types: frozenset[str] | None) -> str:
    if types is None:
        return "any"
    return next(iter(types)) if len(types) == 1 else "[" + ", ".join(sorted(types)) + "]"


def _uncovered(narrow: frozenset[str] | None, wide: frozenset[str] | None) -> frozenset[str]:
    if wide is None:
        return frozenset()
    if narrow is None:
        return frozenset({"any"})
    return frozenset(
        t for t in narrow if t not in wide and not (t == "integer" and "number" in wide)
    )


def _check_type(old: Node, new: Node, side: Side) -> Iterator[str]:
    old_types, new_types = _types(old), _types(new)
    narrow, wide = (old_types, new_types) if side is Side.REQUEST else (new_types, old_types)
    lost = _uncovered(narrow, wide)
    if not lost:
        return
    if lost == {"null"}:
        yield "no longer accepts null" if side is Side.REQUEST else "may now be null"
    else:
        yield f"type changed from {_show_types(old_types)} to {_show_types(new_types)}"


def _values(schema: Node) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _check_enum(old: Node, new: Node, side: Side) -> Iterator[str]:
    old_values, new_values = _values(old), _values(new)
    wide, narrow = (old_values, new_values) if side is Side.REQUEST else (new_values, old_values)
    if narrow is None:
        return
    if wide is None:
        verb = "is now restricted to" if side is Side.REQUEST else "is no longer restricted to"
        yield f"{verb} {_show(narrow)}"
        return
    missing = [value for value in wide if value not in narrow]
    if missing:
        verb = "no longer accepts" if side is Side.REQUEST else "may now be"
        yield f"{verb} {', '.join(_show(value) for value in missing)}"


def _check_format(old: Node, new: Node, side: Side) -> Iterator[str]:
    old_format, new_format = old.get("format"), new.get("format")
    tight, loose = (new_format, old_format) if side is Side.REQUEST else (old_format, new_format)
    if tight is None or tight == loose or (loose, tight) in _FORMAT_SUBSETS:
        return
    if side is Side.RESPONSE and new_format is None:
        yield f"format {old_format} removed"
    elif old_format is None:
        yield f"format {new_format} added"
    else:
        yield f"format changed from {old_format} to {new_format}"


def _number(schema: Node, keyword: str) -> float | None:
    value = schema.get(keyword)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _describe_bound(keyword: str, old: float | None, new: float | None) -> str:
    if old is None:
        return f"{keyword} {new} added"
    if new is None:
        return f"{keyword} {old} removed"
    return f"{keyword} {'lowered' if new < old else 'raised'} from {old} to {new}"


def _check_bounds(old: Node, new: Node, side: Side) -> Iterator[str]:
    for keyword in (*_UPPER_BOUNDS, *_LOWER_BOUNDS):
        old_value, new_value = _number(old, keyword), _number(new, keyword)
        tight, loose = (new_value, old_value) if side is Side.REQUEST else (old_value, new_value)
        if tight is None or tight == loose:
            continue
        upper = keyword in _UPPER_BOUNDS
        if loose is None or (tight < loose if upper else tight > loose):
            yield _describe_bound(keyword, old_value, new_value)


def _check_multiple_of(old: Node, new: Node, side: Side) -> Iterator[str]:
    old_step, new_step = _number(old, "multipleOf"), _number(new, "multipleOf")
    tight, loose = (new_step, old_step) if side is Side.REQUEST else (old_step, new_step)
    if tight is not None and (loose is None or loose % tight != 0):
        yield _describe_bound("multipleOf", old_step, new_step)


def _check_pattern(old: Node, new: Node, side: Side) -> Iterator[str]:
    old_pattern, new_pattern = old.get("pattern"), new.get("pattern")
    tight = new_pattern if side is Side.REQUEST else old_pattern
    if tight is None or old_pattern == new_pattern:
        return
    if old_pattern is None:
        yield f"pattern `{new_pattern}` added"
    elif new_pattern is None:
        yield f"pattern `{old_pattern}` removed"
    else:
        yield f"pattern changed from `{old_pattern}` to `{new_pattern}`"


def _check_unique_items(old: Node, new: Node, side: Side) -> Iterator[str]:
    tight = new if side is Side.REQUEST else old
    if tight.get("uniqueItems") is True and old.get("uniqueItems") != new.get("uniqueItems"):
        yield "uniqueItems " + ("added" if side is Side.REQUEST else "removed")


def _check_default(old: Node, new: Node, side: Side) -> Iterator[str]:
    # A client that leaves a field out relies on the default it was told about.
    if side is Side.REQUEST and "default" in old and old.get("default") != new.get("default"):
        yield f"default changed from {_show(old['default'])} to {_show(new.get('default'))}"


_KEYWORD_CHECKS: tuple[Callable[[Node, Node, Side], Iterator[str]], ...] = (
    _check_type,
    _check_enum,
    _check_format,
    _check_bounds,
    _check_multiple_of,
    _check_pattern,
    _check_unique_items,
    _check_default,
)


class SchemaDiff:
    """Breaking differences between two schemas, each message prefixed with where it is."""

    def __init__(self, old: Contract, new: Contract) -> None:
        self.old = old
        self.new = new
        # Pairs being compared right now: a recursive schema meets itself again and stops there.
        self._active: set[tuple[int | str, int | str, Side]] = set()

    def changes(self, old: Any, new: Any, side: Side, where: Where) -> list[str]:
        key = (_identity(old), _identity(new), side)
        if key in self._active:
            return []
        self._active.add(key)
        try:
            return list(
                self._changes(
                    self._flatten(self.old, old), self._flatten(self.new, new), side, where
                )
            )
        finally:
            self._active.discard(key)

    def _flatten(self, contract: Contract, schema: Any) -> Node:
        """Resolve $refs and merge `allOf` members into one schema (properties and required
        united, other keywords from the last member that has them)."""
        schema = contract.resolve(schema)
        if not isinstance(schema, Mapping):
            return {}  # `true` (and, unsupported here, `false`) schemas
        members = [self._flatten(contract, member) for member in schema.get("allOf", [])]
        if not members:
            return schema
        merged: dict[str, Any] = {}
        for part in [*members, {k: v for k, v in schema.items() if k != "allOf"}]:
            properties = {**merged.get("properties", {}), **part.get("properties", {})}
            required = [*merged.get("required", []), *part.get("required", [])]
            merged.update(part, properties=properties, required=required)
        return merged

    def _changes(self, old: Node, new: Node, side: Side, where: Where) -> Iterator[str]:
        for check in _KEYWORD_CHECKS:
            yield from (f"{where}: {what}" for what in check(old, new, side))
        yield from self._properties(old, new, side, where)
        yield from self._additional_properties(old, new, side, where)
        if "items" in old or "items" in new:
            yield from self.changes(old.get("items", {}), new.get("items", {}), side, where.items())
        yield from self._alternatives(old, new, side, where)

    def _properties(self, old: Node, new: Node, side: Side, where: Where) -> Iterator[str]:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name in [*old_props, *sorted(old_required - set(old_props))]:
            if name not in new_props and name not in new_required:
                yield f"{where.child(name)} was removed"
            elif side is Side.REQUEST and name in new_required - old_required:
                yield f"{where.child(name)} is now required"
            elif side is Side.RESPONSE and name in old_required - new_required:
                yield f"{where.child(name)} is now optional"
        if side is Side.REQUEST:
            for name in sorted(new_required - set(old_props) - old_required):
                yield f"{where.child(name)} is new and required"
        for name, schema in old_props.items():
            if name in new_props:
                yield from self.changes(schema, new_props[name], side, where.child(name))

    def _additional_properties(
        self, old: Node, new: Node, side: Side, where: Where
    ) -> Iterator[str]:
        old_extra, new_extra = (
            old.get("additionalProperties", True),
            new.get("additionalProperties", True),
        )
        if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            yield from self.changes(old_extra, new_extra, side, where.child("*"))
        elif side is Side.REQUEST and new_extra is False and old_extra is not False:
            yield f"{where}: no longer accepts additional properties"
        elif side is Side.REQUEST and isinstance(new_extra, Mapping) and old_extra is True:
            yield f"{where}: additional properties are now restricted by a schema"
        elif side is Side.RESPONSE and isinstance(old_extra, Mapping) and new_extra is True:
            yield f"{where}: additional properties are no longer restricted by a schema"

    def _alternatives(self, old: Node, new: Node, side: Side, where: Where) -> Iterator[str]:
        """oneOf/anyOf: on the request side every old alternative must still be accepted by
        some new one; on the response side every new alternative must be an old one."""
        old_options, new_options = _options(old), _options(new)
        if old_options is None and new_options is None:
            return
        given, allowed = (
            (old_options, new_options) if side is Side.REQUEST else (new_options, old_options)
        )
        for index, option in enumerate(given or [{}]):
            if not any(self._fits(option, other, side) for other in allowed or [{}]):
                name = _ref_name(option) or f"alternative {index + 1}"
                verb = "no longer accepts" if side is Side.REQUEST else "may now be"
                yield f"{where}: {verb} {name}"

    def _fits(self, given: Any, allowed: Any, side: Side) -> bool:
        old, new = (given, allowed) if side is Side.REQUEST else (allowed, given)
        return not self.changes(old, new, side, Where(""))


def _identity(schema: Any) -> int | str:
    """The referenced component, or the inline schema object itself."""
    ref = schema.get("$ref") if isinstance(schema, Mapping) else None
    return ref if isinstance(ref, str) else id(schema)


def _options(schema: Node) -> Sequence[Any] | None:
    for keyword in _ALTERNATIVES:
        if isinstance(schema.get(keyword), list):
            options: Sequence[Any] = schema[keyword]
            return options
    return None


def _ref_name(schema: Any) -> str | None:
    ref = schema.get("$ref") if isinstance(schema, Mapping) else None
    return f"`{ref.rsplit('/', 1)[-1]}`" if isinstance(ref, str) else None
