"""Sandbox worker processes forked from a template that has already imported the worker.

A worker started with ``python -m apps.runtime.worker`` spends ~170 ms of CPU before it can
serve, ~110 ms of it importing the runtime. On a loaded host a new process gets a fraction of
a core, and a replacement for a lost worker took 0.8-1.2 s to be ready: a second loss in that
time left the pool short of workers. The pool therefore starts one template process per pool
(``python -m apps.runtime.template``, with the same minimal environment as a worker) that
imports the worker's code, creates no isolate and starts no thread, and waits. Asked for a
worker, it forks; the child runs ``worker.main`` with the descriptors the pool sent along. V8
is initialised in the child only (an isolate that exists at ``fork`` hangs the child; an
imported library does not), so every worker still has a V8 of its own.

The template is the workers' parent: it reaps them and reports each one's exit status, which
the pool reads (``ForkedProcess`` stands in for ``subprocess.Popen``). If the template itself
is gone, the pool starts another (pool.TEMPLATE_RESTART_S) and spawns workers as before until
then; a worker forked earlier is known to have exited by its pidfd (its status is unknown).

Protocol, over a ``SOCK_SEQPACKET`` socket pair (one message per packet):

- pool -> template: ``{"argv": [config_json]}`` with two descriptors (the worker's socket and
  its mirror page) attached;
- template -> pool: ``{"ready": true}`` once, then ``{"pid": n}`` per fork (in request order),
  or ``{"error": "..."}``, and ``{"exit": n, "code": c}`` when a child has ended (``c`` as
  ``Popen.returncode``: negative for a signal).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections import deque

MAX_PACKET = 1 << 20


class ForkedProcess:
    """A worker forked by the template: what the pool uses of ``subprocess.Popen``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.orphaned = False
        self.status_unknown = False
        self._ended = threading.Event()
        # Guards the pidfd: it is closed once the process is reaped, never while in use.
        self._lock = threading.Lock()
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except OSError:  # already reaped: its status is on its way
            self._pidfd = None

    def _exited(self, code: int) -> None:
        with self._lock:
            self.returncode = code
            pidfd, self._pidfd = self._pidfd, None
        if pidfd is not None:
            os.close(pidfd)
        self._ended.set()

    def _orphaned(self) -> None:
        """The template is gone: nobody will report this process's status. Its pidfd still
        tells when it ends (``status_unknown`` then)."""
        self.orphaned = True

    def _ended_unreported(self, timeout: float) -> bool:
        if not self.orphaned or self._ended.is_set() or not self._pidfd_ready(timeout):
            return False
        self.status_unknown = True
        self._exited(1)
        return True

    def _pidfd_ready(self, timeout: float) -> bool:
        """Whether the pidfd says the process has ended (or is closed: it was reaped)."""
        pidfd = self._pidfd
        with contextlib.suppress(OSError, ValueError):  # closed meanwhile: reaped
            return pidfd is None or bool(select.select([pidfd], [], [], timeout)[0])
        return True

    def gone(self) -> bool:
        """Whether the process has ended, its status reported or not."""
        return self.returncode is not None or self._pidfd_ready(0)

    def poll(self) -> int | None:
        self._ended_unreported(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(0 if self.orphaned else timeout) and not (
            self._ended_unreported(timeout or 0.0)
        ):
            raise subprocess.TimeoutExpired(f"sandbox worker {self.pid}", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        with self._lock:
            if self.returncode is not None:
                return  # reaped: the pid may belong to another process by now
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, sig)
            else:
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _ForkRequest:
    __slots__ = ("abandoned", "done", "process")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.process: ForkedProcess | None = None
        self.abandoned = False


class ForkServer:
    """The pool's handle on its template process; ``fork`` returns a ``ForkedProcess``, or
    None when the template is not (or no longer) usable and the caller should spawn."""

    def __init__(self, env: dict[str, str], cwd: str) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = parent
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._waiting: deque[_ForkRequest] = deque()  # in the order they were sent
        self._children: dict[int, ForkedProcess] = {}
        self.alive = False
        self._started = threading.Event()  # set once the template is ready, or gone
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "apps.runtime.template", str(child.fileno())],
            pass_fds=(child.fileno(),),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
        child.close()
        threading.Thread(target=self._read, daemon=True, name="sandbox-template").start()

    def gone(self) -> bool:
        """The template ended (or never became ready): it forks nothing any more."""
        return self._started.is_set() and not self.alive

    def fork(self, argv: list[str], fds: tuple[int, int], timeout_s: float) -> ForkedProcess | None:
        self._started.wait(timeout_s)
        if not self.alive:
            return None
        request = _ForkRequest()
        with self._send_lock:
            with self._lock:
                self._waiting.append(request)
            try:
                socket.send_fds(self._sock, [json.dumps({"argv": argv}).encode()], list(fds))
            except OSError:
                with self._lock, contextlib.suppress(ValueError):
                    self._waiting.remove(request)
                return None
        if not request.done.wait(timeout_s):
            with self._lock:
                # A child forked after this would share the descriptors with the process
                # the caller spawns instead: it is killed as it is reported, and the template
                # forks no more.
                request.abandoned = request.process is None
            if request.abandoned:
                self.close()
                return None
        return request.process

    def _read(self) -> None:
        ready = False
        while True:
            try:
                data = self._sock.recv(MAX_PACKET)
                message = json.loads(data) if data else None
            except (OSError, ValueError):
                message = None
            if message is None:
                break
            if message.get("ready") and not ready:
                ready = self.alive = True
                self._started.set()
            elif "pid" in message or "error" in message:
                self._forked(message.get("pid"))
            elif "exit" in message:
                self._ended(int(message["exit"]), int(message["code"]))
        self.alive = False
        self._started.set()
        with self._lock:
            waiting, self._waiting = list(self._waiting), deque()
            children = list(self._children.values())
        for request in waiting:
            request.done.set()  # no process: the caller spawns instead
        for process in children:
            process._orphaned()

    def _forked(self, pid: int | None) -> None:
        process = ForkedProcess(int(pid)) if pid is not None else None
        with self._lock:
            request = self._waiting.popleft() if self._waiting else None
            if process is not None:
                self._children[process.pid] = process
            if request is not None:
                request.process = process
                abandoned = request.abandoned
        if request is None:
            return
        if abandoned and process is not None:
            process.send_signal(signal.SIGKILL)
        request.done.set()

    def _ended(self, pid: int, code: int) -> None:
        # The template sends a child's pid before it can reap it: the pid is known here.
        with self._lock:
            process = self._children.pop(pid, None)
        if process is not None:
            process._exited(code)

    def close(self) -> None:
        """End the template (the workers it forked live on until their own pool ends them)."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            self._sock.close()
