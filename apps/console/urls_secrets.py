"""Console URLs for env vars and secrets (mounted under /admin/)."""

from django.urls import URLPattern, URLResolver, path

from apps.console.views_secrets import env_delete_page, env_page

urlpatterns: list[URLPattern | URLResolver] = [
    path("env/", env_page, name="console-env"),
    path("env/<str:name>/delete/", env_delete_page, name="console-env-delete"),
]
