"""The response cache's own rules: exact snapshots only, bounded in bytes and age, and standing
aside while writes keep every lookup missing."""

from __future__ import annotations

from starlette.responses import Response

from conduit.api.response_cache import ResponseCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def page(body: bytes, status: int = 200) -> Response:
    response = Response(body, status_code=status, media_type="application/json")
    response.headers["ETag"] = '"v1"'
    return response


def cache(**options: float) -> tuple[ResponseCache, Clock]:
    clock = Clock()
    settings = {"max_bytes": 64 * 1024, "max_age": 60.0, **options}
    return ResponseCache(clock=clock, **settings), clock  # type: ignore[arg-type]


KEY = ("/api/tags", b"", None)


def test_an_entry_is_served_only_at_the_snapshot_it_was_stored_at() -> None:
    responses, _ = cache()
    responses.put(KEY, "10:12:11", page(b'{"tags":[]}'))

    hit = responses.get(KEY, "10:12:11")
    assert hit is not None
    assert hit.body == b'{"tags":[]}'
    assert hit.status_code == 200
    assert (b"etag", b'"v1"') in hit.raw_headers
    assert responses.get(KEY, "10:13:") is None
    assert responses.get(("/api/tags", b"", 7), "10:12:11") is None  # another caller


def test_an_entry_is_replaced_by_the_next_snapshots() -> None:
    responses, _ = cache()
    responses.put(KEY, "1:1:", page(b"old"))
    responses.put(KEY, "2:2:", page(b"new"))

    assert responses.get(KEY, "1:1:") is None
    hit = responses.get(KEY, "2:2:")
    assert hit is not None and hit.body == b"new"
    assert responses.size_bytes < 2 * 1024


def test_only_successes_are_kept() -> None:
    responses, _ = cache()
    responses.put(KEY, "1:1:", page(b'{"errors":{}}', status=404))
    assert responses.get(KEY, "1:1:") is None


def test_entries_expire_after_max_age_even_if_nothing_changed() -> None:
    responses, clock = cache(max_age=60.0)
    responses.put(KEY, "1:1:", page(b"x"))
    clock.now += 61
    assert responses.get(KEY, "1:1:") is None


def test_the_least_recently_used_entries_go_first_when_full() -> None:
    responses, _ = cache(max_bytes=5 * 1024)  # three entries of 1,000 bytes fit, not four
    body = b"x" * 1000
    for n in range(3):
        responses.put((f"/p{n}", b"", None), "s", page(body))
    assert responses.get(("/p0", b"", None), "s") is not None  # p1 is now the oldest
    responses.put(("/p3", b"", None), "s", page(body))

    assert responses.get(("/p1", b"", None), "s") is None
    assert responses.get(("/p0", b"", None), "s") is not None
    assert responses.size_bytes <= 5 * 1024
    responses.put(("/huge", b"", None), "s", page(b"y" * 8 * 1024))  # larger than the cache
    assert responses.get(("/huge", b"", None), "s") is None


def test_it_stands_aside_while_almost_every_lookup_misses() -> None:
    responses, clock = cache(window=10, min_hit_ratio=0.2, rest=1.0)
    for n in range(10):  # the snapshot moved before every lookup: writes between all reads
        assert responses.active()
        assert responses.get(KEY, f"{n}:{n}:") is None
        responses.put(KEY, f"{n}:{n}:", page(b"x"))

    assert not responses.active()
    assert responses.bypasses == 1
    clock.now += 1.5
    assert responses.active()


def test_it_keeps_going_while_lookups_hit() -> None:
    responses, _ = cache(window=10, min_hit_ratio=0.2)
    responses.put(KEY, "s", page(b"x"))
    for _ in range(30):
        assert responses.active()
        assert responses.get(KEY, "s") is not None
    assert responses.hits == 30
