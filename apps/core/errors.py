"""The one error type services raise; the API turns it into SPEC's error shape."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refused operation with a machine code, a human message and details."""

    status = 400
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class PermissionDenied(ServiceError):
    status = 403
    code = "permission_denied"
