"""The cache of principals by key hash: how long an entry lives, what forgets it, how it stays small."""

from __future__ import annotations

from app.key_cache import KeyCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_for_the_ttl_and_not_a_moment_longer() -> None:
    clock = Clock()
    cache: KeyCache[str] = KeyCache(ttl=1.0, clock=clock)
    cache.put("h1", "principal")
    clock.now += 0.999
    assert cache.get("h1") == "principal"
    clock.now += 0.001
    assert cache.get("h1") is None
    assert cache.get("never") is None


def test_forget_drops_the_entries_it_selects_only() -> None:
    cache: KeyCache[tuple[str, str]] = KeyCache(clock=Clock())
    cache.put("h1", ("key-1", "partner"))
    cache.put("h2", ("key-2", "partner"))
    cache.forget(lambda value: value[0] == "key-1")
    assert cache.get("h1") is None
    assert cache.get("h2") == ("key-2", "partner")


def test_a_full_cache_drops_the_expired_entries_first_then_the_oldest() -> None:
    clock = Clock()
    cache: KeyCache[int] = KeyCache(ttl=1.0, max_entries=3, clock=clock)
    cache.put("old", 0)
    clock.now += 2
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)  # full: the expired one makes room
    assert [cache.get(key) for key in ("a", "b", "c")] == [1, 2, 3]
    cache.put("d", 4)  # full of fresh ones: the oldest goes
    assert cache.get("a") is None
    assert [cache.get(key) for key in ("b", "c", "d")] == [2, 3, 4]
