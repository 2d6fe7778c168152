"""DRF authentication: tenant API keys (Bearer gp_...) or a console session with CSRF."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request

from apps.tenants.access import principal_for_api_key, principal_for_session


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Bearer <API key>'."
            )
        principal = principal_for_api_key(parts[1])
        if principal is None:
            raise exceptions.AuthenticationFailed("The API key is unknown or revoked.")
        return (None, principal)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class TenantSessionAuthentication(SessionAuthentication):
    """A logged-in console member acting on their current tenant, with their role."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        user = getattr(request._request, "user", None)
        if not user or not user.is_active or not user.is_authenticated:
            return None
        self.enforce_csrf(request)
        principal = principal_for_session(request._request)
        if principal is None:
            raise exceptions.PermissionDenied("You are not a member of any tenant.")
        return (user, principal)
