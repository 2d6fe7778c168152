"""The per-process cache for what a tenant's configuration decides (its live functions, its
decrypted env): entries are valid for one version, and every change to a tenant's
configuration bumps its ``config_version``, so a stale entry is never served once the request
has read the tenant afresh. Nothing is shared between processes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class VersionedLru[K: Hashable, V]:
    """A small thread-safe LRU (web workers serve requests on several threads) whose entries
    are valid for one version."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, tuple[Hashable, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, version: Hashable) -> V | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[0] != version:
                return None
            self._data.move_to_end(key)
            return entry[1]

    def put(self, key: K, version: Hashable, value: V) -> None:
        with self._lock:
            self._data[key] = (version, value)
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def discard(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
