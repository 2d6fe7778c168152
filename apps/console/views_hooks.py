"""Console page for IdP hooks: /admin/hooks/ (their URLs, and write-only secrets)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from apps.console.admin_site import admin_site
from apps.console.pages import console_page
from apps.console.scoping import role_reaches
from apps.core.errors import ServiceError
from apps.hooks.models import HookKind
from apps.hooks.selectors import hook_list
from apps.hooks.services import hook_secret_set
from apps.tenants.access import Principal
from apps.tenants.models import Role


class HookSecretForm(forms.Form):
    kind = forms.ChoiceField(choices=HookKind.choices, label="Hook")
    secret = forms.CharField(
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="As the IdP shows it: v1,whsec_... (several joined with |).",
    )


def _page(request: HttpRequest, principal: Principal, form: HookSecretForm) -> HttpResponse:
    hooks = [
        {**hook, "url": request.build_absolute_uri(hook["path"])}
        for hook in hook_list(tenant=principal.tenant)
    ]
    context: dict[str, Any] = {
        **admin_site.each_context(request),
        "title": "IdP hooks",
        "hooks": hooks,
        "hydra_url": request.build_absolute_uri(reverse("api:hook-hydra-token")),
        "form": form,
        "can_write": role_reaches(principal, Role.DEVELOPER),
    }
    return render(request, "console/hooks.html", context)


@console_page(change_role=Role.DEVELOPER)
def hooks_page(request: HttpRequest, principal: Principal) -> HttpResponse:
    if request.method != "POST":
        return _page(request, principal, HookSecretForm())
    form = HookSecretForm(request.POST)
    if form.is_valid():
        kind = form.cleaned_data["kind"]
        try:
            hook_secret_set(
                tenant=principal.tenant,
                kind=kind,
                secret=form.cleaned_data["secret"],
                actor=principal.actor,
            )
        except ServiceError as exc:
            form.add_error("secret", exc.message)
        else:
            messages.success(request, f"Saved the secret of {HookKind(kind).label}.")
            return HttpResponseRedirect(reverse("console-hooks"))
    return _page(request, principal, form)
