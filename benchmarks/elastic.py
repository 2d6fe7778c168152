"""The elastic sandbox under hostile and heavy load: `python benchmarks/elastic.py [SECTION...]`.

Sections (all by default; about 4 minutes in all):

- noisy:       tenant B's 1-function run, p50/p99 alone, then while tenant A keeps 16 runs in
               flight each awaiting a 2 s timer, then 16 each awaiting a slow loopback HTTP
               server (2 s per response). Targets: p50 <= 1.5x and p99 <= 3x alone.
- spinners:    3 clients send code that keeps running after callback() for 20 s; B's
               throughput against B alone (target >= 0.8x), and the workers' CPU in the
               second after the last spinner's answer (target: idle within 1 s).
- tenants:     1, 16, 256 and 1,000 tenants round-robin, 3-function pipeline, once each
               tenant's isolate has served a dozen runs: p50 each (target: 1,000 <= 2x 1)
               and resident memory per warm tenant; and 1,000 tenants in their isolates'
               first runs (V8 has not yet compiled the driver's hot code there).
- concurrency: 500 runs in flight at once, each awaiting a 1 s timer: wall time (target
               <= 1.5 s), the sandbox's process count and resident memory.
- crash:       3,000 runs from 32 clients with 4 worker SIGKILLs spread over them: runs left
               unanswered (target 0) and p99 against the same load without kills (target
               <= 3x); per kill, how long the killed worker and the other had served and
               how soon the pool took it out of service.

Each ratio is measured within one run of this script, cases back to back (the machine is
shared; compare ratios, not absolute figures between days).
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import apps.runtime as runtime
from benchmarks.sandbox import job as three_function_job
from benchmarks.sandbox import pct

LOGIN = (
    "function pipe(user, context, callback) { user.seen = true; callback(null, user, context); }"
)
TIMER = (
    "async function pipe(user, context, callback) {"
    " await new Promise((resolve) => setTimeout(resolve, %d)); callback(null, user, context); }"
)
SLOW_HTTP = (
    "async function pipe(user, context, callback) {"
    " const r = await fetch('http://127.0.0.1:%d/slow'); user.status = r.status;"
    " callback(null, user, context); }"
)
SPINNERS = [
    "async function pipe(u, c, cb) { cb(null, u, c); await null; while (true) {} }",
    "async function pipe(u, c, cb) { cb(null, u, c); return { then() { while (true) {} } }; }",
    "function pipe(u, c, cb) { cb(null, u, c); (function again() { Promise.resolve().then(again); })(); }",
]


def one(code: str, tenant: str, timeout_ms: int = 3000) -> runtime.PipelineJob:
    return runtime.PipelineJob(
        tenant_id=tenant,
        trigger="PRE_AUTHENTICATION",
        user={"id": "u_1", "email": "ann@example.com"},
        context={"ip": "203.0.113.9"},
        functions=(
            runtime.FunctionJob(id="fn", name="f", version=1, code=code, timeout_ms=timeout_ms),
        ),
    )


def timed(job: runtime.PipelineJob) -> float:
    t0 = time.perf_counter()
    result = runtime.run_pipeline(job)
    if result.decision != "allow":
        raise SystemExit(f"unexpected result: {result.error}")
    return (time.perf_counter() - t0) * 1000


def b_latencies(seconds: float) -> list[float]:
    job = one(LOGIN, "t_b")
    out = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        out.append(timed(job))
        time.sleep(0.002)  # a login rate, not a flood
    return out


class Background:
    """``clients`` threads sending ``job`` back to back until stopped."""

    def __init__(self, clients: int, job: runtime.PipelineJob) -> None:
        self.job = job
        self.stopping = threading.Event()
        self.count = 0
        self.last_answer = 0.0
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(clients)]

    def _loop(self) -> None:
        while not self.stopping.is_set():
            runtime.run_pipeline(self.job)
            self.count += 1
            self.last_answer = time.monotonic()

    def __enter__(self) -> Background:
        for thread in self.threads:
            thread.start()
        time.sleep(0.5)  # all of them in flight
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()


class SlowServer:
    """A loopback HTTP server that answers every request after ``delay_s``."""

    def __init__(self, delay_s: float) -> None:
        delay = delay_s

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def row(name: str, values: list[float], base: list[float] | None = None) -> None:
    ratio = ""
    if base is not None:
        ratio = f"   p50 {pct(values, 0.5) / pct(base, 0.5):.2f}x  p99 {pct(values, 0.99) / pct(base, 0.99):.2f}x"
    print(
        f"  {name:46} p50 {pct(values, 0.5):7.3f} ms  p99 {pct(values, 0.99):8.3f} ms  n={len(values)}{ratio}"
    )


def noisy() -> None:
    server = SlowServer(2.0)
    runtime.configure(runtime.SandboxConfig(workers=2, http_allow=("127.0.0.1",)))
    for _ in range(200):
        timed(one(LOGIN, "t_b"))
    alone = b_latencies(8)
    with Background(16, one(TIMER % 2000, "t_a")):
        timers = b_latencies(8)
    with Background(16, one(SLOW_HTTP % server.port, "t_a", timeout_ms=5000)):
        http = b_latencies(8)
    server.close()
    print("noisy neighbour: tenant B's 1-function run (targets p50 <= 1.5x, p99 <= 3x)")
    row("B alone", alone)
    row("B, A has 16 runs awaiting a 2 s timer", timers, alone)
    row("B, A has 16 runs awaiting a 2 s HTTP response", http, alone)


def worker_cpu_s(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def b_throughput(seconds: float) -> float:
    job = one(LOGIN, "t_b")
    count = 0
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        runtime.run_pipeline(job)
        count += 1
    return count / seconds


def spinners(seconds: float, cycles: int = 5) -> None:
    """B alone and B beside the spinners, alternating (the machine is shared: its other load
    drifts), ``cycles`` times; the spinners run ``seconds`` in all."""
    runtime.configure(runtime.SandboxConfig(workers=2))
    b_throughput(1)
    jobs = [one(code, "t_spin") for code in SPINNERS]
    alone: list[float] = []
    beside: list[float] = []
    spins = 0
    last = 0.0
    for _ in range(cycles):
        alone.append(b_throughput(seconds / cycles))
        backgrounds = [Background(1, job) for job in jobs]
        for background in backgrounds:
            background.__enter__()
        beside.append(b_throughput(seconds / cycles - 0.5))
        for background in backgrounds:
            background.__exit__()
        spins += sum(background.count for background in backgrounds)
        last = max(background.last_answer for background in backgrounds)
    pids = runtime._get_pool().worker_pids()
    time.sleep(max(0.0, last + 1.0 - time.monotonic()))
    cpu0 = worker_cpu_s(pids)
    time.sleep(1.0)
    idle_cpu = worker_cpu_s(pids) - cpu0
    ratio = sum(beside) / sum(alone)
    print(
        "post-callback spinners: 3 clients, loop after await / looping then-able / microtask storm"
    )
    print(
        f"  B alone ({cycles} phases)                         {statistics.mean(alone):8.0f} runs/s"
    )
    print(
        f"  B beside the spinners ({spins} spinner runs)      {statistics.mean(beside):8.0f} runs/s   {ratio:.2f}x (target >= 0.8x)"
    )
    print(
        f"  workers' CPU in the 2nd second after the last spinner: {idle_cpu * 1000:.0f} ms (idle: ~0)"
    )


def rss_mb(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/statm") as f:
            total += int(f.read().split()[1])
    return total * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


# Runs each tenant's isolate serves before the tenants section measures it.
TENANT_WARM_RUNS = 12


def tenants() -> None:
    counts = [1, 16, 256, 1000]
    # Room for 1,000 warm tenants on this host, 500 a worker: ~2.6-3.2 MiB each (printed
    # below), and the budget counts the worker's whole resident growth, allocator slack
    # included. With 1,536 MiB a worker, isolates were evicted and rebuilt throughout (the
    # 1,000 tenants' p99 was ~52 ms: builds).
    runtime.configure(
        runtime.SandboxConfig(workers=2, warm_memory_mb=3072, worker_rss_limit_mb=4096)
    )
    runtime.run_pipeline(three_function_job("t_0"))
    pids = runtime._get_pool().worker_pids()
    base_rss = rss_mb(pids)
    jobs = [three_function_job(f"t_{n}") for n in range(counts[-1])]

    def rounds(some: list[runtime.PipelineJob], times: int) -> list[float]:
        lat = []
        for _ in range(times):
            for job in some:
                t0 = time.perf_counter()
                runtime.run_pipeline(job)
                lat.append((time.perf_counter() - t0) * 1000)
        return lat

    results = {}
    first_runs: list[float] = []
    before = 0
    for count in counts:
        new = jobs[before:count]
        rounds(new, 1)  # the new tenants have an isolate
        if count == counts[-1]:
            first_runs = rounds(new, 3)  # each new isolate's runs 2 to 4
        # Active tenants: every isolate has served a dozen runs (V8 has compiled what is
        # hot in it) before the runs measured.
        rounds(jobs[:count], TENANT_WARM_RUNS - 1 - (3 if first_runs else 0))
        results[count] = rounds(jobs[:count], max(3, 3000 // count))
        before = count
    # The machine's speed drifts: one tenant again, after the rest, in the same baseline.
    results[1] += rounds(jobs[:1], 3000)
    per_tenant = (rss_mb(runtime._get_pool().worker_pids()) - base_rss) / (counts[-1] - 1)
    print(
        f"tenants round-robin, 3-function pipeline, 2 workers, each tenant's isolate warm"
        f" ({TENANT_WARM_RUNS} runs) (target p50 at 1,000 <= 2x at 1)"
    )
    for count in counts:
        row(f"{count} tenants", results[count], results[1])
    row(f"{counts[-1]} tenants, runs 2-4 of the new isolates", first_runs, results[1])
    print(f"  resident memory per warm tenant: {per_tenant:.2f} MiB")


def concurrency() -> None:
    runtime.configure(
        runtime.SandboxConfig(
            workers=2, max_runs_per_worker=256, warm_memory_mb=1024, worker_rss_limit_mb=1536
        )
    )
    # A generous timeout: the first wave builds 500 isolates on 2 cores before any timer runs.
    jobs = [one(TIMER % 1000, f"t_{n % 50}", timeout_ms=15000) for n in range(500)]

    def wave() -> float:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(500) as pool:
            results = list(pool.map(runtime.run_pipeline, jobs))
        assert all(r.decision == "allow" for r in results), results[0]
        return time.perf_counter() - t0

    cold = wave()
    warm = wave()
    pool = runtime._get_pool()
    pids = pool.worker_pids()
    template = pool._forkserver.proc.pid if pool._forkserver is not None else None
    spares = {spare.proc.pid for spare in pool._spares}
    processes = len(pids) + len(spares) + (template is not None)
    print("500 runs in flight at once, each awaiting a 1 s timer (50 tenants x 10)")
    print(f"  first wave (every isolate built on demand): {cold:.2f} s wall")
    print(f"  second wave (isolates warm):                {warm:.2f} s wall (target <= 1.5 s)")
    print(
        f"  sandbox processes: {processes} ({len(pids)} workers, {len(spares)} spares, the"
        f" template they are forked from); workers' RSS {rss_mb(pids):.0f} MiB, the spares'"
        f" {rss_mb(spares):.0f} MiB, the template's"
        f" {rss_mb({template} if template else set()):.0f} MiB"
    )


class ServiceLog:
    """When each worker process entered and left the pool's service, sampled every
    millisecond on a thread of its own (times from ``time.perf_counter``)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.started = time.perf_counter()
        self.entered: dict[int, float] = {}
        self.left: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        serving: set[int] = set()
        while not self._stop.is_set():
            now, current = time.perf_counter(), self.pool.worker_pids()
            for pid in current - serving:
                self.entered.setdefault(pid, now)
            for pid in serving - current:
                self.left.setdefault(pid, now)
            serving = current
            time.sleep(0.001)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def under_load(total: int, clients: int, kills: int) -> tuple[list[float], int, int, list[str]]:
    """``total`` runs from ``clients`` threads; ``kills`` worker SIGKILLs spread evenly over
    the runs (after 1/(kills+1), 2/(kills+1), ... of them were sent), each of a random worker.
    Returns the latencies, the runs left unanswered, those answered ``sandbox_crashed``, and a
    line per kill: how long the killed worker and the others had served, and how soon the pool
    took it out of service."""
    jobs = [three_function_job(f"t_{n % 32}") for n in range(total)]
    pool = runtime._get_pool()
    service = ServiceLog(pool)
    latencies: list[float] = []
    crashed = 0
    sent = 0
    lock = threading.Lock()
    kill_at = {total * (k + 1) // (kills + 1) for k in range(kills)}
    killed: list[tuple[float, int, set[int]]] = []

    def send(job: runtime.PipelineJob) -> None:
        nonlocal crashed, sent
        with lock:
            sent += 1
            kill_now = sent in kill_at
        if kill_now:
            serving = pool.worker_pids()
            victim = random.choice(sorted(serving))
            killed.append((time.perf_counter(), victim, serving - {victim}))
            os.kill(victim, signal.SIGKILL)
        t0 = time.perf_counter()
        result = runtime.run_pipeline(job)
        with lock:
            latencies.append((time.perf_counter() - t0) * 1000)
            if result.error and result.error["code"] == "sandbox_crashed":
                crashed += 1

    with ThreadPoolExecutor(clients) as executor:
        list(executor.map(send, jobs))
    time.sleep(0.05)
    service.stop()

    def served(pid: int, at: float) -> str:
        entered = service.entered.get(pid)
        if entered is None or entered - service.started < 0.005:  # in the first sample
            return "since the start"
        return f"{at - entered:.2f} s"

    lines = []
    for n, (at, victim, others) in enumerate(killed, 1):
        left = service.left.get(victim)
        gone = f"{(left - at) * 1000:.0f} ms" if left is not None else "not seen"
        partners = ", ".join(served(pid, at) for pid in sorted(others)) or "none"
        lines.append(
            f"  kill {n}: a worker serving {served(victim, at)} (the others: {partners});"
            f" out of service after {gone}"
        )
    return latencies, total - len(latencies), crashed, lines


def crash() -> None:
    runtime.configure(runtime.SandboxConfig(workers=2))
    # Warm as the runs with kills will be: after 500 runs the next 3,000 still had a p99 of
    # 30-70 ms, the 3,000 after those 21-30 ms.
    under_load(3500, 32, 0)
    calm, _, _, _ = under_load(3000, 32, 0)
    stormy, lost, crashed, kills = under_load(3000, 32, 4)
    print("crash under load: 3,000 runs, 32 clients, 3-function pipeline")
    row("no kills", calm)
    row("4 worker SIGKILLs", stormy, calm)
    print(f"  runs left unanswered: {lost} (target 0); answered as sandbox_crashed: {crashed}")
    print("\n".join(kills))


SECTIONS: dict[str, Callable[[], None]] = {
    "noisy": noisy,
    "spinners": lambda: spinners(20.0),
    "tenants": tenants,
    "concurrency": concurrency,
    "crash": crash,
}


def main(argv: list[str]) -> None:
    names = argv or list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    print(f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}; load {os.getloadavg()[0]:.2f}")
    for name in names:
        SECTIONS[name]()
    runtime.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
