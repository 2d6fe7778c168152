"""Odd input at every API endpoint is a 4xx in the SPEC shape, never a 500 (both databases)."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client

from tests.conftest import Persona, assert_error
from tests.runs.helpers import add_function, allow

pytestmark = pytest.mark.django_db

BODIES = [
    None,
    "[]",
    '"text"',
    "null",
    '{"name": 5, "code": 5, "trigger": 5, "timeout_ms": "x", "enabled": "yes", "is_async": 3}',
    '{"name": "ok-name", "trigger": "PRE_REGISTER", "code": "async function pipe() {}",'
    ' "timeout_ms": 1e100}',
    '{"timeout_ms": 99999999999999999999999, "version": 1e300, "update_draft": "no"}',
    '{"order": [1, {}, null]}',
    '{"order": ["fn_x", "fn_x"]}',
    '{"version": -1, "comment": {"a": 1}}',
    '{"value": 5}',
    '{"user": {}, "context": {}, "code": 5}',
]
QUERIES = [
    "?limit=abc",
    "?limit=-1",
    "?limit=99999999999999999999",
    "?cursor=garbage",
    "?since=2020-13-45&until=abc",
    "?q=" + "x" * 5000,
    "?decision=x&status=x&source=x",
    "?since=0001-01-01&until=9999-12-31T23:59:59",
    "?trigger=PRE_REGISTER&trigger=X",
]


def _paths(function_id: str) -> list[str]:
    fn = f"/api/v1/functions/{function_id}"
    return [
        "/api/v1/me",
        "/api/v1/pipelines",
        "/api/v1/pipelines/PRE_REGISTER",
        "/api/v1/pipelines/PRE_REGISTER/order",
        "/api/v1/functions",
        fn,
        f"{fn}/publish",
        f"{fn}/rollback",
        f"{fn}/versions",
        f"{fn}/versions/99999999999999999999999",
        f"{fn}/test",
        "/api/v1/pipelines/PRE_REGISTER/execute",
        "/api/v1/pipelines/PRE_REGISTER/test",
        "/api/v1/runs",
        "/api/v1/runs/run_x",
        "/api/v1/templates",
        "/api/v1/templates/x/instantiate",
        "/api/v1/env",
        "/api/v1/env/GOOD_NAME",
        "/api/v1/env/" + "A" * 300,
    ]


def test_no_endpoint_answers_odd_input_with_a_server_error(alice: Persona) -> None:
    function = add_function(alice.tenant, "any", allow("any"))
    client = alice.api()
    failures = []
    for path in _paths(function.id):
        for query in QUERIES:
            response = client.get(path + query)
            if response.status_code >= 500:
                failures.append(("GET", path + query[:40], response.status_code))
        for method, body in itertools.product(("post", "patch", "put", "delete"), BODIES):
            send = getattr(client, method)
            response = (
                send(path) if body is None else send(path, body, content_type="application/json")
            )
            if response.status_code >= 500:
                failures.append((method, path, body, response.status_code))
    assert failures == []


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/functions/%00",
        "/api/v1/runs/run_%00",
        "/api/v1/env/%00",
        "/api/v1/runs?q=%00",
        "/api/v1/runs?function=a%00b",
    ],
)
def test_a_nul_in_an_api_url_is_a_400(alice: Persona, url: str) -> None:
    error = assert_error(alice.api().get(url), 400, "invalid_request")
    assert error["message"] == "The URL may not contain U+0000 (%00)."


def test_a_nul_in_a_console_url_is_a_400(alice: Persona) -> None:
    client = Client()
    client.force_login(alice.user)
    for url in ("/admin/functions/%00/", "/admin/runs/run/?q=%00"):
        response = client.get(url)
        assert response.status_code == 400
        assert response.content == b"The URL may not contain U+0000 (%00)."
