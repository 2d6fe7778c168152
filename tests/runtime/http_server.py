"""A small HTTP server on 127.0.0.1 for the outbound-HTTP tests; it records what it receives.

Routes (query parameters in brackets):
    /echo                 200 JSON {method, path, headers, body} of the request
    /json                 200 {"hello": "world"} as application/json
    /text                 200 "plain words" as text/plain
    /status/<n>           status n with a JSON body {"status": n}
    /slow[ms]             sleeps ms milliseconds, then 200 "late"
    /bytes[n, stream]     n bytes of "x" (with Content-Length, or streamed until close)
    /drip[n, ms, stream]  n bytes of "x" in 1,000-byte pieces, one every ms milliseconds (with
                          Content-Length, or streamed until close)
    /short                declares 1,000 bytes, sends 10 and closes the connection
    /redirect[to, code]   a redirect (default 302) to ``to``
    /hops/<n>             302 to /hops/<n-1>, and 200 at /hops/0
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_tls() -> ssl.SSLContext:
    """A server context with a self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as pem:
        pem.write(cert.public_bytes(serialization.Encoding.PEM))
        pem.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        pem.flush()
        context.load_cert_chain(pem.name)
    return context


class LoopbackServer:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                seen = {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                with server._lock:
                    server.requests.append(seen)
                server.route(self, seen)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> LoopbackServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        kind: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("X-Server", "loopback")
        for name, value in (extra or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def route(self, h: BaseHTTPRequestHandler, seen: dict[str, Any]) -> None:
        url = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path == "/echo":
            self._send(h, 200, json.dumps(seen).encode(), "application/json; charset=utf-8")
        elif path == "/json":
            self._send(h, 200, b'{"hello": "world"}', "application/json")
        elif path == "/text":
            self._send(h, 200, b"plain words", "text/plain; charset=utf-8")
        elif path == "/charset":  # "café" in the declared charset (UTF-8 if it is no text codec)
            body = "café".encode("latin-1" if query["name"] == "latin-1" else "utf-8")
            self._send(h, 200, body, f"text/plain; charset={query['name']}")
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            self._send(h, status, json.dumps({"status": status}).encode(), "application/json")
        elif path == "/slow":
            time.sleep(int(query.get("ms", "3000")) / 1000)
            self._send(h, 200, b"late", "text/plain")
        elif path == "/bytes":
            self._bytes(h, int(query["n"]), stream="stream" in query)
        elif path == "/drip":
            self._bytes(
                h, int(query["n"]), stream="stream" in query, piece=1000, pause_ms=int(query["ms"])
            )
        elif path == "/short":
            h.send_response(200)
            h.send_header("Content-Length", "1000")
            h.end_headers()
            h.wfile.write(b"x" * 10)
            h.close_connection = True
        elif path == "/redirect":
            self._send(
                h, int(query.get("code", "302")), b"", "text/plain", {"Location": query["to"]}
            )
        elif path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            if left == 0:
                self._send(h, 200, b"arrived", "text/plain")
            else:
                self._send(h, 302, b"", "text/plain", {"Location": f"/hops/{left - 1}"})
        else:
            self._send(h, 404, b'{"error": "not found"}', "application/json")

    @staticmethod
    def _bytes(
        h: BaseHTTPRequestHandler,
        n: int,
        *,
        stream: bool,
        piece: int = 65536,
        pause_ms: int = 0,
    ) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        if stream:
            # No length: the body ends when the connection closes.
            h.send_header("Connection", "close")
            h.close_connection = True
        else:
            h.send_header("Content-Length", str(n))
        h.end_headers()
        block = b"x" * piece
        sent = 0
        while sent < n:
            part = block[: min(len(block), n - sent)]
            h.wfile.write(part)
            h.wfile.flush()
            sent += len(part)
            time.sleep(pause_ms / 1000)
