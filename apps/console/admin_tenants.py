"""Console pages for tenants, members and API keys."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from apps.console.admin_site import admin_site
from apps.console.scoping import TenantScopedAdmin
from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.tenants import services
from apps.tenants.models import ALL_SCOPES, ApiKey, Member, Role, Tenant

admin_site.register(get_user_model(), UserAdmin)
admin_site.register(Group, GroupAdmin)


@admin.register(Tenant, site=admin_site)
class TenantAdmin(TenantScopedAdmin):
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
    username = forms.CharField(max_length=150, help_text="An existing console user.")

    class Meta:
        model = Member
        fields = ["tenant", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["username"].initial = self.instance.user.get_username()
            self.fields["username"].disabled = True

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if not self.instance.pk and not get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError("No user with this username.")
        return username


@admin.register(Member, site=admin_site)
class MemberAdmin(TenantScopedAdmin):
    list_title = "Members"
    form = MemberForm
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email"]
    change_role = add_role = delete_role = Role.OWNER

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            saved = services.member_set(
                tenant=form.cleaned_data["tenant"],
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
                actor=Actor.for_user(request.user),
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            return
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
        initial=list(ALL_SCOPES),
    )

    class Meta:
        model = ApiKey
        fields = ["tenant", "name", "scopes"]


@admin.register(ApiKey, site=admin_site)
class ApiKeyAdmin(TenantScopedAdmin):
    list_title = "API keys"
    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "tenant",
        "scopes",
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
                "scopes",
                "prefix",
                "created_at",
                "last_used_at",
                "revoked_at",
            ]
        return []

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None:
            return ["tenant", "name", "scopes"]
        return self.get_readonly_fields(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # keys are revoked, not deleted, so the audit trail keeps them

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return
        api_key, raw_key = services.api_key_create(
            tenant=form.cleaned_data["tenant"],
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
