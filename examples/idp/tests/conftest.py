"""A stand-in for GenAuth Pipeline's execute API, so the IdP is tested on its own.

It answers as the service does (SPEC §6) with the decisions of a small fixed policy:
sign-ups from evil.test are refused, user "mallory" may not log in, "frozen" gets no
tokens, and tokens get claims.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

CLAIMS = {
    "PRE_OIDC_ID_TOKEN_ISSUED": ("id_token_claims", {"https://acme.test/plan": "gold"}),
    "PRE_OIDC_ACCESS_TOKEN_ISSUED": ("access_token_claims", {"tier": "gold"}),
}


def decide(trigger: str, user: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "run_id": f"run_{trigger}",
        "trigger": trigger,
        "decision": "allow",
        "error": None,
        "user": user,
        "context": {},
        "custom_data": {},
        "id_token_claims": {"set": {}, "remove": []},
        "access_token_claims": {"set": {}, "remove": []},
        "steps": [],
        "duration_ms": 1.0,
    }
    if trigger == "PRE_REGISTER":
        if str(user.get("email", "")).endswith("@evil.test"):
            body["decision"] = "deny"
            body["error"] = {"code": "domain", "message": "Sign-ups from evil.test are closed."}
        else:
            body["custom_data"] = {"plan": "free"}
    if trigger == "PRE_AUTHENTICATION" and user.get("username") == "mallory":
        body["decision"] = "deny"
        body["error"] = {"code": "blocked", "message": "This account is suspended."}
    if trigger == "PRE_OIDC_ACCESS_TOKEN_ISSUED" and user.get("username") == "frozen":
        body["decision"] = "deny"
        body["error"] = {"code": "frozen", "message": "Tokens for this account are frozen."}
    if trigger in CLAIMS and body["decision"] == "allow":
        field, claims = CLAIMS[trigger]
        body[field] = {"set": claims, "remove": []}
    return body


@pytest.fixture
def fake_pipeline(settings: Any) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            trigger = self.path.split("/")[4]
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append((trigger, request))
            if trigger.startswith("POST_"):
                status, answer = 202, {"run_id": "run_async", "status": "queued"}
            else:
                status, answer = 200, decide(trigger, request["user"])
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.PIPELINE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PIPELINE_API_KEY = "gp_reference-idp-test"
    yield calls
    server.shutdown()
    server.server_close()
