"""Knowing at once that a sandbox worker died: a robust mutex it holds in shared memory.

The worker's socket closes, and its pidfd becomes readable, only once the kernel has torn the
whole process down: for a process of 250 MB and 120 threads, about 20 ms on an idle machine
and 55-75 ms while both cores are busy (``benchmarks/lifeline.py``). Its runs in flight waited
that long to be answered. A process-shared *robust* mutex is released by the kernel as the
thread holding it exits (``FUTEX_OWNER_DIED``), before the memory is torn down: a thread of
the caller blocked on it wakes within ~1 ms of the kill, and the fatal signal can already be
read from ``/proc/<pid>/stat`` then (the exit code is set before the teardown).

The caller initialises the mutex in the worker's shared page (``init``); the worker takes it
before it says it is ready and holds it on a thread that never lets go (``hold``); a thread of
the caller waits on it (``Lifeline.watch``) and is let through only when the holder is gone.
The page must stay mapped while a thread waits on it: ``Lifeline.close`` refuses to give up
the mapping until the waiting thread has returned.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import threading
import time
from collections.abc import Callable

# pthread_mutex_t is 40 bytes on 64-bit Linux (glibc and musl); room to spare.
LIFELINE_BYTES = 64
_PTHREAD_PROCESS_SHARED = 1
_PTHREAD_MUTEX_ROBUST = 1
_libc = ctypes.CDLL(None, use_errno=True)
_Area = ctypes.c_char * LIFELINE_BYTES


def init(page: mmap.mmap, offset: int) -> None:
    """Initialise a process-shared robust mutex at ``offset`` of ``page`` (not yet shared
    with any process that could hold it)."""
    attr = ctypes.create_string_buffer(64)  # pthread_mutexattr_t: 4 bytes
    area = _Area.from_buffer(page, offset)
    try:
        _check(_libc.pthread_mutexattr_init(attr))
        _check(_libc.pthread_mutexattr_setpshared(attr, _PTHREAD_PROCESS_SHARED))
        _check(_libc.pthread_mutexattr_setrobust(attr, _PTHREAD_MUTEX_ROBUST))
        _check(_libc.pthread_mutex_init(area, attr))
        _libc.pthread_mutexattr_destroy(attr)
    finally:
        del area  # the page may be closed later


def hold(page: mmap.mmap, offset: int) -> None:
    """In the worker: take the mutex on a thread of its own that keeps it until the process
    ends. Returns once it is held."""
    area = _Area.from_buffer(page, offset)  # the page stays mapped as long as the process
    held = threading.Event()
    failure: list[int] = []

    def keep() -> None:
        code = _libc.pthread_mutex_lock(area)
        if code:
            failure.append(code)
        held.set()
        if not code:
            threading.Event().wait()  # for ever: the kernel releases it when this thread ends

    threading.Thread(target=keep, daemon=True, name="lifeline").start()
    held.wait()
    if failure:
        raise OSError(failure[0], "the lifeline mutex could not be taken")


class Lifeline:
    """The caller's side for one worker: a thread that waits for the holder to be gone and
    then calls ``on_gone``; ``close`` before the page is unmapped."""

    def __init__(self, page: mmap.mmap, offset: int) -> None:
        self._area: ctypes.Array[ctypes.c_char] | None = _Area.from_buffer(page, offset)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, on_gone: Callable[[], None], name: str) -> None:
        """Start waiting; ``on_gone()`` is called once the holder is gone. Once: a second
        call (a spare watched since it was ready, put in service) changes nothing."""
        with self._lock:
            if self._area is None or self._thread is not None:
                return  # closed already, or watched
            # The thread's only reference to the page, dropped before on_gone (which may
            # close it): the page cannot be unmapped while a reference to it is exported.
            held = [self._area]

            def wait() -> None:
                code = _libc.pthread_mutex_lock(held[0])
                held.clear()
                # EOWNERDEAD: the holder ended. Anything else (it never held it: an error)
                # says nothing about the process; the socket's end will.
                if code in (errno.EOWNERDEAD, errno.ENOTRECOVERABLE):
                    on_gone()

            self._thread = threading.Thread(target=wait, daemon=True, name=name)
            self._thread.start()

    def close(self, timeout_s: float) -> bool:
        """Let the page go once the waiting thread no longer waits on it (the holder is gone:
        the caller has made sure of it); False, and the page kept mapped, if it still does."""
        with self._lock:
            thread, self._area = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)
            if thread.is_alive():
                return False
        return True


def exit_status(pid: int, wait_s: float) -> int | None:
    """The wait status of a process that is ending (as ``waitpid`` gives it), read from
    ``/proc/<pid>/stat`` before the process is reaped; None if not known within ``wait_s``."""
    give_up = time.monotonic() + wait_s
    while True:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return None  # reaped already
        fields = stat[stat.rindex(b")") + 2 :].split()
        # Field 52 of proc_pid_stat(5), the 50th after the command's closing parenthesis.
        if len(fields) >= 50 and int(fields[49]):
            return int(fields[49])
        if time.monotonic() >= give_up:
            return None
        time.sleep(0.0005)


def _check(code: int) -> None:
    if code:
        raise OSError(code, "pthread mutex set-up failed")
