"""A worker's lifeline: a robust mutex the kernel releases as the holding process ends."""

from __future__ import annotations

import mmap
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import apps.runtime as runtime
from apps.runtime import lifeline
from tests.runtime.conftest import (
    PASS_THROUGH,
    kill_serving,
    killed_mid_run,
    make_job,
    ready_spare,
)

ROOT = Path(__file__).resolve().parents[2]
HOLDER = (
    "import mmap, sys, time\n"
    "from apps.runtime import lifeline\n"
    "page = mmap.mmap(int(sys.argv[1]), 4096)\n"
    "lifeline.hold(page, 64)\n"
    "print('held', flush=True)\n"
    "time.sleep(60)\n"
)


def test_the_lifeline_is_released_when_its_holder_is_killed_and_tells_how() -> None:
    fd = os.memfd_create("test-lifeline")
    os.ftruncate(fd, 4096)
    page = mmap.mmap(fd, 4096)
    lifeline.init(page, 64)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(fd)],
        pass_fds=(fd,),
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        watched = lifeline.Lifeline(page, 64)
        gone = threading.Event()
        watched.watch(gone.set, name="test-lifeline")
        assert not gone.wait(0.3)  # held: the waiting thread waits
        assert lifeline.exit_status(holder.pid, 0) is None  # alive: no status yet
        holder.kill()
        assert gone.wait(10)
        # Not reaped yet (nobody waited for it): its status is read from /proc.
        status = lifeline.exit_status(holder.pid, 1.0)
        assert status is not None and os.waitstatus_to_exitcode(status) == -signal.SIGKILL
        assert watched.close(timeout_s=5)
        page.close()  # nothing refers to the page any more
    finally:
        holder.kill()
        holder.wait()
        os.close(fd)


def test_a_lifeline_closed_before_it_is_watched_starts_no_thread() -> None:
    page = mmap.mmap(-1, 4096)
    lifeline.init(page, 0)
    watched = lifeline.Lifeline(page, 0)
    assert watched.close(timeout_s=0)
    called: list[bool] = []
    watched.watch(lambda: called.append(True), name="test-lifeline")
    assert watched._thread is None and not called
    page.close()


def test_a_killed_worker_is_known_gone_by_its_lifeline_while_its_socket_stays_open(
    restore_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket of a killed worker closes once the kernel has torn the process down (tens
    of milliseconds for a loaded worker): its runs waited for that. Here a copy of its end
    is kept open, so the socket never tells: the lifeline must."""
    kept: list[int] = []
    real_socketpair = socket.socketpair

    def socketpair(*args: Any) -> tuple[socket.socket, socket.socket]:
        parent, child = real_socketpair(*args)
        if not args:  # a worker's stream (the template's control socket is a SEQPACKET one)
            kept.append(os.dup(child.fileno()))
        return parent, child

    monkeypatch.setattr(socket, "socketpair", socketpair)
    try:
        runtime.configure(runtime.SandboxConfig(workers=1))
        pool = runtime._get_pool()
        (pid,) = pool.worker_pids()
        result, answered_after = killed_mid_run(pool, pid, timer_ms=20000)
        # Far sooner than the timer, the only other way it would have ended.
        assert answered_after < 10
        assert result.error is not None and result.error["code"] == "sandbox_crashed"
        error = result.steps[0].error
        assert error is not None and "killed by SIGKILL" in error["message"]
        assert runtime.run_pipeline(make_job(PASS_THROUGH)).decision == "allow"
        assert pid not in pool.worker_pids()
    finally:
        for fd in kept:
            os.close(fd)


def test_a_spare_that_dies_before_it_serves_is_replaced_and_never_put_in_service(
    restore_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("apps.runtime.pool.SPARE_RESTART_S", 0.05)
    runtime.configure(runtime.SandboxConfig(workers=1, spare_workers=1))
    pool = runtime._get_pool()
    (serving,) = pool.worker_pids()

    dead = ready_spare(pool)
    os.kill(dead.proc.pid, signal.SIGKILL)
    give_up = time.monotonic() + 30
    while pool._spares in ([], [dead]) and time.monotonic() < give_up:
        time.sleep(0.01)
    replacement = ready_spare(pool)
    assert replacement is not dead and replacement.proc.poll() is None
    # The serving worker dies: the spare that takes its place is the live one.
    kill_serving(pool, serving, {replacement.proc.pid})
    assert runtime.run_pipeline(make_job(PASS_THROUGH)).decision == "allow"
