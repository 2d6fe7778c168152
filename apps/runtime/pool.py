"""The caller's side: a supervised pool of sandbox worker processes.

Each web or Celery process has its own pool, started on first use (never at import, so forking
servers stay safe; a pool inherited through ``fork`` is ignored and a new one started). Any
thread may call ``Pool.request``: it takes an idle worker (preferring one that has the tenant's
isolate warm), sends one JSON request over a socket and waits at most until a hard deadline.
A worker that dies or misses the deadline is SIGKILLed and replaced by a pre-started spare; the
caller still gets an answer, built from the step index the worker mirrored in shared memory.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import mmap
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from apps.runtime import wire
from apps.runtime.channel import Channel

READY_TIMEOUT_S = 60.0
_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class PoolConfig:
    workers: int = 2
    fresh_isolate_per_run: bool = False
    heap_mb: int = 64
    warm_memory_mb: int = 256
    max_warm_isolates: int = 48
    spare_isolates: int = 2
    worker_rss_limit_mb: int = 512
    http_allow: list[str] = field(default_factory=list)

    def worker_config(self) -> dict[str, Any]:
        config = asdict(self)
        config.pop("workers")
        return config


class WorkerLost(Exception):
    """The worker died or missed its deadline; ``step_index`` is the step it was running."""

    def __init__(self, why: str, step_index: int) -> None:
        super().__init__(why)
        self.why = why
        self.step_index = step_index


class _Worker:
    def __init__(self, config: PoolConfig) -> None:
        parent_sock, child_sock = socket.socketpair()
        self._mirror_fd = os.memfd_create("gp-sandbox-mirror")
        os.ftruncate(self._mirror_fd, 16)
        self._mirror = mmap.mmap(self._mirror_fd, 16)
        # A minimal environment: the host's variables (keys, database URLs) have no business
        # in a process that runs tenants' code.
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")])),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "apps.runtime.worker",
                json.dumps(config.worker_config()),
                str(child_sock.fileno()),
                str(self._mirror_fd),
            ],
            pass_fds=(child_sock.fileno(), self._mirror_fd),
            env=env,
            cwd=_ROOT,
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
        child_sock.close()
        self.conn = Channel(parent_sock)
        self.tenants: OrderedDict[str, None] = OrderedDict()
        self.ready = threading.Event()
        self.failed = False

    def wait_ready(self, timeout: float) -> None:
        try:
            if json.loads(self.conn.recv(timeout)).get("ready"):
                self.ready.set()
                return
        except (EOFError, OSError, ValueError):
            pass
        self.failed = True
        self.ready.set()

    def mirrored_step(self) -> int:
        _, index = struct.unpack("dd", self._mirror[0:16])
        return int(index)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        # A spare's wait_ready may still be reading this socket on another thread; the dead
        # process gives it EOF at once. Closing before it is done would free the descriptor
        # for reuse by the next worker's socket, whose "ready" that thread would then steal.
        self.ready.wait(timeout=5)
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        with contextlib.suppress(Exception):
            self._mirror.close()
        with contextlib.suppress(OSError):
            os.close(self._mirror_fd)

    def exit_reason(self) -> str:
        code = self.proc.poll()
        if code is None:
            return "did not answer before its deadline"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"was killed by {signal.Signals(-code).name}"
        return f"exited with status {code}"


class Pool:
    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self.pid = os.getpid()
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._count = 0
        self._spare: _Worker | None = None
        self._closed = False
        self._ids = itertools.count(1)
        starting = [self._start_worker() for _ in range(max(1, config.workers))]
        for worker in starting:
            worker.wait_ready(READY_TIMEOUT_S)
            if worker.failed:
                worker.kill()
                raise RuntimeError("a sandbox worker process failed to start")
        self._idle.extend(starting)
        self._count = len(starting)
        self._start_spare()

    def _start_worker(self) -> _Worker:
        return _Worker(self.config)

    def _start_spare(self) -> None:
        spare = self._start_worker()
        self._spare = spare
        threading.Thread(
            target=spare.wait_ready, args=(READY_TIMEOUT_S,), daemon=True, name="sandbox-spare"
        ).start()

    def _acquire(self, tenant_id: str | None) -> _Worker:
        with self._cond:
            while not self._idle:
                if self._closed:
                    raise RuntimeError("the sandbox pool is shut down")
                self._cond.wait()
            chosen = next((w for w in self._idle if tenant_id in w.tenants), None)
            if chosen is None:
                # Least recently used worker keeps warm isolates spread over the pool.
                chosen = self._idle[0]
            self._idle.remove(chosen)
            return chosen

    def _release(self, worker: _Worker, tenant_id: str | None) -> None:
        if tenant_id is not None:
            worker.tenants[tenant_id] = None
            worker.tenants.move_to_end(tenant_id)
            while len(worker.tenants) > 4096:
                worker.tenants.popitem(last=False)
        with self._cond:
            if self._closed:
                worker.kill()
                return
            self._idle.append(worker)
            self._cond.notify()

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and put the spare in its place (a cold start only if it failed)."""
        worker.kill()
        with self._cond:
            spare, self._spare = self._spare, None
        if spare is None:
            spare = self._start_worker()
            spare.wait_ready(READY_TIMEOUT_S)
        spare.ready.wait(READY_TIMEOUT_S)
        if spare.failed:
            spare.kill()
            spare = self._start_worker()
            spare.wait_ready(READY_TIMEOUT_S)
        with self._cond:
            if not self._closed:
                self._start_spare()
        self._release(spare, None)

    def request(
        self, msg: dict[str, Any], timeout_s: float, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Send one request; raise ``WorkerLost`` if the worker dies or misses the deadline."""
        worker = self._acquire(tenant_id)
        msg = {**msg, "id": next(self._ids)}
        try:
            worker.conn.send(wire.dumps(msg))
            reply: dict[str, Any] = wire.loads(worker.conn.recv(timeout_s))
        except (EOFError, OSError, TimeoutError, ValueError):  # orjson errors are ValueErrors
            step = worker.mirrored_step()
            time.sleep(0.01)  # let a dying process finish dying so the reason is right
            why = f"The sandbox process {worker.exit_reason()}"
            threading.Thread(target=self._replace, args=(worker,), daemon=True).start()
            raise WorkerLost(why, step) from None
        if reply.get("retire"):
            threading.Thread(target=self._replace, args=(worker,), daemon=True).start()
        else:
            self._release(worker, tenant_id)
        return reply

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            workers, self._idle = self._idle, []
            spare, self._spare = self._spare, None
            self._cond.notify_all()
        for worker in [*workers, *([spare] if spare else [])]:
            worker.kill()
