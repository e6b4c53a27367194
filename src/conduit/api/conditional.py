"""Conditional requests: the ETag of an article out, the If-Match precondition in."""

from __future__ import annotations

import re

from conduit.domain.types import ArticleView
from conduit.domain.versions import VersionCheck

# An entity tag of an If-Match list; the contract's pattern has already checked the syntax.
_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')


def entity_tag(article: ArticleView) -> str:
    """The strong ETag of a single-article view."""
    if article.version_tag is None:  # pragma: no cover - only list pages leave it out
        raise RuntimeError("this article view carries no version")
    return f'"{article.version_tag}"'


def if_match(value: str | None) -> VersionCheck | None:
    """The precondition an If-Match header states; None without one.

    If-Match compares strongly, so weak tags (``W/"..."``) are left out: they match nothing.
    """
    if value is None:
        return None
    if value.strip() == "*":
        return VersionCheck(any_version=True)
    tags = frozenset(tag for weak, tag in _ENTITY_TAG.findall(value) if not weak)
    return VersionCheck(tags=tags)
