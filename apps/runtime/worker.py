"""The sandbox worker process: ``python -m apps.runtime.worker CONFIG_JSON SOCKET_FD MIRROR_FD``.

Started by pool.py with a clean interpreter (never forked from a process holding isolates).
It answers JSON requests over a socket: ``run``, ``validate`` or ``ping``, many at once.
``prepare`` (compile a tenant's functions into an isolate kept for its runs) is done in idle
time and not answered: the worker counts those done in shared memory. Each
request is handled on a thread of its own, in an isolate of its own, so a run that waits on a
timer or an outbound request holds only that thread and that isolate: the isolates' V8
threads and the waits release the interpreter lock, and every other run goes on. Replies carry
the request's id and may come in any order. While a step runs, the worker mirrors its index
into the request's slot of a small shared memory page, so that the caller can name the step in
flight if this process dies, and beats a heartbeat there. It asks to be retired (the caller
stops sending it work and replaces it once the runs it holds are answered) when its resident
memory is over its ceiling or it holds an isolate it could not stop.
"""

from __future__ import annotations

import _thread
import contextlib
import json
import mmap
import os
import queue
import resource
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from apps.runtime import channel, lifeline, wire
from apps.runtime.channel import (
    HEARTBEAT_AT,
    PREPARED_AT,
    WAITING_AT,
    Channel,
    lifeline_offset,
    mirror_size,
    slot_offset,
)
from apps.runtime.config import EngineConfig
from apps.runtime.engine import Engine
from apps.runtime.isolate import live_isolates, watch_live_isolates

# Request threads run our Python only (tenant code runs on the isolates' own threads); a small
# stack keeps hundreds of them within the data limit.
THREAD_STACK_BYTES = 1024 * 1024


def data_mb() -> float:
    """The process's data segment as RLIMIT_DATA counts it (VmData: private writable
    mappings, most of them address space V8 reserves at start-up)."""
    with open("/proc/self/status", "rb") as f:
        line = next(line for line in f if line.startswith(b"VmData:"))
    return int(line.split()[1]) / 1024


# Address space one more isolate maps (its thread's stack, V8's reservations; ~13 MiB measured).
ISOLATE_DATA_MB = 16


class DataLimit:
    """A hard cap on the data segment, and a soft one that follows the isolates held.

    The per-run accounting in the prelude misses some ways of allocating ArrayBuffers (copies
    by slice or structuredClone); under the cap any of them fails with a RangeError inside the
    run instead of taking the host's memory. The soft limit is what the worker maps once ready
    (measured, not assumed: it depends on the machine), plus what it may hold before it is
    recycled, one run's heap and binary data, the request threads' stacks, and room for the
    isolates it holds now and RESERVE_ISOLATES more (headroom also for what an interrupted run
    may still allocate while its isolate is being freed: ``new Array(2**27).fill(1.5)`` cannot
    be stopped and needs 1 GiB). The process raises it itself (no privilege needed up to the
    hard cap) just before it creates an isolate; the hard cap allows ``max_isolates`` more.
    """

    RESERVE_ISOLATES = 48

    def __init__(self, rss_limit_mb: int, heap_mb: int, max_isolates: int, threads: int) -> None:
        stacks_mb = threads * THREAD_STACK_BYTES // (1024 * 1024)
        held_mb = live_isolates() * ISOLATE_DATA_MB  # already mapped: counted below instead
        self.base_mb = int(data_mb()) - held_mb + rss_limit_mb + 2 * heap_mb + stacks_mb
        self.hard_mb = self.base_mb + (max_isolates + self.RESERVE_ISOLATES) * ISOLATE_DATA_MB
        watch_live_isolates(self.follow)

    def follow(self, isolates: int) -> None:
        room = isolates + self.RESERVE_ISOLATES
        soft_mb = min(self.base_mb + room * ISOLATE_DATA_MB, self.hard_mb)
        resource.setrlimit(resource.RLIMIT_DATA, (soft_mb << 20, self.hard_mb << 20))


class Mirror:
    """The heartbeat, and per request slot [request id, step index], in shared memory."""

    BEAT_S = 0.1

    def __init__(self, fd: int, slots: int) -> None:
        self._map = mmap.mmap(fd, mirror_size(slots))
        self.slots = max(1, slots)
        self._lifeline_at = lifeline_offset(slots)
        self._waiting = 0
        self._waiting_lock = threading.Lock()

    def hold_lifeline(self) -> None:
        """Hold the lifeline mutex until this process ends: the caller learns of its end from
        the kernel's release, before the process is torn down (lifeline.py)."""
        lifeline.hold(self._map, self._lifeline_at)

    def set(self, slot: int, request_id: float, index: int) -> None:
        at = slot_offset(slot % self.slots)
        self._map[at : at + 16] = struct.pack("dd", request_id, float(index))

    def step(self, slot: int, index: int) -> None:
        at = slot_offset(slot % self.slots) + 8
        self._map[at : at + 8] = struct.pack("d", float(index))

    def waiting(self, delta: int) -> None:
        """A run began (+1) or ended (-1) a wait on a timer or a host call: the caller does
        not count such runs as load on this worker's cores when it spreads runs."""
        with self._waiting_lock:
            self._waiting += delta
            self._map[WAITING_AT : WAITING_AT + 8] = struct.pack("d", float(self._waiting))

    def prepared(self, count: int) -> None:
        """How many of the caller's ``prepare`` requests are done."""
        self._map[PREPARED_AT : PREPARED_AT + 8] = struct.pack("d", float(count))

    def beat(self) -> None:
        """Say, every BEAT_S, that this process still runs Python: a caller whose request is
        late then knows the worker is busy, not stuck."""
        while True:
            self._map[HEARTBEAT_AT : HEARTBEAT_AT + 8] = struct.pack("d", time.monotonic())
            time.sleep(self.BEAT_S)


def handle(engine: Engine, mirror: Mirror, msg: dict[str, Any]) -> dict[str, Any]:
    op = msg.get("op")
    slot = int(msg.get("slot", 0))
    mirror.set(slot, float(msg.get("id", 0)), 0)
    if op == "run":
        job = msg["job"]
        result, cpu_s = engine.run_job(job, lambda index: mirror.step(slot, index))
        # How many of the tenant's isolates are idle here now: the caller routes its next
        # runs to a worker that has one.
        idle = engine.provider.idle_for(str(job["tenant_id"]))
        return {"result": result, "cpu_ms": round(cpu_s * 1000, 3), "idle": idle}
    if op == "validate":
        return {"result": engine.validate(msg["code"])}
    if op == "ping":
        return {"result": time.time()}
    return {"error": f"unknown op {op!r}"}


def start_together(target: Callable[[], None], count: int) -> None:
    """Start ``count`` threads running ``target`` and return once every one runs.

    ``threading.Thread.start`` waits for each new thread to run before the next is started:
    with every core busy (a worker replacing a lost one under load) that took 200-300 ms for
    64 threads, before the process could say it was ready. These are started all at once
    (``_thread``, the low-level API threading is built on) and waited for once."""
    lock = threading.Lock()
    running = [0]
    all_running = threading.Event()

    def run() -> None:
        with lock:
            running[0] += 1
            if running[0] == count:
                all_running.set()
        target()

    for _ in range(count):
        _thread.start_new_thread(run, ())
    all_running.wait()


class Server:
    """``threads`` request threads; one at a time reads the socket (channel.ReadDuty). The
    reader answers what it read and reads the next request itself, unless that request
    arrives first or the answer has to wait on something else than an isolate: then another
    thread reads on. A run that settles at once thus costs no hand-over between threads."""

    def __init__(
        self, conn: Channel, mirror: Mirror, engine: Engine, rss_limit_mb: int, threads: int
    ) -> None:
        self.conn = conn
        self.mirror = mirror
        self.engine = engine
        self.rss_limit_mb = rss_limit_mb
        self._send_lock = threading.Lock()
        self.duty = channel.ReadDuty(conn.sock.fileno())
        channel.read_duty = self.duty
        self._closed = threading.Event()
        # Tenants to prepare (the ask's number, the tenant, its functions' codes). The caller
        # numbers its asks: two threads that read two asks off the socket one after the other
        # may queue them in either order.
        self._asks: queue.SimpleQueue[tuple[int, str, list[str]]] = queue.SimpleQueue()
        self._prepared = _Prefix()
        # Started before any request is read: no thread is born while isolates are being
        # created, so an isolate's own thread is known by being the one new thread.
        start_together(self._answer_loop, max(1, threads))
        threading.Thread(target=self._refill_loop, daemon=True, name="spares").start()
        threading.Thread(target=mirror.beat, daemon=True, name="heartbeat").start()

    def serve(self) -> None:
        """Until the caller goes away."""
        self._closed.wait()

    def _answer_loop(self) -> None:
        duty = self.duty
        while True:
            if not duty.held():
                duty.take()
            try:
                data = self.conn.recv()
            except (EOFError, OSError):
                self._closed.set()  # the caller went away
                duty.hand_on()
                return
            if self.conn.buffered():
                duty.hand_on()  # the next request is in already: another thread answers it
            try:
                self._answer(wire.loads(data))
            except BaseException:
                # Answer nothing: the caller sees the socket close at once and reports every
                # step in flight as a crash, instead of waiting for deadlines on a process in
                # an unknown state.
                traceback.print_exc()
                os._exit(70)

    def _answer(self, msg: dict[str, Any]) -> None:
        if msg.get("op") == "prepare":  # done in idle time and not answered
            codes = [str(code) for code in msg["codes"]]
            self._asks.put((int(msg["n"]), str(msg["tenant_id"]), codes))
            self.engine.provider.nudge()
            return
        reply = handle(self.engine, self.mirror, msg)
        reply["id"] = msg.get("id")
        # The engine reads resident memory for its warm budget at most every 0.1 s; the
        # worker's ceiling is checked against the same reading.
        over_ceiling = self.engine.memory.resident_mb() > self.rss_limit_mb
        reply["retire"] = self.engine.retire_requested or over_ceiling
        payload = wire.dumps(reply)
        with self._send_lock, contextlib.suppress(OSError):
            self.conn.send(payload)  # if the caller went away, the main thread ends the process

    def _refill_loop(self) -> None:
        """Keep fresh isolates built ahead of need, so that a cold tenant rarely waits, and
        prepare the tenants the caller asks for (``Engine.prepare``)."""
        while True:
            try:
                ask = self._asks.get_nowait()
            except queue.Empty:
                ask = None
            try:
                if ask is not None:
                    self._prepare(*ask)
                elif self.engine.provider.spares_wanted(1.0):
                    self.engine.refill()
            except BaseException:
                traceback.print_exc()
                os._exit(70)

    def _prepare(self, number: int, tenant_id: str, codes: list[str]) -> None:
        """Prepare one ask and count, in the mirror, the asks done from the first on: the
        caller routes to this worker only the tenants whose isolates are in hand."""
        self.engine.prepare(tenant_id, codes)
        done = self._prepared.add(number)
        if done is not None:
            self.mirror.prepared(done)


class _Prefix:
    """Numbers 0, 1, 2 ... marked done in any order; how many from 0 on are all done."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: set[int] = set()
        self.count = 0

    def add(self, number: int) -> int | None:
        """Mark ``number`` done; the new count if it grew, else None."""
        with self._lock:
            self._done.add(number)
            if number != self.count:
                return None
            while self.count in self._done:
                self._done.remove(self.count)
                self.count += 1
            return self.count


def main(argv: list[str]) -> None:
    config = json.loads(argv[1])
    conn = Channel.from_fd(int(argv[2]))
    rss_limit_mb = int(config["worker_rss_limit_mb"])
    threads = int(config["max_runs_per_worker"])
    mirror = Mirror(int(argv[3]), threads)
    mirror.hold_lifeline()  # before any isolate: its thread is not one of theirs
    engine = Engine(EngineConfig.from_json(config["engine"]))
    engine.on_wait = mirror.waiting
    engine.refill()
    threading.stack_size(THREAD_STACK_BYTES)
    # At most every warm isolate, the spares, and two per run in flight (one more for a run
    # that moves on after a cut).
    spares = max(engine.config.spare_isolates, engine.config.boot_spare_isolates)
    isolates = engine.config.max_warm_isolates + spares + 2 * threads
    DataLimit(rss_limit_mb, engine.config.heap_mb, isolates, threads)
    server = Server(conn, mirror, engine, rss_limit_mb, threads)
    try:
        conn.send(b'{"ready": true}')
    except OSError:
        os._exit(0)  # the caller went away (it shut down) before this process was ready
    try:
        server.serve()
    except BaseException:
        traceback.print_exc()
        os._exit(70)
    # Skip interpreter teardown: isolate threads may be stuck in tenant code.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
