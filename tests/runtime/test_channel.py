"""The framed socket between a caller and its sandbox worker."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from apps.runtime.channel import Channel


@pytest.fixture
def pair() -> Iterator[tuple[Channel, Channel]]:
    left, right = socket.socketpair()
    a, b = Channel(left), Channel(right)
    yield a, b
    a.close()
    b.close()


def test_messages_arrive_whole_and_in_order(pair: tuple[Channel, Channel]) -> None:
    a, b = pair
    for message in (b"{}", b"", b"x" * 10):
        a.send(message)
    assert [b.recv(1), b.recv(1), b.recv(1)] == [b"{}", b"", b"x" * 10]


def test_a_message_larger_than_one_read_is_reassembled(pair: tuple[Channel, Channel]) -> None:
    a, b = pair
    big = bytes(range(256)) * 4096  # 1 MiB, more than the socket buffer holds at once
    sender = threading.Thread(target=a.send, args=(big,))
    sender.start()
    assert b.recv(10) == big
    sender.join()


def test_poll_says_whether_a_message_is_waiting(pair: tuple[Channel, Channel]) -> None:
    a, b = pair
    assert b.poll(0) is False
    a.send(b"one")
    a.send(b"two")
    assert b.poll(1) is True
    assert b.recv() == b"one"
    assert b.poll(0) is True  # already buffered by the first read
    assert b.recv() == b"two"


def test_a_silent_peer_is_a_timeout(pair: tuple[Channel, Channel]) -> None:
    _, b = pair
    with pytest.raises(TimeoutError):
        b.recv(0.05)


def test_a_closed_peer_is_the_end_of_the_stream(pair: tuple[Channel, Channel]) -> None:
    a, b = pair
    a.send(b"last")
    a.sock.shutdown(socket.SHUT_RDWR)
    assert b.recv(1) == b"last"
    with pytest.raises(EOFError):
        b.recv(1)


def test_a_peer_that_dies_mid_message_is_the_end_of_the_stream(
    pair: tuple[Channel, Channel],
) -> None:
    a, b = pair
    a.sock.sendall(b"\x00\x00\x00\x10half")  # announces 16 bytes, sends 4
    a.sock.shutdown(socket.SHUT_RDWR)
    with pytest.raises(EOFError):
        b.recv(1)
