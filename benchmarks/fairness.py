"""Cost of the per-tenant fairness counters per run: `DEBUG=True python benchmarks/fairness.py`.

Admits, charges and releases 2,000 runs through ``apps.runs.fairness.admission`` (what the
execute path uses), and through the separate cache operations it replaced (check the CPU
allowance, take a slot, give it back, charge the CPU: six cache operations), with the cache
the settings give: the local-memory cache, or Redis with ``REDIS_URL`` set, e.g.
``REDIS_URL=redis://127.0.0.1:6379/3``. Prints wall and CPU time per run, three rounds each.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genauth_pipeline.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from apps.runs import fairness  # noqa: E402

RUNS = 2000
LIMITS: dict[str, object] = {"max_in_flight": 10**6, "cpu_ms_per_minute": 10**9}


def one_admission() -> None:
    with fairness.admission("t_bench", LIMITS) as charge:
        charge(1.0)


def six_operations() -> None:
    fairness.check_cpu("t_bench", 10**9)
    with fairness.in_flight_slot("t_bench", 10**6):
        pass
    fairness.charge_cpu("t_bench", 1.0)


def per_run_us(work: Callable[[], None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(RUNS):
        work()
    return (time.perf_counter() - wall) / RUNS * 1e6, (time.process_time() - cpu) / RUNS * 1e6


def main() -> None:
    print(f"cache: {settings.CACHES['default']['BACKEND']}")
    for round_ in range(1, 4):
        for label, work in (("admission", one_admission), ("six operations", six_operations)):
            wall, cpu = per_run_us(work)
            print(f"round {round_}: {label:15s} {wall:7.0f} µs wall  {cpu:7.0f} µs CPU per run")


if __name__ == "__main__":
    main()
