"""API rate limits: a sliding-window counter per API key (or console user, or client IP).

DRF's ``SimpleRateThrottle`` keeps every request's timestamp of the last period in one cache
entry, read, rewritten and (on Redis) sent both ways whole on every request. At the default
6,000 requests a minute an IdP's busy key carried a list of up to 6,000 floats per request
(~54 KB through Redis each way), and concurrent requests overwrote each other's updates. Here
a key's state is two integers: the count of the current window and of the one before, and the
request is judged on ``previous * (share of the previous window still inside the period) +
current``, the usual approximation of a sliding window. A request that is let through adds one
to the current window with an atomic ``incr``; a refused one counts nothing. With Redis that
is one round trip (``round_trip``), as for the sandbox's fairness counters.
"""

from __future__ import annotations

import math
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from apps.core.redis_cache import add_to_counter, redis_client, round_trip
from apps.tenants.access import Principal


class SlidingWindowRateThrottle(SimpleRateThrottle):
    """``SimpleRateThrottle``'s rates and cache keys, with O(1) state (module docstring)."""

    num_requests: int
    duration: int
    # What the last ``allow_request`` read, for ``wait``.
    previous = 0
    current = 0
    elapsed = 0.0

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window, into = divmod(now, self.duration)
        current_key = f"{self.key}:{int(window)}"
        previous_key = f"{self.key}:{int(window) - 1}"
        self.elapsed = into / self.duration
        client = redis_client(self.cache)
        if client is not None:
            return self._allow_with_redis(client, previous_key, current_key)
        counts = self.cache.get_many([previous_key, current_key])
        self.previous = int(counts.get(previous_key, 0))
        self.current = int(counts.get(current_key, 0))
        if self._weighted(self.elapsed) + 1 > self.num_requests:
            return False
        # Kept for two periods: it is the previous window for one more.
        add_to_counter(self.cache, current_key, 1, math.ceil(2 * self.duration))
        return True

    def _allow_with_redis(self, client: Any, previous_key: str, current_key: str) -> bool:
        """One round trip: the request is counted first and the count taken back if it is
        refused (rare), instead of a read and then a write."""
        current = self.cache.make_and_validate_key(current_key)
        previous = self.cache.make_and_validate_key(previous_key)
        counted, _, before = round_trip(
            client,
            ("INCR", current),
            ("EXPIRE", current, math.ceil(2 * self.duration)),
            ("GET", previous),
        )
        self.current, self.previous = int(counted) - 1, int(before or 0)
        if self._weighted(self.elapsed) + 1 > self.num_requests:
            round_trip(client, ("DECR", current))
            return False
        return True

    def wait(self) -> float | None:
        """Seconds until one more request would be let through (for ``Retry-After``)."""
        limit = self.num_requests - 1  # what the others may weigh for one more to pass
        if self.current <= limit and self.previous:
            # The previous window's share has to shrink: at what point of this window?
            point = 1 - (limit - self.current) / self.previous
            return max(point - self.elapsed, 0) * self.duration
        # This window alone is full: in the next one, it is the previous window.
        point = 1 - limit / self.current if self.current else 0
        return (1 - self.elapsed + max(point, 0)) * self.duration

    def _weighted(self, elapsed: float) -> float:
        return self.previous * (1 - elapsed) + self.current


class PrincipalRateThrottle(SlidingWindowRateThrottle):
    """One bucket per API key (or console user); anonymous requests per client IP."""

    scope = "principal"

    def get_cache_key(self, request: Request, view: Any) -> str:
        principal = request.auth
        if isinstance(principal, Principal):
            ident = principal.caller
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class HookRateThrottle(PrincipalRateThrottle):
    """Signed hooks carry no key: one bucket per tenant and client IP, so one tenant's IdP
    never spends another's allowance from a shared egress address."""

    def get_cache_key(self, request: Request, view: Any) -> str:
        ident = f"hook:{view.kwargs.get('tenant_slug', '')}:ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
