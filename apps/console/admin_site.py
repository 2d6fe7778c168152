"""The console: the Django admin, branded, open to tenant members by role."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from apps.console.navigation import console_nav, recent_problem_runs
from apps.console.overview import pipelines_overview
from apps.tenants.access import tenants_for_user


class MemberLoginForm(AdminAuthenticationForm):
    """The admin's login form, open to tenant members rather than to is_staff users."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Please enter the correct %(username)s and password of a console "
        "member. Note that both fields may be case-sensitive.",
    }

    def confirm_login_allowed(self, user: Any) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)
        if not (user.is_superuser or tenants_for_user(user)):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class GenAuthAdminSite(admin.AdminSite):
    site_header = "GenAuth Pipeline"
    site_title = "GenAuth Pipeline"
    index_title = "Console"
    # "View site" leads to the console itself: the server has no public site at /.
    site_url = "/admin/"
    login_form = MemberLoginForm
    index_template = "console/home.html"

    def has_permission(self, request: HttpRequest) -> bool:
        # Members need no is_staff flag: their membership and role decide.
        user: Any = request.user
        return bool(user.is_active and (user.is_superuser or tenants_for_user(user)))

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        from apps.console.scoping import console_principal

        context = super().each_context(request)
        if getattr(request.user, "is_authenticated", False):
            principal = console_principal(request)
            context["current_tenant"] = principal.tenant if principal else None
            context["current_role"] = principal.role if principal else None
            context["available_tenants"] = tenants_for_user(request.user)
            context["console_nav"] = console_nav(request)
        return context

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The console home: the tenant's pipelines at a glance and its recent problems."""
        from apps.console.scoping import console_principal

        principal = console_principal(request)
        home: dict[str, Any] = {"title": "Home"}
        if principal is not None:
            home["pipelines"] = pipelines_overview(tenant=principal.tenant)
            home["problem_runs"] = recent_problem_runs(tenant=principal.tenant)
            home["can_write"] = principal.can_write_config
        return super().index(request, {**home, **(extra_context or {})})


admin_site = GenAuthAdminSite(name="admin")
