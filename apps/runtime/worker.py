"""The sandbox worker process: ``python -m apps.runtime.worker CONFIG_JSON SOCKET_FD MIRROR_FD``.

Started by pool.py with a clean interpreter (never forked from a process holding isolates).
It answers one JSON request at a time over a socket: ``run``, ``validate`` or ``ping``. While a
step runs it mirrors the step's index into a small shared memory page, so that the caller can
name the step in flight if this process dies. It exits after answering when it must not be
reused: an isolate it cannot stop, or resident memory over its ceiling.
"""

from __future__ import annotations

import json
import mmap
import os
import resource
import struct
import sys
import time
import traceback
from typing import Any

from apps.runtime import wire
from apps.runtime.channel import Channel
from apps.runtime.engine import Engine, EngineConfig

MIRROR_SIZE = 16


def data_mb() -> float:
    """The process's data segment as RLIMIT_DATA counts it (VmData: private writable
    mappings, most of them address space V8 reserves at start-up)."""
    with open("/proc/self/status", "rb") as f:
        line = next(line for line in f if line.startswith(b"VmData:"))
    return int(line.split()[1]) / 1024


# Address space one more isolate maps (its thread's stack, V8's reservations; ~13 MiB measured).
ISOLATE_DATA_MB = 16


def limit_data(rss_limit_mb: int, heap_mb: int, isolates: int = 0) -> None:
    """Cap the data segment at what the worker maps once ready, plus what it may hold before
    it is recycled, one run's heap and binary data, and ``isolates`` more isolates.

    The per-run accounting in the prelude misses some ways of allocating ArrayBuffers (copies
    by slice or structuredClone); under this cap any of them fails with a RangeError inside
    the run instead of taking the host's memory. Measured at start-up, not assumed, because
    what V8 maps depends on the machine.
    """
    cap_mb = int(data_mb()) + rss_limit_mb + 2 * heap_mb + isolates * ISOLATE_DATA_MB
    resource.setrlimit(resource.RLIMIT_DATA, (cap_mb * 1024 * 1024,) * 2)


def rss_mb() -> float:
    with open("/proc/self/statm", "rb") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / (1024 * 1024)


class Mirror:
    """[request id, step index] as two doubles in shared memory."""

    def __init__(self, fd: int) -> None:
        self._map = mmap.mmap(fd, MIRROR_SIZE)

    def set(self, request_id: float, index: int) -> None:
        self._map[0:16] = struct.pack("dd", request_id, float(index))

    def step(self, index: int) -> None:
        self._map[8:16] = struct.pack("d", float(index))


def handle(engine: Engine, mirror: Mirror, msg: dict[str, Any]) -> dict[str, Any]:
    op = msg.get("op")
    mirror.set(float(msg.get("id", 0)), 0)
    if op == "run":
        result, settle = engine.run_job(msg["job"], mirror.step)
        return {"result": result, "_settle": settle}
    if op == "validate":
        return {"result": engine.validate(msg["code"])}
    if op == "ping":
        return {"result": time.time()}
    return {"error": f"unknown op {op!r}"}


class MemoryWatch:
    """Resident memory, read at most every ``every_s``: reading /proc on every run costs more
    than a fast run itself, and memory grows far slower than that."""

    def __init__(self, every_s: float = 0.25) -> None:
        self.every_s = every_s
        self._next = 0.0

    def over(self, limit_mb: int) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.every_s
        return rss_mb() > limit_mb


def serve(conn: Channel, mirror: Mirror, engine: Engine, rss_limit_mb: int) -> None:
    memory = MemoryWatch()
    while True:
        if not conn.poll(0):
            engine.refill()  # idle time: prepare the next fresh isolate
        try:
            data = conn.recv()
        except (EOFError, OSError):
            return  # the caller went away
        reply = handle(engine, mirror, wire.loads(data))
        settle = reply.pop("_settle", None)
        reply["retire"] = memory.over(rss_limit_mb)
        conn.send(wire.dumps(reply))
        if reply["retire"]:
            return
        if settle is not None:
            # The answer is out: prove the isolate idle (or free it, stopping what the run
            # left running) before the next request can use it.
            settle()


def main(argv: list[str]) -> None:
    config = json.loads(argv[1])
    conn = Channel.from_fd(int(argv[2]))
    mirror = Mirror(int(argv[3]))
    rss_limit_mb = int(config.pop("worker_rss_limit_mb", 512))
    engine = Engine(EngineConfig(**config))
    engine.refill()
    # Room for every warm isolate, the spares and the one or two a run is using.
    limit_data(rss_limit_mb, engine.config.heap_mb, engine.config.max_warm_isolates + 2)
    conn.send(b'{"ready": true}')
    try:
        serve(conn, mirror, engine, rss_limit_mb)
    except BaseException:
        # Answer nothing: the caller sees the socket close at once and reports the step in
        # flight as a crash, instead of waiting for its deadline on a process in teardown.
        traceback.print_exc()
        os._exit(70)
    # Skip interpreter teardown: isolate threads may be stuck in tenant code.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
