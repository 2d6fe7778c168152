"""CPU per warm 3-function run in one process: `DEBUG=True python benchmarks/engine_cpu.py`.

Drives the sandbox engine directly (no worker process, no socket) with the pipeline of
``benchmarks/sandbox.py``. Prints the process's CPU time per run, which includes the isolate's
own thread, paced (2 ms between runs, as requests arrive) and back to back, three rounds each.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import apps.runtime as runtime
from apps.runtime.engine import Engine

RUNS = 1500


def cpu_per_run_ms(engine: Engine, job: dict, gap_s: float) -> float:
    started = time.process_time()
    for _ in range(RUNS):
        engine.run_job(job, lambda _index: None)
        if gap_s:
            time.sleep(gap_s)
    return (time.process_time() - started) / RUNS * 1000


def main() -> None:
    from sandbox import job

    engine = Engine(runtime.SandboxConfig(spare_isolates=0).engine_config())
    wire_job = job().to_wire()
    for _ in range(300):  # warm: compiled functions, a warm isolate
        engine.run_job(wire_job, lambda _index: None)
    for round_ in range(1, 4):
        paced = cpu_per_run_ms(engine, wire_job, 0.002)
        back_to_back = cpu_per_run_ms(engine, wire_job, 0.0)
        print(
            f"round {round_}: CPU per run {paced:.3f} ms paced (2 ms apart), "
            f"{back_to_back:.3f} ms back to back"
        )


if __name__ == "__main__":
    main()
