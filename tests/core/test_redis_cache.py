"""The Redis cache backend keeps its clients (runs in the PostgreSQL + Redis suite)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from redis.exceptions import ResponseError

from apps.core.redis_cache import RedisCache, round_trip

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


@pytest.fixture
def cache() -> Iterator[RedisCache]:
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "test-round-trip"})
    yield cache
    cache.delete_many(["n", "list", "other"])


def _key(cache: RedisCache, name: str) -> str:
    return cache.make_and_validate_key(name)


def test_a_round_trip_answers_each_command_in_order_on_keys_djangos_api_reads(
    cache: RedisCache,
) -> None:
    client = cache._cache.get_client(write=True)
    n = _key(cache, "n")
    assert round_trip(client, ("INCR", n), ("EXPIRE", n, 30), ("GET", _key(cache, "other"))) == [
        1,
        1,
        None,
    ]
    assert round_trip(client, ("INCRBY", n, 41), ("GET", n)) == [42, b"42"]
    assert cache.get("n") == 42
    assert 0 < client.ttl(n) <= 30


def test_a_connection_the_server_dropped_is_made_again_and_the_commands_sent_once_more(
    cache: RedisCache,
) -> None:
    client = cache._cache.get_client(write=True)
    n = _key(cache, "n")
    [first] = round_trip(client, ("CLIENT", "ID"))
    assert client.client_kill_filter(_id=first) == 1  # as a Redis restart would
    assert round_trip(client, ("INCR", n)) == [1]
    [second] = round_trip(client, ("CLIENT", "ID"))
    assert second != first
    assert cache.get("n") == 1  # counted once


def test_an_error_reply_raises_and_leaves_no_reply_behind_for_the_next_round_trip(
    cache: RedisCache,
) -> None:
    client = cache._cache.get_client(write=True)
    client.rpush(_key(cache, "list"), "x")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        round_trip(client, ("INCR", _key(cache, "list")), ("INCR", _key(cache, "n")))
    # The second command's reply was not read: the connection it was on is closed, and the
    # next round trip gets its own replies on a new one.
    assert round_trip(client, ("GET", _key(cache, "other"))) == [None]
    assert round_trip(client, ("INCR", _key(cache, "n"))) == [2]


# Forked as a Celery prefork child or a gunicorn worker is; earlier tests may have left
# threads in this process, so the child is given 10 s to answer, never a hang.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_talks_on_a_connection_of_its_own(cache: RedisCache) -> None:
    client = cache._cache.get_client(write=True)
    [parent] = round_trip(client, ("CLIENT", "ID"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its reply goes through the pipe, whatever happens
        signal.alarm(10)
        try:
            os.write(write, str(round_trip(client, ("CLIENT", "ID"))[0]).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64))
    os.close(read)
    os.waitpid(pid, 0)
    assert child != parent
    assert round_trip(client, ("CLIENT", "ID")) == [parent]  # the parent's is untouched
