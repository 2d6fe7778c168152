"""Django's Redis cache backend, with one Redis client per server instead of one per
operation.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache operation
(~0.25 ms of CPU here, far more than the round trip itself); a client is thread-safe and
cheap to keep, and its connection pool starts afresh in a forked child. Django keeps one
backend instance per thread, so this is one client per server per thread.

Also the helpers for counters kept in the shared cache (fairness, rate limits): the Redis
client behind it, a round trip of several commands on a connection of the thread's own, and
an atomic add on any backend.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.core.cache.backends import redis as django_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient


def redis_client(cache: Any) -> Any:
    """The Redis client behind ``cache`` (kept by ``RedisCacheClient``), for pipelines of
    several operations in one round trip; None for other caches."""
    get_client = getattr(getattr(cache, "_cache", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None


# Connections a thread keeps for ``round_trip``: one per Redis cache it uses.
MAX_LANES = 4


class _Lanes(threading.local):
    """This thread's connections for ``round_trip``: (connection pool, connection) pairs."""

    def __init__(self) -> None:
        self.pid = 0
        self.held: list[tuple[Any, Any]] = []


_lanes = _Lanes()


def _lane(client: Any) -> Any:
    """This thread's connection to the server behind ``client``, made from the same settings
    as its pool's (address, database, credentials, TLS) and used by nothing else."""
    pool = client.connection_pool
    if _lanes.pid != os.getpid():  # after a fork: the parent's sockets are not ours
        _lanes.pid, _lanes.held = os.getpid(), []
    for held_pool, connection in _lanes.held:
        if held_pool is pool:
            return connection
    connection = pool.connection_class(**pool.connection_kwargs)
    _lanes.held.append((pool, connection))
    if len(_lanes.held) > MAX_LANES:  # caches replaced (settings changed): drop the oldest
        _lanes.held.pop(0)[1].disconnect()
    return connection


def _pack(commands: tuple[tuple[str | int, ...], ...]) -> bytes:
    """The commands as RESP arrays of bulk strings (what every Redis reads, RESP2 or 3)."""
    out = []
    for command in commands:
        out.append(b"*%d\r\n" % len(command))
        for arg in command:
            data = str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def round_trip(client: Any, *commands: tuple[str | int, ...]) -> list[Any]:
    """Send ``commands`` (names and arguments: keys made by the cache, integers) to the Redis
    behind ``client`` in one round trip; their replies, in order.

    The client's pipeline wraps each use in its pool, retries, events and metrics: a run's
    admission and release (``benchmarks/fairness.py``, two round trips) took 250-300 µs of CPU
    that way and take 140-155 µs this way. On a broken connection it reconnects and sends the
    commands once more, as the client's retries would; any other failure leaves the
    connection closed (no reply is left unread on it) and raises.
    """
    connection = _lane(client)
    packed = _pack(commands)
    for attempt in (1, 2):
        try:
            connection.send_packed_command([packed], check_health=False)
            return [connection.read_response() for _ in commands]
        except (RedisConnectionError, RedisTimeoutError):
            connection.disconnect()
            if attempt == 2:
                raise
        except BaseException:
            connection.disconnect()
            raise
    raise AssertionError("unreachable")


def add_to_counter(cache: Any, key: str, amount: int, timeout_s: int) -> None:
    """Add ``amount`` to the counter ``key`` in ``cache``, creating it (kept ``timeout_s``)
    if it is not there; atomic on every backend (``incr`` on the common path)."""
    try:
        cache.incr(key, amount)
    except ValueError:  # not there yet (or evicted)
        if not cache.add(key, amount, timeout_s):
            cache.incr(key, amount)  # another process added it first
