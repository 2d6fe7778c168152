"""Console URL for the runs dashboard (mounted under /admin/)."""

from django.urls import URLPattern, URLResolver, path

from apps.console.views_dashboard import dashboard_page

urlpatterns: list[URLPattern | URLResolver] = [
    path("dashboard/", dashboard_page, name="console-dashboard"),
]
