"""Length-prefixed messages over a connected stream socket: a caller and its sandbox worker.

Used instead of ``multiprocessing.connection.Connection``, which builds a selector for every
wait and reads a message's header and body with two system calls: on a run that takes a
fraction of a millisecond that overhead showed in profiles on both sides. Here a message is one
write, a wait is one ``poll`` on an object kept for the socket's lifetime, and a message that
fits the first read (nearly all do) is one ``recv``.
"""

from __future__ import annotations

import math
import select
import socket
import struct
import threading
import time

from apps.runtime.lifeline import LIFELINE_BYTES

_HEADER = struct.Struct("!I")
_READ_SIZE = 1 << 16
MAX_MESSAGE_BYTES = (1 << 32) - 1
# The mirror page beside the socket, as doubles: the worker's heartbeat (CLOCK_MONOTONIC, the
# same clock in every process), how many ``prepare`` requests it has done and how many of its
# runs wait on a timer or a host call, then per request slot [request id, step index], then
# the worker's lifeline (lifeline.py).
SLOT_SIZE = 16
# Where the heartbeat lies (a double), the count of ``prepare`` requests done, the count of
# runs waiting; the slots start at HEADER_SIZE.
HEARTBEAT_AT = 0
PREPARED_AT = 8
WAITING_AT = 16
HEADER_SIZE = 32


def lifeline_offset(slots: int) -> int:
    return HEADER_SIZE + SLOT_SIZE * max(1, slots)


def mirror_size(slots: int) -> int:
    return lifeline_offset(slots) + LIFELINE_BYTES


def slot_offset(slot: int) -> int:
    return HEADER_SIZE + SLOT_SIZE * slot


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        self.sock = sock
        self._buffer = bytearray()
        self._poller = select.poll()
        self._poller.register(sock.fileno(), select.POLLIN)

    @classmethod
    def from_fd(cls, fd: int) -> Channel:
        return cls(socket.socket(fileno=fd))

    def send(self, payload: bytes) -> None:
        if len(payload) > MAX_MESSAGE_BYTES:
            raise ValueError("message too large for the sandbox channel")
        self.sock.sendall(_HEADER.pack(len(payload)) + payload)

    def poll(self, timeout_s: float = 0.0) -> bool:
        """True if something can be read now (a message, or the end of the stream)."""
        if self._buffer:
            return True
        return bool(self._poller.poll(poll_timeout_ms(timeout_s)))

    def recv(self, timeout_s: float | None = None) -> bytes:
        """The next message; ``TimeoutError`` after ``timeout_s``, ``EOFError`` if the peer
        closed the socket, ``OSError`` if it broke."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            message = self._take()
            if message is not None:
                return message
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not self._poller.poll(poll_timeout_ms(left)):
                    raise TimeoutError
            chunk = self.sock.recv(max(_READ_SIZE, self._missing()))
            if not chunk:
                raise EOFError
            self._buffer += chunk

    def buffered(self) -> bool:
        """Whether data already read from the socket waits here (a poll on it cannot tell)."""
        return bool(self._buffer)

    def close(self) -> None:
        self.sock.close()

    def _take(self) -> bytes | None:
        buffer = self._buffer
        if len(buffer) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(buffer)
        end = _HEADER.size + size
        if len(buffer) < end:
            return None
        message = bytes(buffer[_HEADER.size : end])
        del buffer[:end]
        return message

    def _missing(self) -> int:
        if len(self._buffer) < _HEADER.size:
            return 0
        (size,) = _HEADER.unpack_from(self._buffer)
        return _HEADER.size + size - len(self._buffer)


def poll_timeout_ms(seconds: float) -> int:
    """``seconds`` as ``poll``'s whole milliseconds, rounded up so a wait never ends early."""
    return max(0, math.ceil(seconds * 1000))


class ReadDuty:
    """Which of a worker's request threads reads its channel: the holder of the duty.

    Handing the duty to another thread for every request (the holder answering while the
    other reads on) costs a thread wake-up and a hand-over of the interpreter lock per request,
    whether or not another request comes (under gunicorn at 8 clients, the sandbox process's
    CPU per 3-function request fell from 1.23-1.64 ms to 1.13-1.39 ms without it). So the
    thread that read a request keeps the duty while it answers, as long as it watches the
    socket: while it waits on an isolate, ``Isolate`` polls the socket too, and the duty goes to
    another thread as soon as the next request arrives. Before anything else that may block (a
    host call, a timer, building or freeing an isolate) the holder hands it on first
    (``hand_off_reading``), so a request never waits for another one's run.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._lock = threading.Lock()
        self._holder: int | None = None

    def take(self) -> None:
        """Wait for the duty (the threads without it wait here)."""
        self._lock.acquire()
        self._holder = threading.get_ident()

    def held(self) -> bool:
        return self._holder == threading.get_ident()

    def hand_on(self) -> None:
        """If this thread holds the duty, let a waiting thread take it."""
        if self._holder == threading.get_ident():
            self._holder = None
            self._lock.release()


# The worker process's duty (set by worker.py; None elsewhere, where nothing is watched).
read_duty: ReadDuty | None = None


def hand_off_reading() -> None:
    """Called before a wait that does not watch the channel: another thread reads on."""
    if read_duty is not None:
        read_duty.hand_on()


def watched_fd() -> int | None:
    """The channel's descriptor if this thread holds the read duty (its waits watch it)."""
    duty = read_duty
    return duty.fd if duty is not None and duty.held() else None
