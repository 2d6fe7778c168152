"""Readiness checks every dependency, including a real sandbox round trip."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.api.views import health

pytestmark = pytest.mark.django_db


def test_readyz_is_ok_when_database_cache_broker_and_sandbox_answer() -> None:
    response = APIClient().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "sandbox": "ok",
    }


def test_readyz_is_503_naming_the_failing_part(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise ConnectionError("refused")

    monkeypatch.setitem(health.CHECKS, "broker", broken)
    response = APIClient().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"] == "failing"
    assert body["error"]["code"] == "unavailable"
    assert "broker" in body["error"]["message"]
