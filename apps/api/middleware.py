"""Requests refused before any view sees them: bodies over the /api/ limit (413), bodies
without a Content-Length (411) and URLs holding U+0000, which no database query may contain
(400). Under /api/ in the SPEC error shape."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from apps.api.errors import error_response


class ApiBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        if self._too_large(request):
            return error_response(
                413,
                "payload_too_large",
                f"The request body exceeds {settings.API_MAX_BODY_BYTES} bytes.",
                {"limit_bytes": settings.API_MAX_BODY_BYTES},
            )
        if self._length_unknown(request):
            return error_response(
                411,
                "length_required",
                "The request body must be sent with a Content-Length header; chunked "
                "transfer encoding is not supported.",
            )
        return self.get_response(request)

    @staticmethod
    def _length_unknown(request: HttpRequest) -> bool:
        # WSGI hands Django only Content-Length bytes: a chunked body would read as empty.
        return bool(request.META.get("HTTP_TRANSFER_ENCODING")) and not request.META.get(
            "CONTENT_LENGTH"
        )

    @staticmethod
    def _too_large(request: HttpRequest) -> bool:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        return length > settings.API_MAX_BODY_BYTES


class NulInUrlMiddleware:
    """A NUL in the path or query string (``%00``) reaches lookups and filters as text that
    PostgreSQL refuses to take; no URL of ours can use one."""

    MESSAGE = "The URL may not contain U+0000 (%00)."

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
            if request.path.startswith("/api/"):
                return error_response(400, "invalid_request", self.MESSAGE)
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain")
        return self.get_response(request)
