"""The client's tests talk HTTP to pytest-django's live server, or to small stub servers."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest


@pytest.fixture
def _live_database(transactional_db: None) -> None:
    """The live server runs in another thread: it must see committed data."""


@dataclass
class Stub:
    """An HTTP server answering from a script of (status, body, headers, delay)."""

    url: str
    script: list[tuple[int, bytes, dict[str, str], float]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer(
        self,
        status: int,
        body: bytes = b"{}",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.script.append((status, body, headers or {}, delay))


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append({"path": self.path, "body": self.rfile.read(length)})
            status, body, headers, delay = (
                state.script.pop(0) if state.script else (200, b"{}", {}, 0.0)
            )
            time.sleep(delay)
            try:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up waiting

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
