from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views import defaults
from django.views.generic import RedirectView

from apps.api.errors import error_response
from apps.api.views.fallback import api_not_found, api_server_error
from apps.api.views.health import healthz, readyz
from apps.console.admin_site import admin_site
from apps.console.views_errors import console_error_page

urlpatterns = [
    # The root is where a person lands from `make run`'s address: the console.
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="root"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/", include("apps.api.urls")),
    path("admin/", include("apps.console.urls")),
    # The configuration history's address before the audit app had its own (bookmarks).
    re_path(
        r"^admin/runs/auditevent/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/audit/auditevent/%(rest)s", query_string=True),
    ),
    path("admin/", admin_site.urls),
]


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return error_response(400, "invalid_request", "The request is malformed.")
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return error_response(403, "permission_denied", "You do not have permission to do this.")
    return console_error_page(request, 403)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return console_error_page(request, 404)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return defaults.server_error(request)
