"""Console URLs for IdP hooks (mounted under /admin/)."""

from django.urls import URLPattern, URLResolver, path

from apps.console.views_hooks import hooks_page

urlpatterns: list[URLPattern | URLResolver] = [
    path("hooks/", hooks_page, name="console-hooks"),
]
