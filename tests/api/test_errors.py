"""Every error under /api/ has the SPEC shape, never an HTML page."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import Persona, assert_error

pytestmark = pytest.mark.django_db


def test_an_unknown_api_path_is_a_json_404(alice: Persona) -> None:
    assert_error(alice.api().get("/api/v1/no-such-thing"), 404, "not_found")
    assert_error(APIClient().get("/api/nothing/here"), 404, "not_found")


def test_a_wrong_method_is_a_json_405(alice: Persona) -> None:
    assert_error(alice.api().delete("/api/v1/me"), 405, "method_not_allowed")


def test_a_body_over_the_limit_is_a_json_413(alice: Persona) -> None:
    body = '{"user": {"blob": "' + "x" * (300 * 1024) + '"}}'
    response = alice.api().post("/api/v1/me", body, content_type="application/json")
    error = assert_error(response, 413, "payload_too_large")
    assert error["details"]["limit_bytes"] == 256 * 1024


def test_a_chunked_body_without_a_length_is_a_json_411_not_an_empty_body(alice: Persona) -> None:
    # WSGI gives Django no way to read a body without a Content-Length: it would see none.
    response = alice.api().post(
        "/api/v1/pipelines/PRE_REGISTER/execute",
        '{"user": {}, "context": {}}',
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    error = assert_error(response, 411, "length_required")
    assert "Content-Length" in error["message"]


def test_a_non_json_content_type_is_a_json_415(alice: Persona) -> None:
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    class Echo(APIView):
        def post(self, request):  # type: ignore[no-untyped-def]
            return Response(request.data)

    request = APIRequestFactory().post(
        "/x", "a=1", content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {alice.key}"
    )
    response = Echo.as_view()(request)
    response.render()
    assert_error(response, 415, "unsupported_media_type")


def test_invalid_json_is_a_400(alice: Persona) -> None:
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    class Echo(APIView):
        def post(self, request):  # type: ignore[no-untyped-def]
            return Response(request.data)

    request = APIRequestFactory().post(
        "/x", "{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice.key}"
    )
    response = Echo.as_view()(request)
    response.render()
    assert_error(response, 400, "invalid_request")


def test_an_unexpected_exception_is_a_json_500_without_a_trace(alice: Persona) -> None:
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    class Boom(APIView):
        def get(self, request):  # type: ignore[no-untyped-def]
            raise RuntimeError("secret internals")

    request = APIRequestFactory().get("/x", HTTP_AUTHORIZATION=f"Bearer {alice.key}")
    response = Boom.as_view()(request)
    response.render()
    error = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in error["message"]


def test_throttling_is_per_key_with_retry_after(
    alice: Persona, charlie: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    from apps.api.throttling import PrincipalRateThrottle

    cache.clear()
    monkeypatch.setattr(PrincipalRateThrottle, "THROTTLE_RATES", {"principal": "2/min"})
    client = alice.api()
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    response = client.get("/api/v1/me")
    error = assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1
    assert error["details"]["retry_after_seconds"]
    assert charlie.api().get("/api/v1/me").status_code == 200
    cache.clear()


def test_the_schema_and_offline_docs_are_served() -> None:
    client = APIClient()
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"openapi" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    assert b"cdn" not in docs.content.lower()


def test_healthz_answers() -> None:
    response = APIClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_openapi_schema_is_valid_and_generates_without_warnings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for path in (
        "/api/v1/pipelines/{trigger}/execute",
        "/api/v1/functions/{function_id}",
        "/api/v1/runs/{run_id}",
        "/api/v1/env",
        "/api/v1/templates",
    ):
        assert f"{path}:" in schema


def test_a_request_for_an_unknown_host_gets_a_json_400_under_api() -> None:
    response = APIClient().get("/api/v1/me", HTTP_HOST="evil.example")
    assert_error(response, 400, "invalid_request")
