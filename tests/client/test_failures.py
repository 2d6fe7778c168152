"""Timeouts, retries and the failure policy, against stub servers (no database)."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from genauth_pipeline_client import Client, PipelineRequestError
from tests.client.conftest import Stub

ALLOW = json.dumps(
    {
        "run_id": "run_1",
        "trigger": "PRE_REGISTER",
        "decision": "allow",
        "error": None,
        "user": {"email": "a@example.com"},
        "context": {},
        "custom_data": {},
        "id_token_claims": {"set": {}, "remove": []},
        "access_token_claims": {"set": {}, "remove": []},
        "steps": [],
        "duration_ms": 1.0,
    }
).encode()
UNAVAILABLE = b'{"error": {"code": "unavailable", "message": "Try later.", "details": {}}}'


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(url: str, **options: Any) -> tuple[Client, Sleeps]:
    sleeps = Sleeps()
    options.setdefault("timeout", 2.0)
    return Client(url, "gp_test", sleep=sleeps, **options), sleeps


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_service_denies_a_blocking_trigger() -> None:
    pipeline, sleeps = client(closed_port(), retries=2)
    result = pipeline.execute("PRE_REGISTER", {"email": "a@example.com"}, {"ip": "1.2.3.4"})
    assert result.denied and result.degraded
    assert result.error is not None and result.error.code == "pipeline_unavailable"
    assert result.failure is not None and result.failure.startswith("connection failed")
    assert result.user == {"email": "a@example.com"}
    # Refused connections never reached the service, so they are retried even without a key.
    assert sleeps == [0.2, 0.4]


def test_an_unreachable_service_allows_an_advisory_trigger() -> None:
    pipeline, _ = client(closed_port(), retries=0)
    result = pipeline.execute("POST_AUTHENTICATION", {"id": "u_1"})
    assert result.allowed and result.degraded and result.error is None


def test_the_policy_can_be_set_per_trigger() -> None:
    pipeline, _ = client(
        closed_port(), retries=0, policies={"PRE_REGISTER": "open", "POST_REGISTER": "closed"}
    )
    assert pipeline.execute("PRE_REGISTER", {}).allowed
    assert pipeline.execute("POST_REGISTER", {}).denied
    assert pipeline.execute("PRE_AUTHENTICATION", {}).denied
    with pytest.raises(ValueError):
        Client("http://x", "k", policies={"PRE_REGISTER": "maybe"})  # type: ignore[dict-item]


def test_a_server_error_is_not_retried_without_an_idempotency_key(stub: Stub) -> None:
    stub.answer(503, UNAVAILABLE)
    stub.answer(200, ALLOW)
    pipeline, sleeps = client(stub.url, retries=3)
    result = pipeline.execute("PRE_REGISTER", {"email": "a@example.com"})
    assert result.denied and result.degraded and result.failure == "HTTP 503"
    assert len(stub.requests) == 1 and sleeps == []


def test_a_server_error_is_retried_with_an_idempotency_key(stub: Stub) -> None:
    stub.answer(503, UNAVAILABLE)
    stub.answer(502, b"<html>bad gateway</html>")
    stub.answer(200, ALLOW)
    pipeline, sleeps = client(stub.url, retries=3)
    result = pipeline.execute("PRE_REGISTER", {"email": "a@example.com"}, idempotency_key="k-1")
    assert result.allowed and not result.degraded and result.run_id == "run_1"
    assert len(stub.requests) == 3 and sleeps == [0.2, 0.4]
    bodies = [json.loads(request["body"]) for request in stub.requests]
    assert {body["idempotency_key"] for body in bodies} == {"k-1"}
    assert stub.requests[0]["path"] == "/api/v1/pipelines/PRE_REGISTER/execute"


def test_throttling_is_retried_after_the_time_asked(stub: Stub) -> None:
    stub.answer(429, b'{"error": {"code": "throttled"}}', {"Retry-After": "3"})
    stub.answer(200, ALLOW)
    pipeline, sleeps = client(stub.url, retries=1)
    assert pipeline.execute("PRE_REGISTER", {}).allowed
    assert sleeps == [3.0]


def test_retries_stop_after_the_configured_count(stub: Stub) -> None:
    for _ in range(5):
        stub.answer(503, UNAVAILABLE)
    pipeline, _ = client(stub.url, retries=2)
    result = pipeline.execute("PRE_REGISTER", {}, idempotency_key="k-2")
    assert result.denied and result.degraded
    assert len(stub.requests) == 3


def test_a_slow_answer_times_out_and_is_not_sent_again_without_a_key(stub: Stub) -> None:
    stub.answer(200, ALLOW, delay=1.0)
    pipeline, sleeps = client(stub.url, timeout=0.2, retries=2)
    result = pipeline.execute("PRE_AUTHENTICATION", {"id": "u_1"})
    assert result.denied and result.degraded
    assert result.failure is not None and "no answer" in result.failure
    assert len(stub.requests) == 1 and sleeps == []


def test_a_slow_answer_is_asked_again_with_a_key(stub: Stub) -> None:
    stub.answer(200, ALLOW, delay=1.0)
    stub.answer(200, ALLOW)
    pipeline, _ = client(stub.url, timeout=0.2, retries=1)
    result = pipeline.execute("PRE_AUTHENTICATION", {"id": "u_1"}, idempotency_key="login-1")
    assert result.allowed and not result.degraded
    assert len(stub.requests) == 2


def test_a_request_error_raises_with_the_services_error(stub: Stub) -> None:
    stub.answer(
        400,
        b'{"error": {"code": "invalid_request", "message": "user: must be an object.",'
        b' "details": {"field": "user"}}}',
    )
    pipeline, sleeps = client(stub.url, retries=3)
    with pytest.raises(PipelineRequestError) as raised:
        pipeline.execute("PRE_REGISTER", {}, idempotency_key="k")
    assert raised.value.code == "invalid_request"
    assert raised.value.details == {"field": "user"}
    assert sleeps == []


def test_an_answer_that_is_not_json_applies_the_policy(stub: Stub) -> None:
    stub.answer(200, b"<html>proxy login</html>")
    pipeline, _ = client(stub.url)
    result = pipeline.execute("PRE_REGISTER", {})
    assert result.denied and result.degraded


def test_bad_options_are_refused() -> None:
    for options in ({"timeout": 0}, {"retries": -1}, {"backoff": -1}):
        with pytest.raises(ValueError):
            Client("http://x", "k", **options)


def test_a_key_still_running_elsewhere_is_asked_again(stub: Stub) -> None:
    stub.answer(409, b'{"error": {"code": "conflict", "message": "Still running."}}')
    stub.answer(200, ALLOW)
    pipeline, _ = client(stub.url, retries=1)
    assert pipeline.execute("PRE_REGISTER", {}, idempotency_key="k-3").allowed
    assert len(stub.requests) == 2


def test_a_key_reused_for_another_request_raises(stub: Stub) -> None:
    stub.answer(409, b'{"error": {"code": "idempotency_conflict", "message": "Other body."}}')
    pipeline, sleeps = client(stub.url, retries=2)
    with pytest.raises(PipelineRequestError) as raised:
        pipeline.execute("PRE_REGISTER", {}, idempotency_key="k-4")
    assert raised.value.code == "idempotency_conflict" and sleeps == []
