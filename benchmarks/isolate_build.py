"""What building one sandbox isolate costs: `DEBUG=True python benchmarks/isolate_build.py`.

A tenant's first run on a worker, each run in fresh-isolate mode, every spare a worker keeps
and every tenant a replacement worker prepares after a crash builds one: V8's isolate, our
polyfills, modules and driver, then the deep freeze of every built-in. Builds ``--builds``
isolates one after another in this process (after a few unmeasured ones) and prints, per
build, the CPU of the isolate's own thread (where its JavaScript runs), the CPU of the thread
that asked for it, the wall time, and what freeing it cost; ``--rounds`` times.

Times move by a third within minutes on a shared machine. ``--instructions`` counts instead,
with valgrind's callgrind (as ``engine_instructions.py`` does for a run): the instructions of
every thread of a process that builds and frees ``--builds`` isolates after the warm-up, less
those of one that builds none, per build. Steady to a fraction of a percent on an otherwise
idle machine; needs valgrind (Debian package).

    DEBUG=True .venv/bin/python benchmarks/isolate_build.py [--builds 100] [--rounds 3]
    DEBUG=True .venv/bin/python benchmarks/isolate_build.py --instructions [--builds 20]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.runtime.isolate import Isolate

HEAP_MB = 64
WARM_UP = 5


def one_round(builds: int) -> dict[str, float]:
    isolate_cpu, caller_cpu, wall, free = [], [], [], []
    for _ in range(builds):
        thread0, wall0 = time.thread_time(), time.perf_counter()
        isolate = Isolate(HEAP_MB)
        caller_cpu.append(time.thread_time() - thread0)
        wall.append(time.perf_counter() - wall0)
        isolate_cpu.append(isolate.build_cpu_s)
        thread0 = time.thread_time()
        isolate.close()
        free.append(time.thread_time() - thread0)
    return {
        "isolate thread CPU": statistics.median(isolate_cpu) * 1000,
        "asking thread CPU": statistics.median(caller_cpu) * 1000,
        "wall": statistics.median(wall) * 1000,
        "free (asking thread CPU)": statistics.median(free) * 1000,
    }


def child(builds: int) -> None:
    for _ in range(WARM_UP + builds):
        Isolate(HEAP_MB).close()
    os._exit(0)  # no teardown: its instructions would be counted too


def counted(builds: int) -> int:
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--smc-check=all-non-file",  # V8 writes the code it runs
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            str(builds),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind gave no count:\n{done.stderr[-3000:]}")
    return int(found.group(1))


def instructions(builds: int) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (apt-get install valgrind)")
    per_build = (counted(builds) - counted(0)) / builds
    print(f"building and freeing an isolate: {per_build / 1e6:.2f} M instructions")
    print(f"  ({builds} builds after {WARM_UP} warm-up builds, every thread counted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--builds", type=int, default=None, help="100; 20 with --instructions")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
    if args.instructions:
        instructions(args.builds or 20)
        return
    args.builds = args.builds or 100
    for _ in range(WARM_UP):
        Isolate(HEAP_MB).close()
    print(f"{args.builds} isolates built one after another per round; medians in ms")
    for round_no in range(1, args.rounds + 1):
        figures = one_round(args.builds)
        print(f"round {round_no}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
