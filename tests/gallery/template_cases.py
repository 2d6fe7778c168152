"""Running gallery templates' expected outcomes: a loopback HTTP stub and the checks.

Each outcome in a manifest says what the template must do with its input
(see ``apps.gallery.loader``); ``check_outcome`` asserts it on a runtime result.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class StubServer:
    """A tiny HTTP server on 127.0.0.1 that answers configured routes and records requests."""

    routes: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self, routes: dict[str, dict[str, Any]] | None = None) -> None:
        self.routes = dict(routes or {})
        self.requests.clear()

    def start(self) -> StubServer:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                stub.requests.append(
                    {
                        "method": self.command,
                        "path": path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": raw.decode("utf-8", "replace"),
                    }
                )
                route = stub.routes.get(f"{self.command} {path}", {"status": 404, "json": {}})
                if "json" in route:
                    body, kind = json.dumps(route["json"]).encode(), "application/json"
                else:
                    body, kind = str(route.get("text", "")).encode(), "text/plain"
                self.send_response(int(route.get("status", 200)))
                if route.get("status") != 204:
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if route.get("status") != 204:
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def is_subset(expected: Any, actual: Any) -> bool:
    """Every key of ``expected`` is in ``actual`` with a matching value (recursively)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and is_subset(value, actual[key]) for key, value in expected.items()
        )
    return bool(expected == actual)


def check_outcome(result: dict[str, Any], expect: dict[str, Any], requests: list[Any]) -> None:
    decision = expect["decision"]
    steps = result.get("steps") or []
    assert result["decision"] == decision, (result.get("error"), _logs(result))
    if decision == "allow":
        assert result["error"] is None
        assert all(step["status"] == "ok" for step in steps), steps
    else:
        # A deny must be the template's own callback(err), never a crash.
        assert all(step["status"] in ("ok", "denied") for step in steps), steps
        if "error_code" in expect:
            assert result["error"]["code"] == expect["error_code"], result["error"]
        if "error_message_contains" in expect:
            assert expect["error_message_contains"] in result["error"]["message"]
    user = result.get("user") or {}
    for key, value in expect.get("user_subset", {}).items():
        assert user.get(key) == value, (key, user.get(key))
    for key in expect.get("user_absent", []):
        assert key not in user, key
    _check_custom_data(result, expect)
    for claims in ("id_token_claims", "access_token_claims"):
        _check_claims(result, expect, claims)
    if "requests" in expect:
        _check_requests(expect["requests"], requests)


def _logs(result: dict[str, Any]) -> list[Any]:
    return [step.get("logs") for step in result.get("steps") or []]


def _check_custom_data(result: dict[str, Any], expect: dict[str, Any]) -> None:
    if "custom_data" not in expect and "custom_data_keys" not in expect:
        return
    wanted = expect.get("custom_data", {})
    actual = result.get("custom_data") or {}
    assert set(actual) == set(wanted) | set(expect.get("custom_data_keys", [])), actual
    for key, value in wanted.items():
        assert actual[key] == value, (key, actual[key])


def _check_claims(result: dict[str, Any], expect: dict[str, Any], name: str) -> None:
    actual = result.get(name) or {"set": {}, "remove": []}
    if name in expect:
        assert actual["set"] == expect[name].get("set", {}), actual
        assert sorted(actual["remove"]) == sorted(expect[name].get("remove", [])), actual
    elif expect["decision"] == "allow":
        # A template must not touch claims it does not announce.
        assert actual == {"set": {}, "remove": []}, actual


def _check_requests(expected: list[dict[str, Any]], recorded: list[dict[str, Any]]) -> None:
    assert len(recorded) == len(expected), recorded
    for want, got in zip(expected, recorded, strict=True):
        assert got["method"] == want["method"] and got["path"] == want["path"], got
        headers = got["headers"]
        for header, value in want.get("headers_subset", {}).items():
            assert headers.get(header.lower()) == value, (header, headers)
        if "json_subset" in want:
            assert is_subset(want["json_subset"], json.loads(got["body"])), got["body"]
