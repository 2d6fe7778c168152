"""How soon a killed worker is known gone: `python benchmarks/lifeline.py [--kills 5] [--busy 4]`.

Starts a process shaped like a loaded sandbox worker (250 MB of touched memory, 120 idle
threads) that holds a lifeline (``apps/runtime/lifeline.py``) in a shared page, SIGKILLs it,
and prints, per kill, how long after the signal each of these told the parent:

- ``lifeline``: the robust mutex the kernel releases as the holding thread exits;
- ``status``: the exit status readable in ``/proc/<pid>/stat`` (read right after the lifeline);
- ``socket EOF``: the end of a socket pair whose other end the process held (what the pool
  waited for before the lifeline);
- ``pidfd``: the process's pidfd becoming readable (it has ended).

First on the machine as it is, then beside ``--busy`` processes that each spin on a core.
"""

from __future__ import annotations

import argparse
import mmap
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.runtime import lifeline  # noqa: E402

PAGE = 4096
CHILD = """
import mmap, sys, threading
from apps.runtime import lifeline
page = mmap.mmap(int(sys.argv[1]), 4096)
lifeline.hold(page, 0)
blob = bytearray(250 << 20)
for i in range(0, len(blob), 4096):
    blob[i] = 1
for _ in range(120):
    threading.Thread(target=threading.Event().wait, daemon=True).start()
import socket
sock = socket.socket(fileno=int(sys.argv[2]))
sock.send(b"r")
threading.Event().wait()
"""


def one_kill() -> dict[str, float]:
    fd = os.memfd_create("bench-lifeline")
    os.ftruncate(fd, PAGE)
    page = mmap.mmap(fd, PAGE)
    lifeline.init(page, 0)
    ours, theirs = socket.socketpair()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(fd), str(theirs.fileno())],
        pass_fds=(fd, theirs.fileno()),
        cwd=ROOT,
    )
    theirs.close()
    assert ours.recv(1) == b"r"
    pidfd = os.pidfd_open(child.pid)
    seen: dict[str, float] = {}
    watched = lifeline.Lifeline(page, 0)

    def on_gone() -> None:
        seen["lifeline"] = time.perf_counter()
        if lifeline.exit_status(child.pid, 1.0) is not None:
            seen["status"] = time.perf_counter()

    def eof() -> None:
        ours.recv(1)
        seen["socket EOF"] = time.perf_counter()

    def ended() -> None:
        select.select([pidfd], [], [])
        seen["pidfd"] = time.perf_counter()

    watchers = [threading.Thread(target=f) for f in (eof, ended)]
    for thread in watchers:
        thread.start()
    watched.watch(on_gone, name="bench-lifeline")
    time.sleep(0.2)
    killed = time.perf_counter()
    os.kill(child.pid, signal.SIGKILL)
    for thread in watchers:
        thread.join()
    child.wait()
    watched.close(timeout_s=5)
    page.close()
    os.close(fd)
    os.close(pidfd)
    ours.close()
    return {name: (at - killed) * 1000 for name, at in seen.items()}


def series(kills: int, label: str) -> None:
    rows = [one_kill() for _ in range(kills)]
    print(label)
    for name in ("lifeline", "status", "socket EOF", "pidfd"):
        values = [row[name] for row in rows if name in row]
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"  {name:<11} median {statistics.median(values):6.1f} ms  ({shown})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--busy", type=int, default=4)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    series(args.kills, "a 250 MB, 120-thread process SIGKILLed, machine as it is:")
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)
    ]
    try:
        time.sleep(0.5)
        series(args.kills, f"the same beside {args.busy} processes spinning:")
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


if __name__ == "__main__":
    main()
