"""Slugs: lowercase ASCII words joined by hyphens, derived from the title."""

from __future__ import annotations

import re
import secrets
import unicodedata

MAX_BASE_LENGTH = 80
FALLBACK_SLUG = "article"
# `/articles/feed` is the feed: an article with that slug could never be read.
RESERVED_SLUGS = frozenset({"feed"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(title: str) -> str:
    """ "Héllo, World!" -> "hello-world"; titles with no ASCII letters fall back to "article"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = _NON_ALNUM.sub("-", ascii_title.lower()).strip("-")
    slug = slug[:MAX_BASE_LENGTH].rstrip("-") or FALLBACK_SLUG
    return f"{slug}-{FALLBACK_SLUG}" if slug in RESERVED_SLUGS else slug


def with_suffix(base: str) -> str:
    """Disambiguate a taken slug; random rather than a counter so concurrent creates differ."""
    return f"{base}-{secrets.token_hex(3)}"
