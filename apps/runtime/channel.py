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
import time

_HEADER = struct.Struct("!I")
_READ_SIZE = 1 << 16
MAX_MESSAGE_BYTES = (1 << 32) - 1
# The mirror page beside the socket, as doubles: the worker's heartbeat (CLOCK_MONOTONIC, the
# same clock in every process) and a spare value, then per request slot [request id, step index].
SLOT_SIZE = 16


def mirror_size(slots: int) -> int:
    return SLOT_SIZE * (max(1, slots) + 1)


def slot_offset(slot: int) -> int:
    return SLOT_SIZE * (slot + 1)


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
