"""The template process that sandbox workers are forked from (see forkserver.py).

Importing the worker's code and loading mini-racer's library here, once, is what every forked
worker is spared (~110 ms and ~20 ms of CPU).

``python -m apps.runtime.template CONTROL_FD``: imports the worker's code and loads the
library, initialises no V8, creates no isolate and starts no thread, then forks a worker for
each request the pool sends over the control socket and reports each child's exit status.
"""

from __future__ import annotations

import json
import os
import select
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from typing import NoReturn

from apps.runtime import worker
from apps.runtime.forkserver import MAX_PACKET
from apps.runtime.isolate import load_v8_library


def _fork_safe() -> bool:
    """Nothing that breaks a forked child: no thread besides this one, V8 not initialised."""
    from py_mini_racer import _dll

    return threading.active_count() == 1 and _dll._dll_handle is None


def _serve(control: socket.socket) -> None:
    load_v8_library()
    if not _fork_safe():
        # Never expected: an import started a thread or V8. The pool spawns its workers.
        control.send(json.dumps({"error": "the template is not fork-safe"}).encode())
        os._exit(70)
    poller = select.poll()
    poller.register(control.fileno(), select.POLLIN)
    children: dict[int, int] = {}  # pidfd -> pid
    control.send(b'{"ready": true}')
    while True:
        for fd, _events in poller.poll():
            if fd != control.fileno():
                _reap(control, poller, children, fd)
                continue
            data, fds, _flags, _addr = socket.recv_fds(control, MAX_PACKET, 2)
            if not data:
                os._exit(0)  # the pool is gone; its workers see their own sockets close
            if len(fds) != 2:
                for extra in fds:
                    os.close(extra)
                control.send(json.dumps({"error": "two descriptors expected"}).encode())
                continue
            argv = [str(a) for a in json.loads(data)["argv"]]
            pid = os.fork()
            if pid == 0:
                _child(control, children, worker.main, [*argv, str(fds[0]), str(fds[1])])
            for passed in fds:
                os.close(passed)
            pidfd = os.pidfd_open(pid)
            children[pidfd] = pid
            poller.register(pidfd, select.POLLIN)
            control.send(json.dumps({"pid": pid}).encode())


def _reap(
    control: socket.socket, poller: select.poll, children: dict[int, int], pidfd: int
) -> None:
    pid = children.pop(pidfd)
    poller.unregister(pidfd)
    os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    control.send(json.dumps({"exit": pid, "code": code}).encode())


def _child(
    control: socket.socket,
    children: dict[int, int],
    main: Callable[[list[str]], None],
    argv: list[str],
) -> NoReturn:
    """In the forked child: drop the template's descriptors and become a worker."""
    try:
        control.close()
        for pidfd in children:
            os.close(pidfd)
        main(["worker", *argv])
    except BaseException:
        _fail()
    os._exit(0)


def _fail() -> NoReturn:
    traceback.print_exc()
    os._exit(70)


def main(argv: list[str]) -> None:
    control = socket.socket(fileno=int(argv[1]))
    try:
        _serve(control)
    except BaseException:
        _fail()


if __name__ == "__main__":
    main(sys.argv)
