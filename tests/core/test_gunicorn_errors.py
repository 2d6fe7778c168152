"""What a real gunicorn with the product's settings answers to requests it refuses itself or
that Django cannot read: the SPEC §6 JSON error shape, never an HTML page."""

from __future__ import annotations

import http.client
import json
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genauth_pipeline import gunicorn as config
from tests.core.gunicorn_server import gunicorn, gunicorn_env


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    with tempfile.TemporaryDirectory() as folder, gunicorn(gunicorn_env(Path(folder))) as port:
        yield "127.0.0.1", port


def _exchange(server: tuple[str, int], raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    with socket.create_connection(server, timeout=30) as conn:
        conn.sendall(raw)
        response = http.client.HTTPResponse(conn)
        response.begin()
        body = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    return response.status, headers, json.loads(body)


def _assert_error(
    answer: tuple[int, dict[str, str], dict[str, Any]], status: int, code: str
) -> str:
    got, headers, body = answer
    assert got == status, body
    assert headers["content-type"].startswith("application/json")
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["details"], dict)
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    return message


def test_a_request_line_over_the_limit_is_a_json_414(server: tuple[str, int]) -> None:
    path = "/api/v1/runs?q=" + "x" * (config.limit_request_line + 100)
    answer = _exchange(server, f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    message = _assert_error(answer, 414, "uri_too_long")
    assert str(config.limit_request_line) in message


def test_a_chunked_body_is_a_json_411(server: tuple[str, int]) -> None:
    body = b'{"user": {}, "context": {}}'
    raw = (
        b"POST /api/v1/pipelines/PRE_REGISTER/execute HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    message = _assert_error(_exchange(server, raw), 411, "length_required")
    assert "Content-Length" in message


def test_a_malformed_request_is_a_json_400(server: tuple[str, int]) -> None:
    answer = _exchange(
        server, b"GET /api/v1/runs HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n"
    )
    _assert_error(answer, 400, "invalid_request")
