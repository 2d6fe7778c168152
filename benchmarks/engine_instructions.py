"""Instructions per warm 3-function run, counted by valgrind's callgrind:
`DEBUG=True python benchmarks/engine_instructions.py [--runs 500]`.

``engine_cpu.py`` times a run, and on a shared machine its figures move by a third from one
minute to the next. An instruction count moves far less: on an otherwise idle machine the
same code gives the same count to a few parts in a thousand, so two versions of the sandbox
can be compared from a reading or two each. Not while other work runs: under valgrind a run
takes tens of milliseconds, and the engine's waits that end on time (the watchdog's, the
memory reading every 0.1 s) then end differently (one version read 1.48 to 1.84 M while
tests ran beside it). It runs the engine of ``engine_cpu.py`` (the pipeline of
``benchmarks/sandbox.py``, no worker process, no socket) twice under callgrind, with 100
warm-up runs and with 100 + ``--runs``, and prints the difference per run: every thread of
the process (Python's and the isolate's) is counted. Needs valgrind (Debian package).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARM_UP = 100


def child(runs: int) -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from sandbox import job

    import apps.runtime as runtime
    from apps.runtime.engine import Engine

    engine = Engine(runtime.SandboxConfig(spare_isolates=0).engine_config())
    wire_job = job().to_wire()
    for _ in range(WARM_UP + runs):
        engine.run_job(wire_job, lambda _index: None)
    os._exit(0)  # no teardown: its instructions would be counted too


def counted(runs: int) -> int:
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--smc-check=all-non-file",  # V8 writes the code it runs
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            str(runs),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind gave no count:\n{done.stderr[-3000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (apt-get install valgrind)")
    base = counted(0)
    total = counted(args.runs)
    per_run = (total - base) / args.runs
    print(f"warm 3-function run in the engine: {per_run / 1e6:.3f} M instructions a run")
    print(f"  ({args.runs} runs after {WARM_UP} warm-up runs; start-up {base / 1e6:.0f} M)")


if __name__ == "__main__":
    main()
