"""Liveness and readiness probes (plain Django views: no auth, no throttling)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    cache.set("readyz", "1", 10)
    if cache.get("readyz") != "1":
        raise RuntimeError("cache did not return what was stored")


def _check_broker() -> None:
    from genauth_pipeline.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_sandbox() -> None:
    from apps.runtime import sandbox_ping

    sandbox_ping()


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "sandbox": _check_sandbox,
}


def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = "failing"
    failing = [name for name, state in results.items() if state != "ok"]
    if failing:
        body = {
            "status": "unavailable",
            "checks": results,
            "error": {
                "code": "unavailable",
                "message": f"Not ready: {', '.join(failing)} failing.",
                "details": {"failing": failing},
            },
        }
        return JsonResponse(body, status=503)
    return JsonResponse({"status": "ok", "checks": results, "debug": settings.DEBUG})
