"""Turns every exception raised under /api/ into the SPEC error shape."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.api.errors import error_body
from apps.core.errors import ServiceError

logger = logging.getLogger(__name__)

_CODES: dict[type[Exception], tuple[str, str]] = {
    drf.NotAuthenticated: (
        "authentication_failed",
        "Authentication credentials were not provided.",
    ),
    drf.AuthenticationFailed: ("authentication_failed", "Authentication failed."),
    drf.PermissionDenied: ("permission_denied", "You do not have permission to do this."),
    drf.NotFound: ("not_found", "Not found."),
    drf.MethodNotAllowed: ("method_not_allowed", "Method not allowed."),
    drf.NotAcceptable: ("not_acceptable", "Not acceptable."),
    drf.UnsupportedMediaType: ("unsupported_media_type", "Send a JSON body."),
    drf.Throttled: ("throttled", "Too many requests."),
    drf.ParseError: ("invalid_request", "The body is not valid JSON."),
    drf.ValidationError: ("invalid_request", "The request is invalid."),
}


def _validation_details(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {"fields": {key: _flatten(value) for key, value in detail.items()}}
    return {"fields": {"non_field_errors": _flatten(detail)}}


def _flatten(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _flatten(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_flatten(item) for item in value]
    return str(value)


def _message_of(exc: drf.APIException, default: str) -> str:
    detail = exc.detail
    return str(detail) if isinstance(detail, str) else default


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("payload_too_large", "The request body is too large."), status=413
        )
    if not isinstance(exc, drf.APIException):
        logger.exception("Unhandled error in API view", exc_info=exc)
        return Response(
            error_body("internal_error", "Something went wrong on our side."), status=500
        )
    return _api_exception_response(exc)


def _api_exception_response(exc: drf.APIException) -> Response:
    code, default = next(
        (pair for cls, pair in _CODES.items() if isinstance(exc, cls)),
        (str(exc.default_code), str(exc.default_detail)),
    )
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    details: dict[str, Any] = {}
    if isinstance(exc, drf.ValidationError):
        details = _validation_details(exc.detail)
        message = _first_message(details["fields"]) or default
    else:
        message = _message_of(exc, default)
    wait = getattr(exc, "wait", None)
    if isinstance(exc, drf.Throttled) and wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        details = {"retry_after_seconds": headers["Retry-After"]}
    if isinstance(exc, drf.MethodNotAllowed):
        details = {"method": str(exc.detail).split('"')[1] if '"' in str(exc.detail) else ""}
    return Response(error_body(code, message, details), status=exc.status_code, headers=headers)


def _first_message(fields: dict[str, Any]) -> str:
    for name, value in fields.items():
        while isinstance(value, list | dict) and value:
            value = value[0] if isinstance(value, list) else next(iter(value.values()))
        if isinstance(value, str):
            return value if name == "non_field_errors" else f"{name}: {value}"
    return ""
