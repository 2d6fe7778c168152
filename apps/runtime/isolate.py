"""One V8 isolate with our prelude, and a cancellable eval with a per-step watchdog.

Only this module touches mini-racer internals (pinned to 0.14.1): the public ``eval`` hops
through an asyncio loop thread (~0.3 ms per call), while starting the task on the DLL directly
costs ~0.1 ms. Its completion does not come back through Python either: the context's callback
is libc's ``eventfd_write`` itself, so the isolate's thread hands the result's handle to an
eventfd without taking the GIL or running any Python (a warm round trip half the cost of a
Python callback feeding a queue). The wait on that eventfd doubles as the watchdog: it wakes at
the running step's own deadline, read from marks that the JS driver writes into an ArrayBuffer
we share without entering V8.

Microtasks queued by an eval run *after* its result is delivered, outside any task that can be
cancelled. JS that spins there (a loop after ``await``) blocks the isolate's thread: the next
eval never starts and cancelling it does nothing. We detect that (``IsolateWedged``, or a
``quiesce`` that gets no answer) and free the isolate: mini-racer's context teardown calls
V8's ``TerminateExecution`` whatever runs, so freeing stops the code and ends the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import itertools
import os
import secrets
import select
import threading
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from py_mini_racer import JSEvalException
from py_mini_racer._context import Context
from py_mini_racer._dll import (
    MR_CALLBACK,
    RawValueHandle,
    _get_lib_filename,
    _open_resource_file,
    init_mini_racer,
)
from py_mini_racer._objects import _ERRORS, ObjectFactoryImpl
from py_mini_racer._value_handle import ValueHandle

from apps.runtime.channel import hand_off_reading, poll_timeout_ms, watched_fd
from apps.runtime.wire import MAX_JSON_DEPTH

# A cancelled task that is running answers within microseconds of V8 terminating it. No answer
# in this time means the isolate's thread runs code outside any task (a loop in the microtasks
# that run between tasks, which cancelling cannot reach) or a built-in V8 cannot interrupt.
CANCEL_GRACE_S = 0.02
# How long, at most, an isolate that is not spinning may take to prove itself idle.
QUIESCE_WALL_CAP_S = 1.0
# Building an isolate (our scripts: a few milliseconds of CPU) fails past this.
BUILD_TIMEOUT_S = 10.0
_MIB = 1024 * 1024
# The shared buffer's header: the driver's marks (8 doubles); the checkpoint area follows.
_MARKS_BYTES = 64
# Arguments that leave a driver entry's script the same text every run (an empty pump's):
# such a script, like one without arguments (start, next, finish, idle), is formatted and made
# into a V8 string once per isolate.
_FIXED_ARGS = frozenset({"null", "true", "false"})


class EvalCut(Exception):
    """The watchdog terminated the eval at the running step's deadline."""

    # In a chain (Isolate.eval_chain): what the tasks before the one cut answered.
    answers: tuple[Any, ...] = ()


class IsolateWedged(Exception):
    """The isolate's thread is stuck in JS that cannot be terminated (a microtask loop)."""

    answers: tuple[Any, ...] = ()


def _read_source(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


_POLYFILLS = _read_source("polyfills.js")
_PRELUDE = _read_source("prelude.js")
_MODULES = _read_source("modules.js")


_init_lock = threading.Lock()
_lifecycle_lock = threading.Lock()
_live_lock = threading.Lock()
_live = 0
_on_live_change: Callable[[int], None] | None = None


def watch_live_isolates(callback: Callable[[int], None]) -> None:
    """Call ``callback(n)`` now and whenever the number of isolates this process holds
    changes; it counts an isolate from just before it is created until just after it is
    freed, so the callback can make room for one before V8 maps it."""
    global _on_live_change
    with _live_lock:
        _on_live_change = callback
        callback(_live)


def live_isolates() -> int:
    with _live_lock:
        return _live


def _count_live(delta: int) -> None:
    global _live
    with _live_lock:
        _live += delta
        if _on_live_change is not None:
            _on_live_change(_live)


# mini-racer calls ``callback(callback_id, value_handle)`` when a task ends; as
# ``eventfd_write(fd, value)`` that adds the handle's address to the eventfd named by the id.
# An eventfd sums what is written, so at most one task per eventfd may be in flight (eval and
# its cancel are the same task): a chain of tasks (eval_chain) gives each its own eventfd.
_EVENTFD_CALLBACK = MR_CALLBACK(
    ctypes.cast(ctypes.CDLL(None).eventfd_write, ctypes.c_void_p).value  # type: ignore[arg-type]
)


def _failed(handle: ValueHandle) -> bool:
    """Whether a task's answer is an exception, read without converting the answer."""
    return handle.raw.contents.type in _ERRORS  # type: ignore[attr-defined]


def _thread_ids() -> set[str]:
    return set(os.listdir("/proc/self/task"))


def _isolate_thread(born: set[str]) -> int | None:
    """The isolate's thread among the threads born while its context was created. Python
    threads the worker started meanwhile (its run threads start on demand) are born too:
    they are told apart by their native ids, which a starting thread sets within moments,
    or by having ended already (the isolate's thread lives as long as the isolate). None if
    it cannot be told (its CPU then reads as 0, and its runs go uncharged)."""
    for _ in range(50):
        if len(born) <= 1:
            break
        born = (born & _thread_ids()) - {
            str(t.native_id) for t in threading.enumerate() if t.native_id
        }
        if len(born) > 1:
            time.sleep(0.001)
    return int(born.pop()) if len(born) == 1 else None


def load_v8_library() -> None:
    """Load mini-racer's library (``dlopen``) without initialising V8. The template does this
    before it forks: a worker then finds the library mapped and relocated, ~20 ms of CPU it
    would otherwise spend first, often while the other workers keep every core busy. Loading
    starts no thread and no part of V8; ``init_v8``, in the worker, does. The file is the one
    ``init_mini_racer`` opens, found the same way, so the worker's load finds it loaded."""
    with contextlib.ExitStack() as stack:
        ctypes.CDLL(str(_open_resource_file(_get_lib_filename("mini_racer"), stack)))


def init_v8() -> ctypes.CDLL:
    """Initialise V8 once per process (concurrent first initialisations abort the process);
    return mini-racer's library."""
    with _init_lock:
        return init_mini_racer(ignore_duplicate_init=True)


@functools.cache
def _unused_loop() -> asyncio.AbstractEventLoop:
    """The event loop mini-racer's Context must be given. Only its asynchronous API schedules
    on it, and nothing here uses that (results come through the eventfd), so it never runs."""
    return asyncio.new_event_loop()


class Watchdog:
    """Tells the eval loop how long it may wait before the running step must be cut.

    ``deadline_for(index, started_at)`` maps a step index and its start (epoch seconds) to an
    absolute deadline; ``on_progress(index)`` is told about every step change it observes.
    """

    POLL_S = 0.005

    def __init__(
        self,
        seq: int,
        fallback_index: int,
        deadline_for: Callable[[int, float], float],
        on_progress: Callable[[int], None],
    ) -> None:
        self.seq = seq
        self.fallback_index = fallback_index
        self.fallback_start = time.time()
        self.deadline_for = deadline_for
        self.on_progress = on_progress
        # The end of a step (``idle_since``) first seen with no step after it, and the
        # isolate's CPU then.
        self._idle_seen: tuple[float, float] | None = None

    # A finished step's leftover code may hold the isolate for this much of its thread's CPU
    # before it is cut (of wall time where that CPU cannot be read)...
    LEFTOVER_GRACE_S = 0.05
    # ...and for this long at most. Wall time alone cut sound runs on a loaded host: their
    # chain's finish entry, queued behind the last step, waited over 50 ms for a core (47 cuts
    # in one run of the elastic benchmark's crash section), each leaving a false warning on
    # the run, a charge to its tenant and an isolate to build again.
    LEFTOVER_WALL_CAP_S = 1.0

    def idle_since(self, marks: Any) -> float | None:
        """When the last step of this run ended, if none has started since (epoch seconds)."""
        if marks[0] != self.seq or marks[2] >= 0:
            return None
        return -marks[2] / 1000.0

    def running(self, marks: Any) -> tuple[int, float] | None:
        """The running step and its start; None while the driver is between two steps.

        Before the driver takes this run up (another seq in the marks) the fallback stands.
        The driver clears the start before it changes the index, so a start of 0 means the
        index may belong to a step that has ended: no deadline can be read from it.
        """
        if marks[0] != self.seq:
            return self.fallback_index, self.fallback_start
        if marks[2] <= 0:
            return None
        return int(marks[1]), marks[2] / 1000.0

    def last_running(self, marks: Any) -> tuple[int, float]:
        """After the isolate stopped: the step that was running (the fallback if unknown)."""
        return self.running(marks) or (self.fallback_index, self.fallback_start)

    def remaining(self, marks: Any, cpu_s: Callable[[], float] | None = None) -> float:
        """How long the eval may still be waited for. ``cpu_s`` reads the isolate thread's
        CPU seconds, if it can be read."""
        idle = self.idle_since(marks)
        if idle is not None:
            # An eval is in flight but no step runs: it waits behind code a finished step
            # left queued. Legitimately that takes microseconds of the isolate's CPU.
            if cpu_s is None:
                return idle + self.LEFTOVER_GRACE_S - time.time()
            used = cpu_s()
            if self._idle_seen is None or self._idle_seen[0] != idle:
                self._idle_seen = (idle, used)
            used -= self._idle_seen[1]
            return min(self.LEFTOVER_GRACE_S - used, idle + self.LEFTOVER_WALL_CAP_S - time.time())
        running = self.running(marks)
        if running is None:
            return self.POLL_S  # a step is starting: look again shortly
        self.on_progress(running[0])
        return self.deadline_for(*running) - time.time()


class Isolate:
    """A MiniRacer context with polyfills, the prelude and frozen built-ins."""

    def __init__(self, heap_mb: int) -> None:
        hand_off_reading()  # building one waits on locks and on V8 for milliseconds
        dll = init_v8()
        self._ctx_id: int | None = None
        _count_live(+1)
        try:
            self._setup(dll, heap_mb)
        except BaseException:
            if self._ctx_id is None:
                _count_live(-1)  # never created: close() will not count it out
            self.close()
            raise

    def _setup(self, dll: ctypes.CDLL, heap_mb: int) -> None:
        # One eventfd per task that may be in flight at once; more are made when a chain
        # needs them. The first also serves single evals.
        self._lanes: list[tuple[int, select.poll]] = []
        # Per eventfd, a poll on it and on the worker's channel (see _take_result).
        self._watches: dict[int, select.poll] = {}
        # The driver's fixed entries: their scripts by (method, args), their V8 strings.
        self._entries: dict[tuple[str, tuple[str, ...]], str] = {}
        self._scripts: dict[str, ValueHandle] = {}
        self._done_fd = self._lane(0)[0]
        # mini-racer crashes when contexts are created and freed concurrently.
        with _lifecycle_lock:
            before = _thread_ids()
            ctx_id = dll.mr_init_context(_EVENTFD_CALLBACK)
            self._ctx_id = ctx_id
            born = _thread_ids() - before
        # The isolate's own thread runs all of its JavaScript: its CPU time is the isolate's.
        self.tid = _isolate_thread(born)
        # Linux's CPU-time clock of one thread of this process (MAKE_THREAD_CPUCLOCK(tid,
        # CPUCLOCK_SCHED)): read by clock_gettime in ~1 µs, where its /proc/self/task/<tid>/
        # schedstat file takes ~25 µs to open and read, and it is read a few times per run.
        self._cpu_clock = ((~self.tid) << 3) | 6 if self.tid else None
        self.nice = 0
        # Told, while an eval with a watchdog runs on, that it is still running.
        self.on_busy: Callable[[Isolate], None] | None = None
        # Context's asynchronous API would route results through callback ids and the loop;
        # nothing here uses it (every task is started on the DLL and awaited on the eventfd).
        self._ctx = Context(dll, ctx_id, _unused_loop(), ObjectFactoryImpl(), itertools.count(1))
        self._ctx.set_hard_memory_limit(heap_mb * _MIB)
        self._ctx.set_soft_memory_limit(heap_mb * _MIB * 3 // 4)
        self.defined: set[str] = set()
        self.broken = False
        self.wedged = False
        self.tenant_id: str | None = None
        self.runs = 0
        self._cpu_mark = 0.0
        prelude = _PRELUDE.replace("__HEAP_LIMIT_BYTES__", str(heap_mb * _MIB))
        self._token = secrets.token_hex(16)
        buffer = self._eval_all(
            [
                _POLYFILLS,
                _MODULES,
                prelude.replace("__MAX_JSON_DEPTH__", str(MAX_JSON_DEPTH)),
                f'__gp.seal("{self._token}")',
                self.driver("buffer"),
            ],
            timeout_s=BUILD_TIMEOUT_S,
        )
        assert isinstance(buffer, memoryview)
        self._buffer = buffer
        self.marks = buffer[:_MARKS_BYTES].cast("d")
        # What building it took on its own thread: charged to a run that leaves it unusable.
        self.build_cpu_s = self.cpu_s()

    def driver(self, method: str, *args: str) -> str:
        """The script calling the JS driver's ``method`` with ``args`` (JS source text).

        The driver answers only calls carrying this isolate's token, which tenant code never
        sees: it is in no script of theirs and no value they can reach.
        """
        entry = self._entries.get((method, args))
        if entry is None:
            entry = f'__gp.{method}("{self._token}"{"".join(", " + arg for arg in args)})'
            if _FIXED_ARGS.issuperset(args):
                self._entries[(method, args)] = entry
                self._scripts[entry] = self._ctx._python_to_value_handle(entry)
        return entry

    def cpu_s(self) -> float:
        """CPU seconds the isolate's thread has used (0 if it is not known)."""
        if self._cpu_clock is None:
            return 0.0
        try:
            return time.clock_gettime(self._cpu_clock)
        except OSError:  # the thread is gone
            return 0.0

    def set_nice(self, value: int) -> bool:
        """Give the isolate's thread this nice value; False if not allowed (lowering a nice
        value needs privilege) or the thread is not known."""
        if self.tid is None:
            return False
        if value == self.nice:
            return True
        try:
            os.setpriority(os.PRIO_PROCESS, self.tid, value)
        except OSError:
            return False
        self.nice = value
        return True

    def mark_cpu(self) -> None:
        self._cpu_mark = self.cpu_s()

    def cpu_running(self) -> float:
        """CPU seconds since the mark, leaving the mark where it is."""
        return max(self.cpu_s() - self._cpu_mark, 0.0)

    def cpu_since_mark(self) -> float:
        used = self.cpu_s() - self._cpu_mark
        self._cpu_mark += used
        return max(used, 0.0)

    def quiesce(self, timeout_s: float) -> bool:
        """True if the isolate answers a trivial eval before its thread has spent
        ``timeout_s`` of CPU on what runs ahead of it: V8 starts the eval only once every
        queued microtask has run, so nothing of the last run still executes. If not, it is
        marked broken and False is returned: the caller frees it, which terminates that code
        (after reading what it cost).

        CPU, not wall time: on a busy host an idle isolate's thread may wait for a core longer
        than ``timeout_s``, and code left running burns CPU while it runs. The wait is capped
        at QUIESCE_WALL_CAP_S all the same (and at ``timeout_s`` of wall time where the
        thread's CPU cannot be read)."""
        if self.broken or self._ctx_id is None:
            return False
        ctx = self._ctx
        code_handle = self._script(self.driver("idle"))
        started_cpu, give_up = self.cpu_s(), time.monotonic() + QUIESCE_WALL_CAP_S
        ctx._dll.mr_eval(ctx._ctx, code_handle.raw, self._done_fd)
        while (handle := self._take_result(timeout_s)) is None:
            spinning = self._cpu_clock is None or self.cpu_s() - started_cpu >= timeout_s
            if spinning or time.monotonic() >= give_up:
                self.broken = True
                return False
        try:
            return ctx._value_handle_to_python(handle) is True
        except JSEvalException:
            self.broken = True
            return False

    def stage_payload(self, text: str) -> bool:
        """Put the text of ``start``'s payload in the checkpoint area for the driver to read
        (no run is in this isolate now: nothing else writes there); False if it does not fit."""
        data = text.encode("utf-16-le")
        if len(data) > len(self._buffer) - _MARKS_BYTES:
            return False
        self._buffer[_MARKS_BYTES : _MARKS_BYTES + len(data)] = data
        self.marks[7] = len(data) // 2
        return True

    def checkpoint(self, seq: int) -> str | None:
        """The state JSON the driver left after its last asynchronous step, if for ``seq``."""
        length = int(self.marks[3])
        if self.marks[4] != seq or length <= 0:
            return None
        return bytes(self._buffer[_MARKS_BYTES : _MARKS_BYTES + length]).decode("utf-8")

    def eval(
        self, code: str, *, timeout_s: float | None = None, watchdog: Watchdog | None = None
    ) -> Any:
        """Evaluate ``code``; cut it at ``timeout_s`` or at the watchdog's step deadline.

        Raises ``EvalCut`` when cut, ``IsolateWedged`` when the isolate cannot be interrupted,
        and mini-racer's ``JSEvalException`` family for errors (``JSOOMException`` for memory).
        """
        ctx = self._ctx
        code_handle = self._script(code)
        task_id = ctx._dll.mr_eval(ctx._ctx, code_handle.raw, self._done_fd)
        hard_deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            wait = self._next_wait(hard_deadline, watchdog)
            if wait is not None and wait <= 0:
                self._cancel(task_id)
                raise EvalCut
            value_handle = self._take_result(wait)
            if value_handle is not None:
                break
            if watchdog is not None and self.on_busy is not None:
                self.on_busy(self)
        del code_handle
        return ctx._value_handle_to_python(value_handle)

    def _eval_all(self, codes: list[str], *, timeout_s: float) -> Any:
        """Evaluate ``codes`` as consecutive tasks, all queued at once, and return the last
        one's value: one hand-off each way, where an eval each costs one per script. The
        first failure is raised as ``eval`` would raise it (the scripts after it ran too: the
        isolate is not to be used). Past ``timeout_s`` the tasks are cancelled and
        ``EvalCut`` is raised, the isolate marked broken. For building an isolate; a run's
        chain is ``eval_chain``, whose driver entries stop after a failure."""
        ctx = self._ctx
        handles = [self._script(code) for code in codes]
        task_ids = [
            ctx._dll.mr_eval(ctx._ctx, handle.raw, self._lane(lane)[0])
            for lane, handle in enumerate(handles)
        ]
        last = self._take_result(timeout_s, len(codes) - 1)
        if last is None:
            self.broken = True
            for task_id in reversed(task_ids):
                ctx._dll.mr_cancel_task(ctx._ctx, task_id)
            raise EvalCut
        for lane in range(len(codes) - 1):
            answer = self._reported(lane)
            if _failed(answer):
                ctx._value_handle_to_python(answer)  # raises the script's error
        del handles
        return ctx._value_handle_to_python(last)

    def _lane(self, index: int) -> tuple[int, select.poll]:
        """The eventfd (and a poll on it) that the ``index``-th task of a chain reports to."""
        while len(self._lanes) <= index:
            fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            done = select.poll()
            done.register(fd, select.POLLIN)
            self._lanes.append((fd, done))
        return self._lanes[index]

    def _wait_watching(
        self, fd: int, done: select.poll, channel_fd: int, wait_s: float | None
    ) -> bool:
        """Wait for the eventfd ``fd`` (``done`` polls it) while watching the channel; True
        once ``fd`` is ready, False after ``wait_s``."""
        watch = self._watches.get(fd)
        if watch is None:
            watch = self._watches[fd] = select.poll()
            watch.register(fd, select.POLLIN)
            watch.register(channel_fd, select.POLLIN)
        deadline = None if wait_s is None else time.monotonic() + wait_s
        events = watch.poll(-1 if wait_s is None else poll_timeout_ms(wait_s))
        if any(ready == fd for ready, _ in events):
            return True
        if not events:
            return False
        # The next request (or the caller's end): another thread reads it from now on.
        hand_off_reading()
        left = None if deadline is None else max(deadline - time.monotonic(), 0)
        return bool(done.poll(-1 if left is None else poll_timeout_ms(left)))

    def _take_result(self, wait_s: float | None, lane: int = 0) -> Any:
        """The value handle of the task that reports to ``lane``, or None if none came
        within ``wait_s``. A thread that reads the worker's channel (channel.ReadDuty) also
        watches it meanwhile, and hands the reading on when a request arrives."""
        fd, done = self._lanes[lane]
        channel_fd = watched_fd()
        if channel_fd is not None:
            if not self._wait_watching(fd, done, channel_fd, wait_s):
                return None
        elif not done.poll(-1 if wait_s is None else poll_timeout_ms(wait_s)):
            return None
        return self._handle_in(fd)

    def _reported(self, lane: int) -> Any:
        """The value handle of a task known to have reported to ``lane`` (no wait)."""
        try:
            return self._handle_in(self._lanes[lane][0])
        except BlockingIOError:  # not yet after all: wait for it as for any other
            return self._take_result(None, lane)

    def _handle_in(self, fd: int) -> Any:
        """The value handle a finished task left in the eventfd ``fd`` (its address)."""
        address = os.eventfd_read(fd)
        return self._ctx._wrap_raw_handle(ctypes.cast(address, RawValueHandle))  # type: ignore[arg-type]

    def _script(self, code: str) -> ValueHandle:
        """``code`` as a V8 string for ``mr_eval``: a fixed driver entry's is made once."""
        handle = self._scripts.get(code)
        return handle if handle is not None else self._ctx._python_to_value_handle(code)

    def eval_chain(self, codes: list[str], *, watchdog: Watchdog) -> Any:
        """Evaluate ``codes`` as consecutive tasks, all queued at once; return the last one's
        value, or raise the first failure as ``eval`` would.

        Each is a task of its own, so V8 runs the microtasks one queued before the next
        begins, and the isolate's thread goes from one to the next without waiting for this
        thread: one hand-off each way for the whole chain, where an eval each costs one per
        task. The driver's chained entries do nothing once an earlier entry failed or the
        chain was cut (mark 6), so nothing runs past the point where the chain stopped. The
        exception raised carries what the tasks before the failure answered (``answers``):
        only then are those answers read out of V8, since a chain that ends needs only its
        last one.
        """
        ctx = self._ctx
        lanes = range(len(codes))
        handles = [self._script(code) for code in codes]
        task_ids = [
            ctx._dll.mr_eval(ctx._ctx, handle.raw, self._lane(lane)[0])
            for lane, handle in zip(lanes, handles, strict=True)
        ]
        while True:
            wait = self._next_wait(None, watchdog)
            if wait is not None and wait <= 0:
                self._cancel_chain(task_ids)
            last = self._take_result(wait, lanes[-1])
            if last is not None:
                break
            if self.on_busy is not None:
                self.on_busy(self)
        # Tasks run in order, each reporting before the next begins: every earlier one has.
        results = [self._reported(lane) for lane in lanes[:-1]] + [last]
        del handles
        if not any(_failed(handle) for handle in results[:-1]):
            return ctx._value_handle_to_python(last)
        answers: list[Any] = []
        for handle in results:
            try:
                answers.append(ctx._value_handle_to_python(handle))
            except JSEvalException as exc:
                exc.answers = tuple(answers)  # type: ignore[attr-defined]
                raise
        return answers[-1]

    def _cancel_chain(self, task_ids: list[int]) -> None:
        """Stop a chain: the tasks not started yet will not start, the running one is
        terminated. Raises ``EvalCut``, or ``IsolateWedged`` if a task does not answer."""
        self.marks[6] = 1
        ctx = self._ctx
        for task_id in reversed(task_ids):
            ctx._dll.mr_cancel_task(ctx._ctx, task_id)
        give_up = time.monotonic() + CANCEL_GRACE_S
        self.broken = True
        answers: list[Any] = []
        for lane in range(len(task_ids)):
            handle = self._take_result(max(give_up - time.monotonic(), 0), lane)
            if handle is None:
                self.wedged = True
                wedged = IsolateWedged()
                wedged.answers = tuple(answers)
                raise wedged
            # A task that ended before the cut answered; the others answer "terminated".
            with contextlib.suppress(JSEvalException):
                answers.append(ctx._value_handle_to_python(handle))
        cut = EvalCut()
        cut.answers = tuple(answers)
        raise cut

    def _next_wait(self, hard_deadline: float | None, watchdog: Watchdog | None) -> float | None:
        waits: list[float] = []
        if hard_deadline is not None:
            waits.append(hard_deadline - time.monotonic())
        if watchdog is not None:
            cpu_s = self.cpu_s if self._cpu_clock is not None else None
            waits.append(min(watchdog.remaining(self.marks, cpu_s), Watchdog.POLL_S * 4))
        return min(waits) if waits else None

    def _cancel(self, task_id: int) -> None:
        ctx = self._ctx
        ctx._dll.mr_cancel_task(ctx._ctx, task_id)
        handle = self._take_result(CANCEL_GRACE_S)
        if handle is None:
            self.broken = self.wedged = True
            raise IsolateWedged
        # The isolate is usable again but a run was interrupted mid-way: never reuse it.
        self.broken = True
        # The expected "terminated" (or an OOM that raced the cut).
        with contextlib.suppress(JSEvalException):
            ctx._value_handle_to_python(handle)

    def free_within(self, wait_s: float) -> bool:
        """Free the isolate on a thread of its own; True if that was done within ``wait_s``.

        Freeing stops JavaScript in microtasks (a loop after ``await``) at once, but waits for
        a built-in V8 cannot interrupt (``new Array(2**27).fill(1.5)``) to end: the caller is
        not held up by that, and learns that the process holds such an isolate."""
        hand_off_reading()
        freeing = threading.Thread(target=self.close, daemon=True, name="free-isolate")
        freeing.start()
        freeing.join(wait_s)
        return not freeing.is_alive()

    def close(self) -> None:
        """Free the isolate. Freeing terminates any JavaScript it still runs (a wedged
        isolate's too) and joins its thread, so no task can write to the eventfd after it."""
        ctx_id, self._ctx_id = self._ctx_id, None
        if ctx_id is None:
            return
        self._scripts.clear()  # freed while the context they belong to still exists
        hand_off_reading()  # freeing waits for the isolate's thread to end
        with _lifecycle_lock:
            self._ctx._dll.mr_free_context(ctx_id)
        for fd, _done in self._lanes:
            os.close(fd)
        _count_live(-1)
