"""Tenant scoping for admin classes: querysets, permissions and form choices.

A member works on one tenant at a time (chosen in the header); superusers see
every tenant. Rights follow the member's role, not Django's model permissions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from apps.tenants.access import Principal, principal_for_session
from apps.tenants.models import Role, Tenant

ROLE_RANK = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.OWNER: 2}


def console_principal(request: HttpRequest) -> Principal | None:
    # Resolved once per request: admin pages ask many times.
    if not hasattr(request, "_console_principal"):
        request._console_principal = principal_for_session(request)  # type: ignore[attr-defined]
    principal: Principal | None = request._console_principal  # type: ignore[attr-defined]
    return principal


def member_principal(request: HttpRequest) -> Principal:
    """The console principal of a page that needs a tenant: 403 for a user with none."""
    principal = console_principal(request)
    if principal is None:
        raise PermissionDenied("You are not a member of any tenant.")
    return principal


def has_role(request: HttpRequest, minimum: str) -> bool:
    principal = console_principal(request)
    if principal is None or principal.role is None:
        return False
    return ROLE_RANK[Role(principal.role)] >= ROLE_RANK[Role(minimum)]


class TenantScopedAdmin(admin.ModelAdmin):
    """Base for every tenant-owned model in the console."""

    tenant_path = "tenant"  # ORM path from the model to its Tenant
    view_role = Role.VIEWER
    change_role = Role.DEVELOPER
    add_role = Role.DEVELOPER
    delete_role = Role.DEVELOPER
    list_title = ""  # the list page's heading, instead of the admin's "Select ... to change"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        titled = {"title": self.list_title} if self.list_title else {}
        return super().changelist_view(request, {**titled, **(extra_context or {})})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        user: Any = request.user
        if user.is_superuser:
            return queryset
        principal = console_principal(request)
        if principal is None:
            return queryset.none()
        return queryset.filter(**{self.tenant_path: principal.tenant})

    def _allowed(self, request: HttpRequest, role: str) -> bool:
        user: Any = request.user
        return bool(user.is_superuser or has_role(request, role))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request, self.view_role)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, self.view_role)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, self.change_role)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._allowed(request, self.add_role)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, self.delete_role)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is Tenant:
            kwargs["queryset"] = self.writable_tenants(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def writable_tenants(self, request: HttpRequest) -> QuerySet[Tenant]:
        user: Any = request.user
        if user.is_superuser:
            return Tenant.objects.all()
        principal = console_principal(request)
        if principal is None:
            return Tenant.objects.none()
        return Tenant.objects.filter(pk=principal.tenant.pk)

    # The object type this model's audit events name; its page's History button then opens
    # them in the configuration history (the admin's own log misses changes made through
    # the API and the console's own pages).
    audit_object_type = ""

    def audit_object_id(self, obj: Any) -> str:
        return str(obj.pk)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if not self.audit_object_type:
            return super().history_view(request, object_id, extra_context)
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404("No such object.")
        query = urlencode(
            {"object_type": self.audit_object_type, "object_id": self.audit_object_id(obj)}
        )
        return HttpResponseRedirect(f"{reverse('admin:audit_auditevent_changelist')}?{query}")

    def current_tenant(self, request: HttpRequest) -> Tenant | None:
        principal = console_principal(request)
        return principal.tenant if principal else None


class ReadOnlyTenantAdmin(TenantScopedAdmin):
    """Tenant-scoped and read-only: nobody adds, changes or deletes through the admin."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
