"""What a real gunicorn with the product's settings answers to requests it refuses itself or
that Django cannot read: the SPEC §6 JSON error shape, never an HTML page."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from genauth_pipeline import gunicorn as config

COMMAND = ["-c", "python:genauth_pipeline.gunicorn", "genauth_pipeline.wsgi"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DEBUG": "True",
            "DATABASE_URL": f"sqlite:///{folder}/db.sqlite3",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "1",
            "GUNICORN_THREADS": "1",
            "SANDBOX_WORKERS": "1",
            "PYTHONPATH": str(settings.BASE_DIR),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *COMMAND],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(port, process)
            yield "127.0.0.1", port
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


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
