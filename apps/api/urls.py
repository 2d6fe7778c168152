"""/api/v1/: each area keeps its routes in its own module."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.api.views.fallback import api_not_found
from apps.api.views.me import MeView

app_name = "api"

urlpatterns = [
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("v1/me", MeView.as_view(), name="me"),
    path("v1/", include("apps.api.urls_pipelines")),
    path("v1/", include("apps.api.urls_runs")),
    path("v1/", include("apps.api.urls_gallery")),
    path("v1/", include("apps.api.urls_env")),
    path("v1/", include("apps.api.urls_tenants")),
    path("v1/", include("apps.api.urls_hooks")),
    re_path(r"^.*$", api_not_found),
]
