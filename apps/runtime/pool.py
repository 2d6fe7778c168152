"""The caller's side: a supervised pool of sandbox worker processes.

Each web or Celery process has its own pool, started on first use (never at import, so forking
servers stay safe; a pool inherited through ``fork`` is ignored and a new one started). Any
thread may call ``Pool.request``: it picks a worker with a free request slot (preferring one
that has the tenant's isolates warm, then the least busy), sends one JSON request over the
worker's socket and waits for the answer at most until a hard deadline. A worker serves many
requests at once. Of the threads waiting on one worker, one at a time reads its socket (the
leader) and hands each reply to the thread it belongs to; a leader that has its own reply
passes the socket on to another waiting thread. A lone request thus reads its own reply, with
no thread in between.
A worker that dies or misses a deadline is SIGKILLed and replaced by a pre-started spare while
the other workers go on serving; each request it had in flight still gets an answer, built
from the step index the worker mirrored into that request's slot of shared memory.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import math
import mmap
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from apps.runtime import lifeline, wire
from apps.runtime.channel import (
    HEARTBEAT_AT,
    PREPARED_AT,
    SLOT_SIZE,
    WAITING_AT,
    Channel,
    lifeline_offset,
    mirror_size,
    slot_offset,
)
from apps.runtime.config import SandboxConfig
from apps.runtime.fairshare import TenantLoad
from apps.runtime.forkserver import ForkedProcess, ForkServer

READY_TIMEOUT_S = 60.0
# A worker whose heartbeat is older than this is stuck; one that beats is only busy.
HEARTBEAT_STALE_S = 1.0
# How many more runs in flight a worker warm for the tenant may have than the least busy one.
WARM_SPREAD = 2
# Runs a worker may have in flight that each build an isolate (their tenant has none idle
# there) before a run that could use an idle isolate elsewhere is sent there instead.
COLD_STARTS = 2
# A retiring worker is ended at the latest this long after it asked (the whole-run budget).
RETIRE_GRACE_S = 25.0
# A template (forkserver.py) that is gone is started again at most this often.
TEMPLATE_RESTART_S = 5.0
# How long a worker known gone by its lifeline may take to show its exit status.
EXIT_STATUS_WAIT_S = 0.01
# A spare that dies before it serves is replaced this long after (never in a tight loop).
SPARE_RESTART_S = 1.0
# Each spare worker is kept holding an isolate ready for each tenant that ran twice among the
# last this many tenants to run (``Pool._prepare``)...
PREPARED_TENANTS = 48
# ...asked of the spares at most this often a second, past a first PREPARED_TENANTS: a
# prepared isolate costs a spare ~12 ms of CPU, and tenants that come and go (sixty at random,
# say) would otherwise keep the spares building.
PREPARES_PER_S = 10.0
# The codes remembered as prepared for one tenant (its triggers' functions, older versions).
PREPARED_CODES = 32
_ROOT = str(Path(__file__).resolve().parents[2])


def worker_env() -> dict[str, str]:
    """A minimal environment: the host's variables (keys, database URLs) have no business in
    a process that runs tenants' code."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")])),
    }


class WorkerLost(Exception):
    """The worker died or missed its deadline; ``step_index`` is the step it was running."""

    def __init__(self, why: str, step_index: int) -> None:
        super().__init__(why)
        self.why = why
        self.step_index = step_index


class _Pending:
    """One request in flight: the slot it holds and, once known, its reply or its loss."""

    __slots__ = ("cold", "lost", "reply", "slot", "tenant_id", "wake")

    def __init__(self, slot: int, tenant_id: str | None, *, cold: bool = False) -> None:
        self.slot = slot
        self.tenant_id = tenant_id
        # Sent where its tenant had no isolate idle: the worker builds one for it.
        self.cold = cold
        # Set when the reply or the loss is in, or when this thread is to read the socket.
        self.wake = threading.Event()
        self.reply: dict[str, Any] | None = None
        self.lost: WorkerLost | None = None

    @property
    def answered(self) -> bool:
        return self.reply is not None or self.lost is not None


class _Worker:
    def __init__(
        self, config: SandboxConfig, *, forkserver: ForkServer | None = None, spare: bool = False
    ) -> None:
        parent_sock, child_sock = socket.socketpair()
        slots = max(1, config.max_runs_per_worker)
        self._close_lock = threading.Lock()
        self._mirror_fd = os.memfd_create("gp-sandbox-mirror")
        os.ftruncate(self._mirror_fd, mirror_size(slots))
        self._mirror = mmap.mmap(self._mirror_fd, mirror_size(slots))
        at = lifeline_offset(slots)
        lifeline.init(self._mirror, at)
        self.lifeline = lifeline.Lifeline(self._mirror, at)
        argv = [json.dumps(config.worker_config(spare=spare))]
        fds = (child_sock.fileno(), self._mirror_fd)
        forked = forkserver.fork(argv, fds, READY_TIMEOUT_S) if forkserver else None
        self.proc: subprocess.Popen[bytes] | ForkedProcess = forked or subprocess.Popen(
            [sys.executable, "-m", "apps.runtime.worker", *argv, *map(str, fds)],
            pass_fds=fds,
            env=worker_env(),
            cwd=_ROOT,
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
        child_sock.close()
        self.conn = Channel(parent_sock)
        self.send_lock = threading.Lock()
        # Held by the thread reading the socket; re-entrant so that a reader that finds the
        # worker dead can close it.
        self.read_lock = threading.RLock()
        # The tenants it ran lately, each with how many of its isolates it holds idle, as
        # of its last reply for that tenant, less the runs sent there since.
        self.tenants: OrderedDict[str, int] = OrderedDict()
        self.ready = threading.Event()
        self.failed = False
        # Guarded by the pool's lock:
        self.free_slots = list(range(slots))
        self.pending: dict[int, _Pending] = {}
        # How many of those are cold (each builds an isolate there).
        self.cold = 0
        self.retiring = False
        self.gone = False
        # As a spare: what it was asked to prepare (tenant: the codes of its functions, of
        # every trigger it ran), and the tenants in the order asked (it counts those done in
        # the mirror: prepared_count).
        self.prepared: dict[str, frozenset[str]] = {}
        self.asked: list[str] = []

    def wait_ready(self, timeout: float) -> None:
        try:
            if json.loads(self.conn.recv(timeout)).get("ready"):
                self.ready.set()
                return
        except (EOFError, OSError, ValueError):
            pass
        self.failed = True
        self.ready.set()

    def mirrored_step(self, slot: int) -> int:
        at = slot_offset(slot)
        _, index = struct.unpack("dd", self._mirror[at : at + SLOT_SIZE])
        return int(index)

    def _mirrored(self, at: int) -> float:
        """The double the worker keeps at ``at`` in the mirror page's header."""
        (value,) = struct.unpack("d", self._mirror[at : at + 8])
        return float(value)

    def prepared_count(self) -> int:
        """How many of the ``prepare`` requests sent it are done."""
        return int(self._mirrored(PREPARED_AT))

    def busy(self) -> int:
        """Its runs in flight, less those waiting on a timer or a host call (they use no
        core): how much of its share of the host a run sent there would contend with."""
        return max(len(self.pending) - int(self._mirrored(WAITING_AT)), 0)

    def alive(self) -> bool:
        """Whether the process ran Python in the last HEARTBEAT_STALE_S."""
        beat = self._mirrored(HEARTBEAT_AT)
        return self.proc.poll() is None and time.monotonic() - beat < HEARTBEAT_STALE_S

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        # A spare's wait_ready, or a request's thread, may still be reading this socket; the
        # dead process gives it EOF at once. Closing before it is done would free the
        # descriptor for reuse by the next worker's socket, which that thread would then read.
        self.ready.wait(timeout=5)
        reading = self.read_lock.acquire(timeout=5)
        self.close()
        if reading:
            self.read_lock.release()

    def close(self) -> None:
        """Close the socket and the shared memory, once: a descriptor number closed twice may
        by then belong to something else of this process (a database connection)."""
        with self._close_lock:
            mirror_fd, self._mirror_fd = self._mirror_fd, -1
            if mirror_fd < 0:
                return
            with contextlib.suppress(Exception):
                self.conn.close()
            # A thread waiting on the lifeline reads the page: it stays mapped until that
            # thread has returned (at once, the process being gone).
            if self.lifeline.close(timeout_s=5):
                with contextlib.suppress(Exception):
                    self._mirror.close()
            with contextlib.suppress(OSError):
                os.close(mirror_fd)

    def exit_reason(self) -> str:
        code = self.proc.poll()
        if code is None and not (isinstance(self.proc, ForkedProcess) and self.proc.gone()):
            return "did not answer before its deadline"
        if code is None or getattr(self.proc, "status_unknown", False):
            return "ended"  # a forked worker whose status has not come (or cannot)
        return _ended_with(code)

    def gone_reason(self, wait_s: float) -> str | None:
        """How a worker that is ending ended, if its status shows within ``wait_s``."""
        status = lifeline.exit_status(self.proc.pid, wait_s)
        return None if status is None else _ended_with(os.waitstatus_to_exitcode(status))


def _ended_with(code: int) -> str:
    """A process's end, told from its return code (negative: the signal that killed it)."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


# A spare to ask to prepare a tenant's isolate, the tenant, its functions' codes.
_Prepare = tuple[_Worker, str, tuple[str, ...]]


class Pool:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config.resolved()
        self.pid = os.getpid()
        self._cond = threading.Condition()
        self._workers: list[_Worker] = []
        # Started ahead of need, ready or starting (``config.spare_workers`` of them).
        self._spares: list[_Worker] = []
        # The tenants that ran lately, most recent last: the codes of their last run's
        # functions, and whether they ran more than once while in here.
        self._recent: OrderedDict[str, tuple[tuple[str, ...], bool]] = OrderedDict()
        # The asks that may be sent now (PREPARES_PER_S), as of when.
        self._prepare_budget = (float(PREPARED_TENANTS), time.monotonic())
        self._closed = False
        self._ids = itertools.count(1)
        # Asks to prepare, sent by a thread of their own: never by a request's thread, which a
        # spare slow to read its socket would otherwise hold in send().
        self._asks: queue.SimpleQueue[_Prepare | None] = queue.SimpleQueue()
        threading.Thread(target=self._send_asks, daemon=True, name="sandbox-prepare").start()
        self.load = TenantLoad()
        # Workers are forked from a template that has imported their code (forkserver.py):
        # a replacement is ready in a third of the CPU a fresh interpreter needs.
        self._template_lock = threading.Lock()
        self._forkserver: ForkServer | None = None
        self._template_started = -math.inf
        starting = [self._start_worker() for _ in range(self.config.workers)]
        for worker in starting:
            worker.wait_ready(READY_TIMEOUT_S)
            if worker.failed:
                for other in starting:
                    other.kill()
                if self._forkserver is not None:
                    self._forkserver.close()
                raise RuntimeError("a sandbox worker process failed to start")
        for worker in starting:
            self._serve_with(worker)
        with self._cond:
            self._start_spares()

    def _start_worker(self, *, spare: bool = False) -> _Worker:
        return _Worker(self.config, forkserver=self._template(), spare=spare)

    def _template(self) -> ForkServer | None:
        """The template to fork workers from, started (again, if it is gone) at most every
        TEMPLATE_RESTART_S; None meanwhile, and workers are spawned."""
        with self._template_lock:
            current = self._forkserver
            if current is not None and not current.gone():
                return current
            if self._closed or time.monotonic() - self._template_started < TEMPLATE_RESTART_S:
                return None
            self._template_started = time.monotonic()
            if current is not None:
                current.close()
            self._forkserver = None
            with contextlib.suppress(OSError):
                self._forkserver = ForkServer(worker_env(), _ROOT)
            return self._forkserver

    def _start_spares(self) -> None:
        """Start spares until there are ``config.spare_workers``. Call with the lock held."""
        while not self._closed and len(self._spares) < self.config.spare_workers:
            spare = self._start_worker(spare=True)
            self._spares.append(spare)
            threading.Thread(
                target=self._spare_ready, args=(spare,), daemon=True, name="sandbox-spare"
            ).start()

    def _spare_ready(self, spare: _Worker) -> None:
        """Once the spare is ready: watch it, and ask it to prepare the busy tenants."""
        spare.wait_ready(READY_TIMEOUT_S)
        if spare.failed:  # found out when it is needed
            return
        spare.lifeline.watch(functools.partial(self._gone, spare), "sandbox-lifeline")
        with self._cond:
            if spare not in self._spares:
                return  # already put in service (or dead): its runs show what it needs
            # The most recent first, each new spare all of them (at most PREPARED_TENANTS):
            # those past the shared budget were asked by their next runs, at PREPARES_PER_S,
            # and a spare started after a loss had prepared 2-4 of 32 busy tenants when the
            # next loss put it in service (the elastic benchmark's crash section).
            asks = [(t, codes) for t, (codes, again) in reversed(self._recent.items()) if again]
            spare.prepared.update((t, frozenset(codes)) for t, codes in asks)
        for tenant_id, codes in asks:
            self._asks.put((spare, tenant_id, codes))

    def _spend_prepares(self, wanted: int) -> int:
        """How many of ``wanted`` asks to prepare may be sent now (PREPARES_PER_S, past a
        first PREPARED_TENANTS), taken from the budget. Call with the lock held."""
        budget, at = self._prepare_budget
        now = time.monotonic()
        budget = min(budget + (now - at) * PREPARES_PER_S, float(PREPARED_TENANTS))
        spent = min(wanted, int(budget))
        self._prepare_budget = (budget - spent, now)
        return spent

    def _prepare(self, tenant_id: str, msg: dict[str, Any]) -> list[_Prepare]:
        """Note a run of the tenant; the spares to ask to prepare its isolate, with the
        codes, if it ran more than once lately and they hold no isolate with those
        functions. A worker that takes over from a lost one (a spare) then serves the busy
        tenants warm at once, where it built ~16 isolates at the same moment for the tenants
        the lost one served (the elastic benchmark's crash section). Tenants seen once in a
        while (a thousand, round-robin) are never prepared. Call with the lock held."""
        job = msg.get("job") if msg.get("op") == "run" else None
        if not isinstance(job, dict) or self.config.fresh_isolate_per_run:
            return []
        codes = tuple(str(fn.get("code", "")) for fn in job.get("functions") or ())
        again = self._recent.pop(tenant_id, None) is not None
        self._recent[tenant_id] = (codes, again)
        if len(self._recent) > PREPARED_TENANTS:
            self._recent.popitem(last=False)
        if not again:
            return []
        asks = []
        for spare in self._spares:
            held = spare.prepared.get(tenant_id, frozenset())
            if (
                spare.ready.is_set()
                and not spare.failed
                and not held.issuperset(codes)
                and self._spend_prepares(1)
            ):
                # Its isolate there gets these compiled beside the others (a tenant's other
                # triggers), unless it holds many: then the codes of older versions go.
                held = held.union(codes) if len(held) < PREPARED_CODES else frozenset(codes)
                spare.prepared.pop(tenant_id, None)
                spare.prepared[tenant_id] = held
                if len(spare.prepared) > PREPARED_TENANTS:
                    del spare.prepared[next(iter(spare.prepared))]
                asks.append((spare, tenant_id, codes))
        return asks

    def _send_asks(self) -> None:
        """Ask spares, in order, to hold an isolate of a tenant with these functions compiled
        (no reply comes: a spare counts those done), until the pool shuts down."""
        while (ask := self._asks.get()) is not None:
            worker, tenant_id, codes = ask
            with worker.send_lock:
                # Numbered in the order asked: the spare counts those done from the first on.
                msg = {
                    "op": "prepare",
                    "n": len(worker.asked),
                    "tenant_id": tenant_id,
                    "codes": codes,
                }
                # Noted before it is sent: the spare may have prepared it, and counted it in
                # the mirror, before this thread runs again after send().
                worker.asked.append(tenant_id)
                try:
                    worker.conn.send(wire.dumps(msg))
                except OSError:  # gone: nothing more is counted
                    worker.asked.pop()

    def _restart_spares(self) -> None:
        with self._cond:
            self._start_spares()

    def _serve_with(self, worker: _Worker) -> None:
        """Put a ready worker to work: requests may be routed to it, its replies are read,
        and its end is known as soon as the kernel releases its lifeline."""
        with self._cond:
            if self._closed or worker.gone:  # gone: it died as a spare, and was replaced
                worker.kill()
                return
            self._workers.append(worker)
            self._cond.notify_all()
        worker.lifeline.watch(functools.partial(self._gone, worker), "sandbox-lifeline")

    def _gone(self, worker: _Worker) -> None:
        """The worker's lifeline was released: the process is ending (the kernel tears it
        down before its socket closes). Its runs are answered now; a spare that dies before
        it serves is replaced, never put in service."""
        with self._cond:
            if self._closed:
                return
            idle_spare = worker in self._spares
            if idle_spare:
                self._spares.remove(worker)
        if idle_spare:
            timer = threading.Timer(SPARE_RESTART_S, self._restart_spares)
            timer.daemon = True
            timer.start()
            worker.kill()
        elif not worker.gone:
            self._lose(worker, None)  # which reads how it ended

    def worker_pids(self) -> set[int]:
        """The processes serving requests now (for tests and benchmarks)."""
        with self._cond:
            return {w.proc.pid for w in self._workers}

    def _acquire(self, tenant_id: str | None) -> tuple[_Worker, int]:
        """A worker with a free slot, and the slot: among those that hold one of the tenant's
        isolates idle (else those it ran on lately), the least busy (``_Worker.busy``: runs in
        flight there, less those waiting on a timer or a host call), unless that one has more
        than WARM_SPREAD runs busier than the least busy worker of all (then the one
        with the fewest tenants, so that warm isolates spread over the pool), which then
        takes it. A worker that would build an isolate for the run while it already builds
        COLD_STARTS for others is passed over for one that holds an idle isolate of the
        tenant, else for one building fewer.

        Where the tenant ran is not enough: a burst of its runs (ten at once, say) split
        between two workers by how busy each was at the time, differently at each burst, and
        each worker built isolates for its new share while the other's lay idle (the second
        of the elastic benchmark's 500-run waves used 1.7-2.8 s of the workers' CPU where a
        settled one uses 0.5 s). And a worker just put in place of a lost one, the least busy,
        was sent every tenant's runs at once, each building an isolate there while the
        survivor held idle ones (the elastic benchmark's crash section: p99 245-338 ms in
        four runs; 50-294 ms, median 180, in seven with COLD_STARTS). Counted as busy, runs
        waiting on timers sent such a burst's runs past their idle isolates (sampled: a
        500-run wave of 1.58 s built 62 isolates, where three others built the refill's 2-4)."""
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the sandbox pool is shut down")
                usable = [w for w in self._workers if w.free_slots and not w.retiring]
                if usable:
                    break
                self._cond.wait()
            busy = {id(w): w.busy() for w in usable}
            least = min(usable, key=lambda w: (busy[id(w)], len(w.tenants)))
            if tenant_id:
                ready = [w for w in usable if w.tenants.get(tenant_id)]
                warm = ready or [w for w in usable if tenant_id in w.tenants]
            else:
                warm = []
            chosen = min(warm, key=lambda w: busy[id(w)]) if warm else least
            if busy[id(chosen)] > busy[id(least)] + WARM_SPREAD:
                # Its warm workers are busier than an idle core is worth: one new isolate
                # on the least busy worker costs less than queueing behind the others.
                chosen = least
            if tenant_id and not chosen.tenants.get(tenant_id) and chosen.cold >= COLD_STARTS:
                # That worker already builds COLD_STARTS isolates (one just put in service
                # meets every tenant cold at once): a worker with one idle serves sooner,
                # however busy, else one building fewer.
                others = ready or [w for w in usable if w.cold < COLD_STARTS]
                if others:
                    chosen = min(others, key=lambda w: busy[id(w)])
                else:  # every worker builds as many: the one building the fewest
                    chosen = min(usable, key=lambda w: (w.cold, busy[id(w)]))
            return chosen, chosen.free_slots.pop()

    def request(
        self, msg: dict[str, Any], timeout_s: float, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Send one request; raise ``WorkerLost`` if the worker dies or misses the deadline.

        A run is charged to its tenant's load (fairshare.py): while others run, a hot
        tenant's next run first waits out its excess here, before it takes a slot."""
        if tenant_id is not None:
            self.load.yield_to_others(tenant_id)
            self.load.touch(tenant_id)
        started = time.monotonic()
        try:
            reply = self._request(msg, timeout_s, tenant_id)
        except WorkerLost:
            if tenant_id is not None:  # what it used is not known: its wall time
                self.load.add(tenant_id, time.monotonic() - started)
            raise
        if tenant_id is not None:
            self.load.add(tenant_id, float(reply.get("cpu_ms") or 0.0) / 1000)
        return reply

    def _request(
        self, msg: dict[str, Any], timeout_s: float, tenant_id: str | None
    ) -> dict[str, Any]:
        request_id = next(self._ids)
        while True:
            worker, slot = self._acquire(tenant_id)
            with self._cond:
                if worker.gone:
                    continue  # lost since it was chosen: choose again
                cold = tenant_id is not None and not worker.tenants.get(tenant_id)
                pending = _Pending(slot, tenant_id, cold=cold)
                worker.pending[request_id] = pending
                worker.cold += cold
                prepare: list[_Prepare] = []
                if tenant_id is not None:
                    # This run takes one of the idle isolates there, if there is one.
                    worker.tenants[tenant_id] = max(worker.tenants.get(tenant_id, 0) - 1, 0)
                    worker.tenants.move_to_end(tenant_id)
                    while len(worker.tenants) > 4096:
                        worker.tenants.popitem(last=False)
                    prepare = self._prepare(tenant_id, msg)
                break
        for ask in prepare:
            self._asks.put(ask)
        try:
            with worker.send_lock:
                worker.conn.send(wire.dumps({**msg, "id": request_id, "slot": slot}))
        except OSError:
            pass  # the reader sees the worker's end and answers this request as lost
        self._await_reply(worker, pending, time.monotonic() + timeout_s)
        if pending.lost is not None:
            raise pending.lost
        assert pending.reply is not None
        return pending.reply

    def _await_reply(self, worker: _Worker, pending: _Pending, deadline: float) -> None:
        while not pending.answered:
            if worker.read_lock.acquire(blocking=False):
                try:
                    self._lead(worker, pending, deadline)
                finally:
                    worker.read_lock.release()
                    self._hand_on(worker)
            elif not pending.wake.wait(max(deadline - time.monotonic(), 0)):
                self._late(worker, pending)
            else:
                pending.wake.clear()

    def _lead(self, worker: _Worker, pending: _Pending, deadline: float) -> None:
        """Read replies, handing each to its thread, until this thread's own is in."""
        while not pending.answered:
            try:
                raw = worker.conn.recv(max(deadline - time.monotonic(), 0))
                reply: dict[str, Any] = wire.loads(raw)
            except TimeoutError:
                self._late(worker, pending)
                return
            except (EOFError, OSError, ValueError):  # orjson errors are ValueErrors
                self._lose(worker, None)
                return
            self._deliver(worker, reply)

    def _late(self, worker: _Worker, pending: _Pending) -> None:
        """``pending`` missed its deadline. A worker that still beats is busy, not stuck: only
        this request is given up (its slot stays taken until its answer comes, late). One
        that does not beat is killed, with everything it had in flight."""
        why = "did not answer before its deadline"
        if not worker.alive():
            self._lose(worker, why)
            return
        with self._cond:
            if not pending.answered:
                step = worker.mirrored_step(pending.slot)
                pending.lost = WorkerLost(f"The sandbox process {why} (it was busy)", step)

    def _hand_on(self, worker: _Worker) -> None:
        """Wake one thread still waiting on ``worker``: it reads the socket from now on."""
        with self._cond:
            follower = next((p for p in worker.pending.values() if not p.answered), None)
        if follower is not None:
            follower.wake.set()

    def _deliver(self, worker: _Worker, reply: dict[str, Any]) -> None:
        with self._cond:
            pending = worker.pending.pop(reply.get("id"), None)  # type: ignore[arg-type]
            if pending is not None:
                worker.free_slots.append(pending.slot)
                worker.cold -= pending.cold
                idle, tenant_id = reply.get("idle"), pending.tenant_id
                if isinstance(idle, int) and tenant_id is not None and tenant_id in worker.tenants:
                    worker.tenants[tenant_id] = idle
            if reply.get("retire") and not worker.retiring:
                worker.retiring = True
                # Runs already in flight there end within their whole-run budget; if one
                # cannot, the process is ended anyway.
                ending = threading.Timer(RETIRE_GRACE_S, self._lose, (worker, "was retired"))
                ending.daemon = True  # never holds up the caller's own exit
                ending.start()
            drained = worker.retiring and not worker.pending and not worker.gone
            self._cond.notify()
        if pending is not None:
            pending.reply = reply
            pending.wake.set()
        if drained:
            self._lose(worker, None)  # retired: nothing was in flight on it

    def _lose(self, worker: _Worker, why: str | None) -> None:
        """Take ``worker`` out of service, kill it, answer what it had in flight as lost
        (``why``, or the way it ended), and put a spare in its place."""
        with self._cond:
            if worker.gone:
                return
            worker.gone = True
            if worker in self._workers:
                self._workers.remove(worker)
            in_flight = list(worker.pending.values())
            worker.pending.clear()
        if why is None:
            # Its exit status shows in /proc as soon as it is ending; failing that, let a
            # dying process finish dying, so that the reason given is the right one.
            why = worker.gone_reason(EXIT_STATUS_WAIT_S if in_flight else 0)
        if why is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.proc.wait(timeout=0.05 if in_flight else 0)
            why = worker.exit_reason()
        for pending in in_flight:
            pending.lost = WorkerLost(
                f"The sandbox process {why}", worker.mirrored_step(pending.slot)
            )
        # Nothing of it runs once the signal is sent: its runs are answered before the wait
        # for its end (which a loaded process takes time to see, as a forked worker's status
        # comes through the template).
        with contextlib.suppress(ProcessLookupError):
            worker.proc.send_signal(signal.SIGKILL)
        for pending in in_flight:
            pending.wake.set()
        # The thread reading its socket (the leader) waits there for the end of the stream,
        # which comes only once the process is torn down: end the stream on this side now.
        with contextlib.suppress(OSError):
            worker.conn.sock.shutdown(socket.SHUT_RDWR)
        threading.Thread(target=self._replace, daemon=True, name="sandbox-replace").start()
        worker.kill()

    def _replace(self) -> None:
        """Put a spare to work (of those ready, the one that prepared the most tenants; a
        cold start only if none is there or it failed) and start the next spare."""
        with self._cond:
            if self._closed:
                return
            ready = [s for s in self._spares if s.ready.is_set() and not s.failed]
            # The one that prepared the most tenants (the first ready, if none did).
            spare = max(ready, key=_Worker.prepared_count, default=None)
            spare = spare or next(iter(self._spares), None)
            if spare is not None:
                self._spares.remove(spare)
            self._start_spares()
        if spare is not None:
            # Those of its tenants whose isolates are in hand are routed there at once; the
            # others are cold there (as many as COLD_STARTS at a time).
            with spare.send_lock:
                prepared = spare.asked[: spare.prepared_count()]
            for tenant_id in prepared:
                spare.tenants[tenant_id] = 1
        else:
            spare = self._start_worker()
            spare.wait_ready(READY_TIMEOUT_S)
        spare.ready.wait(READY_TIMEOUT_S)
        if spare.failed:
            spare.kill()
            spare = self._start_worker()
            spare.wait_ready(READY_TIMEOUT_S)
        self._serve_with(spare)

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            workers, self._workers = self._workers, []
            spares, self._spares = self._spares, []
            self._cond.notify_all()
        self._asks.put(None)
        for worker in workers:
            self._lose(worker, "was shut down")
        for spare in spares:
            spare.kill()
        with self._template_lock:
            if self._forkserver is not None:
                self._forkserver.close()
