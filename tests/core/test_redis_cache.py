"""The Redis cache backend keeps its clients (runs in the PostgreSQL + Redis suite)."""

from __future__ import annotations

import os

import pytest

from apps.core.redis_cache import RedisCache

REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")


def test_operations_share_one_client_and_behave_as_djangos() -> None:
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "test-redis-cache"})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client() is client  # one server: reads go to it too

    cache.delete("n")
    assert cache.add("n", 1, 30) is True
    assert cache.incr("n", 4) == 5
    assert cache.get("n") == 5
    cache.set("obj", {"a": [1, 2]}, 30)
    assert cache.get("obj") == {"a": [1, 2]}
    # What the fairness counters write with the raw client, Django's API reads.
    client.incrby(cache.make_and_validate_key("n"), 2)
    assert cache.get("n") == 7
    cache.delete_many(["n", "obj"])
    assert cache.get("n") is None
