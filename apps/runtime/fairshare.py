"""Fair shares of the host between tenants, from the CPU their code used recently.

Two measures use the same account (``TenantLoad``), each where it can act:

- In a sandbox worker, a tenant whose functions used more than HOT_CPU_S of CPU over about the
  last HOT_WINDOW_S (decaying), or a run whose own code has used LONG_RUN_CPU_S, runs its
  isolates' threads at HOT_NICE. Under contention the kernel then gives the cores to other
  tenants' runs first (a weight of 15 against 1024); with nothing else to run, it still gets
  them all.
- In the caller's pool, which sees every worker, while other tenants are running a hot
  tenant's next run first waits as long as its load is over HOT_CPU_S (at most MAX_YIELD_S:
  time that costs no CPU and is outside its functions' timeouts). A run is charged the CPU of
  its code, what it left running included, and the cost of building an isolate when it left
  its isolate unusable (a loop after callback(), a cut): code that burns a core, or needs a
  new isolate at every run, then cannot take the host from the others.
"""

from __future__ import annotations

import math
import threading
import time

HOT_WINDOW_S = 2.0
# Half a core over the window: a tenant busy with many quick runs (a thousand 0.2 ms logins
# a second) stays below it; code that needs a new isolate at every run does not.
HOT_CPU_S = 1.0
LONG_RUN_CPU_S = 0.05
HOT_NICE = 19
MAX_YIELD_S = 0.5
OTHERS_ACTIVE_S = 1.0
# Past this many tenants, those that have cooled down are forgotten.
FORGET_AT = 4096


class TenantLoad:
    """CPU seconds each tenant's code used recently, decaying with HOT_WINDOW_S."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._load: dict[str, tuple[float, float]] = {}
        self._forget_at = FORGET_AT
        # The two tenants that ran last, newest first, with when: (tenant, monotonic time).
        self._latest: list[tuple[str, float]] = []

    def _decayed(self, tenant_id: str, now: float) -> float:
        value, at = self._load.get(tenant_id, (0.0, now))
        return value * math.exp(-(now - at) / HOT_WINDOW_S)

    def add(self, tenant_id: str, cpu_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._load[tenant_id] = (self._decayed(tenant_id, now) + cpu_s, now)
            others = [entry for entry in self._latest if entry[0] != tenant_id]
            self._latest = [(tenant_id, now), *others[:1]]
            if len(self._load) > self._forget_at:  # forget the tenants that have cooled down
                self._load = {
                    t: (v, at) for t, (v, at) in self._load.items() if now - at < 10 * HOT_WINDOW_S
                }
                # With more tenants than that all active, not again at every run (each pass
                # reads them all): only once as many again have been added.
                self._forget_at = max(FORGET_AT, 2 * len(self._load))

    def touch(self, tenant_id: str) -> None:
        """The tenant is running something now."""
        self.add(tenant_id, 0.0)

    def hot(self, tenant_id: str) -> bool:
        return self.excess(tenant_id) > 0

    def excess(self, tenant_id: str) -> float:
        """CPU seconds the tenant's recent load is over HOT_CPU_S (0 if not)."""
        with self._lock:
            return max(self._decayed(tenant_id, time.monotonic()) - HOT_CPU_S, 0.0)

    def others_active(self, tenant_id: str) -> bool:
        """Whether another tenant started or finished a run in the last OTHERS_ACTIVE_S."""
        now = time.monotonic()
        with self._lock:
            return any(t != tenant_id and now - at < OTHERS_ACTIVE_S for t, at in self._latest)

    def yield_to_others(self, tenant_id: str) -> None:
        excess = self.excess(tenant_id)
        if excess > 0 and self.others_active(tenant_id):
            time.sleep(min(excess, MAX_YIELD_S))
