"""Scope and role checks. ``request.auth`` is always a ``Principal`` once authenticated."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.tenants.access import Principal
from apps.tenants.models import Scope


def principal_of(request: Request) -> Principal:
    assert isinstance(request.auth, Principal)
    return request.auth


class IsTenantPrincipal(BasePermission):
    message = "Authentication with an API key or a console session is required."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Principal)


class _ScopePermission(IsTenantPrincipal):
    scope = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        self.message = f"This needs the '{self.scope}' scope."
        return principal_of(request).has_scope(self.scope)


class CanExecute(_ScopePermission):
    scope = "execute"


class CanReadRuns(_ScopePermission):
    scope = "runs:read"


class CanReadAudit(IsTenantPrincipal):
    """The configuration history: every member (viewers included), and keys with
    'manage' or 'runs:read' (an auditor's key need not be able to change anything)."""

    message = "This needs the 'manage' or 'runs:read' scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        principal = principal_of(request)
        return principal.can_read_config or principal.has_scope(Scope.RUNS_READ)


class CanManage(IsTenantPrincipal):
    """Reads for keys with 'manage' and for every member; writes need 'manage'."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        principal = principal_of(request)
        if request.method in SAFE_METHODS:
            self.message = "This needs the 'manage' scope."
            return principal.can_read_config
        self.message = "Your role or key may not change configuration."
        return principal.can_write_config


class CanWriteEvenOnRead(IsTenantPrincipal):
    """For POST endpoints that only read (e.g. test runs): still require write rights."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        self.message = "Your role or key may not run tests."
        return principal_of(request).can_write_config


class IsOwner(IsTenantPrincipal):
    """API keys and members: the tenant's owners in a console session, never an API key
    (a leaked key must not be able to mint more keys or let anyone in)."""

    message = "Only the tenant's owners, signed in to the console, manage API keys and members."

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and principal_of(request).is_owner
