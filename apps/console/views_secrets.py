"""Console page for env vars and secrets: /admin/env/ (secrets are write-only here too)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from apps.console.admin_site import admin_site
from apps.console.pages import console_page, tenant_object_or_404
from apps.console.scoping import role_reaches
from apps.core.errors import NotFound, ServiceError
from apps.secrets import selectors, services
from apps.tenants.access import Principal
from apps.tenants.models import Role


class EnvVarForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="Capital letters, digits and underscores.")
    value = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
    )
    secret = forms.BooleanField(
        required=False, help_text="Encrypted, write-only, and redacted from run records."
    )


def _page(request: HttpRequest, principal: Principal, form: EnvVarForm) -> HttpResponse:
    context: dict[str, Any] = {
        **admin_site.each_context(request),
        "title": "Env & secrets",
        "env_vars": selectors.env_list(tenant=principal.tenant),
        "form": form,
        "can_write": role_reaches(principal, Role.DEVELOPER),
        "limits": {"vars": services.MAX_VARS_PER_TENANT, "bytes": services.MAX_VALUE_BYTES},
    }
    return render(request, "console/env.html", context)


def _edit_form(request: HttpRequest, principal: Principal) -> EnvVarForm:
    """The form prefilled from ?edit=NAME; a secret's value is never put back in a page."""
    name = request.GET.get("edit", "")
    try:
        env_var = selectors.env_var_for_tenant(tenant=principal.tenant, name=name)
    except NotFound:
        return EnvVarForm()
    value = "" if env_var.is_secret else env_var.value
    return EnvVarForm(initial={"name": name, "value": value, "secret": env_var.is_secret})


@console_page(change_role=Role.DEVELOPER)
def env_page(request: HttpRequest, principal: Principal) -> HttpResponse:
    if request.method != "POST":
        return _page(request, principal, _edit_form(request, principal))
    post = request.POST.copy()  # mutable, see below
    form = EnvVarForm(post)
    if form.is_valid():
        try:
            services.env_set(
                tenant=principal.tenant,
                name=form.cleaned_data["name"],
                value=form.cleaned_data["value"],
                secret=form.cleaned_data["secret"],
                actor=principal.actor,
            )
        except ServiceError as exc:
            form.add_error(exc.details.get("field") or None, exc.message)
        else:
            messages.success(request, f"Saved {form.cleaned_data['name']}.")
            return HttpResponseRedirect(reverse("console-env"))
    if post.get("secret"):
        # A refused secret is not echoed back into the page either; the errors
        # are already computed, only what the widget renders changes.
        post["value"] = ""
    return _page(request, principal, form)


@console_page(role=Role.DEVELOPER)
def env_delete_page(request: HttpRequest, principal: Principal, name: str) -> HttpResponse:
    env_var = tenant_object_or_404(selectors.env_var_for_tenant, tenant=principal.tenant, name=name)
    if request.method == "POST":
        services.env_delete(tenant=principal.tenant, name=name, actor=principal.actor)
        messages.success(request, f"Deleted {name}.")
        return HttpResponseRedirect(reverse("console-env"))
    context = {**admin_site.each_context(request), "title": f"Delete {name}?", "env_var": env_var}
    return render(request, "console/env_confirm_delete.html", context)
