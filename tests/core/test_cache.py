"""The per-process cache of what a tenant's configuration decides."""

from __future__ import annotations

from apps.core.cache import VersionedLru


def test_an_entry_is_served_only_at_its_version() -> None:
    cache: VersionedLru[str, str] = VersionedLru(4)
    cache.put("t_1", 3, "plan")
    assert cache.get("t_1", 3) == "plan"
    assert cache.get("t_1", 4) is None  # a change bumped the version: stale
    cache.put("t_1", 4, "new plan")
    assert cache.get("t_1", 4) == "new plan"


def test_the_least_recently_used_entry_goes_first_when_full() -> None:
    cache: VersionedLru[str, int] = VersionedLru(2)
    cache.put("a", 1, 1)
    cache.put("b", 1, 2)
    assert cache.get("a", 1) == 1  # "b" is now the least recently used
    cache.put("c", 1, 3)
    assert cache.get("b", 1) is None
    assert (cache.get("a", 1), cache.get("c", 1)) == (1, 3)


def test_a_discarded_entry_is_gone_whatever_its_version() -> None:
    cache: VersionedLru[str, int] = VersionedLru(2)
    cache.put("a", 1, 1)
    cache.discard("a")
    cache.discard("never there")
    assert cache.get("a", 1) is None
