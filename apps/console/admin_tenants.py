"""Console pages for tenants, members and API keys."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from apps.console.admin_site import admin_site
from apps.console.pages import page_principal
from apps.console.scoping import TenantScopedAdmin
from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.tenants import services
from apps.tenants.models import ALL_SCOPES, ApiKey, Member, Role, Tenant

admin_site.register(get_user_model(), UserAdmin)
admin_site.register(Group, GroupAdmin)


@admin.register(Tenant, site=admin_site)
class TenantAdmin(TenantScopedAdmin):
    audit_object_type = "tenant"
    tenant_path = "pk"
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    readonly_fields = ["created_at"]
    change_role = Role.OWNER

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        user: Any = request.user
        if user.is_superuser:
            return queryset
        tenant = self.current_tenant(request)
        return queryset.filter(pk=tenant.pk) if tenant else queryset.none()

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        user: Any = request.user
        if obj is not None and not user.is_superuser:
            return ["slug", "limits", "created_at"]
        return self.readonly_fields

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(getattr(request.user, "is_superuser", False))


class MemberForm(forms.ModelForm):
    username = forms.CharField(
        label="Username or email",
        max_length=254,
        help_text="Someone who already has an account on this server.",
    )

    class Meta:
        model = Member
        fields = ["tenant", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["username"].label = "Username"
            self.fields["username"].initial = self.instance.user.get_username()
            self.fields["username"].disabled = True


def _tenant_field_needed(request: HttpRequest) -> bool:
    """Members work on the tenant chosen in the header; only superusers pick one."""
    return bool(getattr(request.user, "is_superuser", False))


class CurrentTenantColumns:
    """Lists without a Tenant column for members: every row is the current tenant's."""

    list_display: Any

    def get_list_display(self, request: HttpRequest) -> Any:
        if _tenant_field_needed(request):
            return self.list_display
        return [column for column in self.list_display if column != "tenant"]


@admin.register(Member, site=admin_site)
class MemberAdmin(CurrentTenantColumns, TenantScopedAdmin):
    audit_object_type = "member"
    list_title = "Members"
    form = MemberForm
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email"]
    change_role = add_role = delete_role = Role.OWNER

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        invite = {
            "title": "Invite a member",
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().add_view(request, form_url, {**invite, **(extra_context or {})})

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if _tenant_field_needed(request) and obj is None:
            return ["tenant", "username", "role"]
        return ["username", "role"]

    def get_form(
        self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        tenant = None if _tenant_field_needed(request) else self.current_tenant(request)

        class ScopedMemberForm(form_class):  # type: ignore[misc, valid-type]
            def clean(self) -> dict[str, Any]:
                # The invitation is checked here so a refusal shows on the form.
                cleaned: dict[str, Any] = super().clean()
                target = cleaned.get("tenant") or tenant or getattr(self.instance, "tenant", None)
                cleaned["tenant"] = target
                if self.instance.pk or target is None or "username" not in cleaned:
                    return cleaned
                try:
                    self.invited = services.member_invite(
                        tenant=target,
                        identifier=cleaned["username"],
                        role=cleaned.get("role") or Role.VIEWER,
                        actor=Actor.for_user(request.user),
                    )
                except ServiceError as exc:
                    self.add_error("username", exc.message)
                return cleaned

        return ScopedMemberForm

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = getattr(form, "invited", None)
        if saved is None:
            saved = services.member_set(
                tenant=obj.tenant,
                username=obj.user.get_username(),
                role=form.cleaned_data["role"],
                actor=Actor.for_user(request.user),
            )
        obj.pk, obj.user, obj.tenant, obj.role = saved.pk, saved.user, saved.tenant, saved.role

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.member_remove(member=obj, actor=Actor.for_user(request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for member in queryset:
            self.delete_model(request, member)


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ALL_SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=list(services.DEFAULT_KEY_SCOPES),  # least privilege: execute only
        help_text="execute: call the execute endpoint (what an IdP needs). "
        "manage: change configuration. runs:read: read runs and the configuration history.",
    )

    class Meta:
        model = ApiKey
        fields = ["tenant", "name", "scopes"]


@admin.register(ApiKey, site=admin_site)
class ApiKeyAdmin(CurrentTenantColumns, TenantScopedAdmin):
    audit_object_type = "api_key"
    list_title = "API keys"
    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "tenant",
        "scope_list",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    actions = ["revoke_selected"]
    view_role = change_role = add_role = delete_role = Role.OWNER

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is not None:
            return [
                "tenant",
                "name",
                "scope_list",
                "prefix",
                "created_at",
                "last_used_at",
                "revoked_at",
            ]
        return []

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None:
            needed = _tenant_field_needed(request)
            return ["tenant", "name", "scopes"] if needed else ["name", "scopes"]
        return self.get_readonly_fields(request, obj)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        # A new key is shown once on the list page: "continue editing" has nothing to edit.
        one_save = {"show_save_and_continue": False, "show_save_and_add_another": False}
        return super().add_view(request, form_url, {**one_save, **(extra_context or {})})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        # Every field of a key is read-only: no Save buttons; Revoke is the one action.
        read_only = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete_link": False,
        }
        extra = {**read_only, "title": "API key", **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    @admin.display(description="scopes")
    def scope_list(self, api_key: ApiKey) -> str:
        return ", ".join(api_key.scopes)

    def get_urls(self) -> list[URLPattern]:
        revoke = self.admin_site.admin_view(self.revoke_view)
        return [
            path("<path:object_id>/revoke/", revoke, name="tenants_apikey_revoke"),
            *super().get_urls(),
        ]

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        page_principal(request, role=self.change_role)
        api_key = self.get_object(request, unquote(object_id))
        if api_key is None:
            raise Http404("No such API key.")
        detail = reverse("admin:tenants_apikey_change", args=[api_key.pk])
        if request.method == "POST" and api_key.revoked_at is None:
            services.api_key_revoke(api_key=api_key, actor=Actor.for_user(request.user))
            messages.success(request, f"Revoked {api_key.name} ({api_key.prefix}…).")
            return HttpResponseRedirect(detail)
        if api_key.revoked_at is not None:
            return HttpResponseRedirect(detail)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Revoke {api_key.name}?",
            "api_key": api_key,
            "opts": self.opts,
            "cancel_url": detail,
        }
        return TemplateResponse(request, "admin/tenants/apikey/revoke_confirmation.html", context)

    def audit_object_id(self, obj: Any) -> str:
        return str(obj.prefix)  # key events name the key by its prefix

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # keys are revoked, not deleted, so the audit trail keeps them

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return
        tenant = form.cleaned_data.get("tenant") or self.current_tenant(request)
        if tenant is None:
            raise PermissionDenied("You are not a member of any tenant.")
        api_key, raw_key = services.api_key_create(
            tenant=tenant,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            actor=Actor.for_user(request.user),
        )
        obj.pk = api_key.pk
        messages.warning(
            request, f"Your new API key is {raw_key} — copy it now, it will not be shown again."
        )

    @admin.action(description="Revoke selected API keys")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key, actor=Actor.for_user(request.user))
        messages.success(request, f"Revoked {queryset.count()} key(s).")
