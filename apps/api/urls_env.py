"""API routes for env (included by apps.api.urls under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.api.views.env import EnvDetailView, EnvListView

urlpatterns: list[URLPattern | URLResolver] = [
    path("env", EnvListView.as_view(), name="env-list"),
    path("env/<str:name>", EnvDetailView.as_view(), name="env-detail"),
]
