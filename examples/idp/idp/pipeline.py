"""The one place the IdP talks to GenAuth Pipeline."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from genauth_pipeline_client import Client


def pipeline() -> Client:
    return Client(
        settings.PIPELINE_URL,
        settings.PIPELINE_API_KEY,
        timeout=settings.PIPELINE_TIMEOUT,
        retries=2,
    )


def user_data(user: Any) -> dict[str, Any]:
    """What the functions see as ``user`` for an existing account."""
    return {
        "id": str(user.pk),
        "username": user.get_username(),
        "email": user.email,
        "customData": getattr(getattr(user, "profile", None), "custom_data", {}),
    }


def request_context(request: HttpRequest | None, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"protocol": "web", **extra}
    if request is not None:
        context["ip"] = request.META.get("REMOTE_ADDR")
        context["userAgent"] = request.headers.get("User-Agent", "")
    return context
