"""Word pools and text builders for seeded users, tags, titles and bodies."""

from __future__ import annotations

import random
from collections.abc import Callable


def _split(words: str) -> tuple[str, ...]:
    return tuple(words.split())


WORDS = _split(
    "async api architecture benchmark bug cache cloud code compiler concurrency container data "
    "database debugging deploy design developer distributed docker dragon engine error event "
    "feature framework function graph http index interface kernel language latency library "
    "linux memory migration model module network object open optimise parser pattern "
    "performance pipeline platform pool process protocol python query queue react refactor "
    "release request runtime rust scale schema security server service socket source stack "
    "storage stream system table team test thread token tool traffic train type update user "
    "version web worker write yield zero simple better faster modern practical hidden quiet "
    "strange useful small large first last real honest brave lazy careful curious gentle"
)

FIRST_NAMES = _split(
    "Ada Alan Barbara Brian Claude Dennis Donald Edsger Frances Grace Guido Hedy Ivan John "
    "Katherine Ken Linus Margaret Niklaus Radia Rasmus Richard Shafi Sophie Tim Tony Vint "
    "Whitfield Yukihiro Anders"
)

LAST_NAMES = _split(
    "Lovelace Turing Liskov Kernighan Shannon Ritchie Knuth Dijkstra Allen Hopper Rossum Lamarr "
    "Sutherland Backus Johnson Thompson Torvalds Hamilton Wirth Perlman Lerdorf Stallman "
    "Goldwasser Wilson Lee Hoare Cerf Diffie Matsumoto Hejlsberg"
)

BASE_TAGS = _split(
    "python rust go javascript typescript databases postgresql sqlite testing devops "
    "performance security design architecture career dragons training web api cloud "
    "kubernetes linux open-source tutorial beginners productivity functional concurrency "
    "algorithms data-science machine-learning frontend backend mobile games music books"
)

TAG_MAX_LENGTH = 64


def tag_names(count: int) -> list[str]:
    """`count` distinct, valid tag names: the base list, then hyphenated pairs of it."""
    names = list(BASE_TAGS[:count])
    pairs = (f"{a}-{b}" for a in BASE_TAGS for b in BASE_TAGS if a != b)
    numbered = (f"topic-{n}" for n in range(1, count + 1))
    for name in (*pairs, *numbered):
        if len(names) >= count:
            break
        if name not in names and len(name) <= TAG_MAX_LENGTH:
            names.append(name)
    return names


def words(rng: random.Random, low: int, high: int) -> list[str]:
    return rng.choices(WORDS, k=rng.randint(low, high))


def title(rng: random.Random) -> str:
    text = " ".join(words(rng, 3, 8))
    return text[0].upper() + text[1:]


def sentence(rng: random.Random, low: int = 8, high: int = 20) -> str:
    text = " ".join(words(rng, low, high))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))


def body(rng: random.Random) -> str:
    return "\n\n".join(paragraph(rng) for _ in range(rng.randint(1, 3)))


def pool(rng: random.Random, size: int, make: Callable[[random.Random], str]) -> list[str]:
    """Precomputed texts: generating a fresh body per row would dominate seeding time."""
    return [make(rng) for _ in range(size)]
