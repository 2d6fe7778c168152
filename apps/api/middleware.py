"""Request-body limit for /api/: a 413 in the SPEC error shape before anything is parsed."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.api.errors import error_response


class ApiBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and self._too_large(request):
            return error_response(
                413,
                "payload_too_large",
                f"The request body exceeds {settings.API_MAX_BODY_BYTES} bytes.",
                {"limit_bytes": settings.API_MAX_BODY_BYTES},
            )
        return self.get_response(request)

    @staticmethod
    def _too_large(request: HttpRequest) -> bool:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        return length > settings.API_MAX_BODY_BYTES
