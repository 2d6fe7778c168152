"""JSON answers for requests under /api/ that no API view handled."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from apps.api.errors import error_response


def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return error_response(404, "not_found", f"No API endpoint at {request.path}.")


def api_server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500, "internal_error", "Something went wrong on our side.")
