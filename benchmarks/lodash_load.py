"""What lodash costs an isolate: `python benchmarks/lodash_load.py` (a few seconds).

lodash is loaded lazily, when the first function whose code names it is compiled into an
isolate. Prints the median of: building an isolate (prelude, freezing), compiling a plain
function into a fresh isolate, compiling one that requires lodash (lodash loaded with it),
and what loading lodash eagerly at start-up would add to every isolate.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.runtime import engine
from apps.runtime.isolate import Isolate

ROUNDS = 25
PLAIN = "async function pipe(user, context, callback) { callback(null, user, context); }"
WITH_LODASH = (
    "async function pipe(user, context, callback) {\n"
    "  const _ = require('lodash');\n"
    "  user.tags = _.uniq(user.tags || []);\n"
    "  callback(null, user, context);\n}"
)


def median_ms(measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(ROUNDS)) * 1000


def isolate_start() -> float:
    t0 = time.perf_counter()
    isolate = Isolate(64)
    elapsed = time.perf_counter() - t0
    isolate.close()
    return elapsed


def compile_fresh(code: str) -> Callable[[], float]:
    def measure() -> float:
        isolate = Isolate(64)
        t0 = time.perf_counter()
        assert engine.compile_into(isolate, engine.code_key(code), code) is None
        elapsed = time.perf_counter() - t0
        isolate.close()
        return elapsed

    return measure


def eager_lodash() -> float:
    isolate = Isolate(64)
    t0 = time.perf_counter()
    engine._load_lodash(isolate)
    elapsed = time.perf_counter() - t0
    isolate.close()
    return elapsed


def main() -> None:
    Isolate(64).close()  # V8's one-time initialisation is not an isolate's cost
    rows = [
        ("isolate start-up (polyfills, modules, prelude, freeze)", median_ms(isolate_start)),
        ("compile a plain function into a fresh isolate", median_ms(compile_fresh(PLAIN))),
        ("compile a function naming lodash (loads lodash)", median_ms(compile_fresh(WITH_LODASH))),
        ("lodash alone (what eager loading adds to every isolate)", median_ms(eager_lodash)),
    ]
    print(f"median of {ROUNDS} rounds")
    for label, ms in rows:
        print(f"{label:<58} {ms:7.2f} ms")


if __name__ == "__main__":
    main()
