"""Versions of an article's content as clients see them, and preconditions on them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def version_tag(article_id: int, version: int) -> str:
    """An opaque tag for one version of one article: a new article never reuses an old tag."""
    return hashlib.blake2b(f"{article_id}:{version}".encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class VersionCheck:
    """A precondition on the version an update applies to: any version, or one of ``tags``."""

    tags: frozenset[str] = frozenset()
    any_version: bool = False

    def admits(self, tag: str) -> bool:
        return self.any_version or tag in self.tags
