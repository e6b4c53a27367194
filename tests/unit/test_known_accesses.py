"""An account read at one snapshot answers only requests at exactly that snapshot."""

from __future__ import annotations

from conduit.repositories.users import Access, KnownAccesses

ALICE = Access(id=1, username="alice", role="user", banned=False, token_version=3)
BOB = Access(id=2, username="bob", role="admin", banned=False, token_version=0)


def test_an_account_is_known_only_at_the_snapshot_it_was_read_at() -> None:
    accesses = KnownAccesses()
    accesses.put(1, "100:104:", ALICE)

    assert accesses.get(1, "100:104:") == ALICE
    assert accesses.get(1, "100:105:") is None  # something committed since
    assert accesses.get(2, "100:104:") is None


def test_a_newer_snapshot_drops_every_account_read_before_it() -> None:
    accesses = KnownAccesses()
    accesses.put(1, "100:104:", ALICE)
    accesses.put(2, "104:105:", BOB)

    assert accesses.get(2, "104:105:") == BOB
    assert accesses.get(1, "104:105:") is None
    assert accesses.get(1, "100:104:") is None


def test_it_holds_at_most_max_entries() -> None:
    accesses = KnownAccesses(max_entries=2)
    for user_id in range(1, 4):
        accesses.put(user_id, "7:7:", ALICE)

    known = [accesses.get(user_id, "7:7:") for user_id in range(1, 4)]
    assert sum(access is not None for access in known) <= 2
    assert known[2] == ALICE  # the newest is kept


def test_clearing_forgets_every_account() -> None:
    accesses = KnownAccesses()
    accesses.put(1, "100:104:", ALICE)

    accesses.clear()

    assert accesses.get(1, "100:104:") is None
