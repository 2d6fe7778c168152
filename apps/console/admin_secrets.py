"""Lists "Env vars" on the console index; the page itself is the custom /admin/env/ view.

The generated change form is not offered: it would expose the encrypted column and
bypass the service that audits changes and invalidates caches.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from apps.console.admin_site import admin_site
from apps.console.scoping import ReadOnlyTenantAdmin
from apps.secrets.models import EnvVar


@admin.register(EnvVar, site=admin_site)
class EnvVarAdmin(ReadOnlyTenantAdmin):
    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.redirect_to_page)
        return [path("", view, name="{}_{}_changelist".format(*info))]

    def redirect_to_page(self, request: HttpRequest, *args: Any) -> HttpResponse:
        return HttpResponseRedirect(reverse("console-env"))
