"""How soon a new sandbox worker can serve: spawned (a fresh interpreter) against forked from
the pool's template (apps/runtime/forkserver.py), on an idle machine and with every core busy.

    DEBUG=True .venv/bin/python benchmarks/worker_start.py [--starts 5]

For each way and each condition it starts a worker ``--starts`` times, one after the other,
and prints the median wall time until its "ready" message and the CPU the new process had used
by then. "Busy" runs one spinning process per core beside it at the same priority: a pool
replaces a lost worker while the others serve at full load, and a new process then gets only
its share of a core.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.runtime.config import SandboxConfig  # noqa: E402
from apps.runtime.forkserver import ForkServer  # noqa: E402
from apps.runtime.pool import _ROOT, _Worker, worker_env  # noqa: E402
from benchmarks.elastic import worker_cpu_s  # noqa: E402


def start_once(config: SandboxConfig, forkserver: ForkServer | None) -> tuple[float, float]:
    t0 = time.perf_counter()
    worker = _Worker(config, forkserver=forkserver)
    worker.wait_ready(60)
    wall = time.perf_counter() - t0
    if worker.failed:
        raise SystemExit("a worker failed to start")
    cpu = worker_cpu_s({worker.proc.pid})
    worker.kill()
    return wall * 1000, cpu * 1000


@contextlib.contextmanager
def busy_cores() -> Iterator[None]:
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        time.sleep(0.2)
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    config = SandboxConfig(workers=1).resolved()
    forkserver = ForkServer(worker_env(), _ROOT)
    start_once(config, forkserver)  # the template's own start is not timed
    print(f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}; {args.starts} starts each")
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    print(f"{'condition':<10} {'way':<8} {'ready ms (median)':>18} {'CPU ms at ready':>16}")
    for condition in ("idle", "busy"):
        with busy_cores() if condition == "busy" else contextlib.nullcontext():
            for _ in range(args.starts):
                for way, server in (("spawned", None), ("forked", forkserver)):
                    results.setdefault((condition, way), []).append(start_once(config, server))
        for way in ("spawned", "forked"):
            walls, cpus = zip(*results[(condition, way)], strict=True)
            print(
                f"{condition:<10} {way:<8} {statistics.median(walls):>18.0f}"
                f" {statistics.median(cpus):>16.0f}"
            )
    forkserver.close()


if __name__ == "__main__":
    main()
