"""Every console page beyond the generated admin, mounted under /admin/.

The generated admin's own URLs (runs, configuration history, API keys, members, ...) come
from the admin classes that ``apps.console.apps`` registers on ``admin_site``.
"""

from django.urls import URLPattern, URLResolver, path

from apps.console import views_editor, views_gallery
from apps.console.views_dashboard import dashboard_page
from apps.console.views_hooks import hooks_page
from apps.console.views_secrets import env_delete_page, env_page
from apps.console.views_tenant import switch_tenant

urlpatterns: list[URLPattern | URLResolver] = [
    path("switch-tenant/", switch_tenant, name="console-switch-tenant"),
    # Runs dashboard
    path("dashboard/", dashboard_page, name="console-dashboard"),
    # Pipelines and the function editor
    path("pipelines/", views_editor.pipelines_page, name="console-pipelines"),
    path("functions/new/", views_editor.function_new, name="console-function-new"),
    path(
        "functions/<str:function_id>/",
        views_editor.function_editor,
        name="console-function-editor",
    ),
    path(
        "functions/<str:function_id>/test-payload/",
        views_editor.function_test_payload,
        name="console-function-test-payload",
    ),
    # Template gallery
    path("gallery/", views_gallery.gallery_page, name="console-gallery"),
    path("gallery/<slug:slug>/", views_gallery.gallery_detail, name="console-gallery-detail"),
    path("gallery/<slug:slug>/use/", views_gallery.gallery_use, name="console-gallery-use"),
    # IdP hooks
    path("hooks/", hooks_page, name="console-hooks"),
    # Env vars and secrets
    path("env/", env_page, name="console-env"),
    path("env/<str:name>/delete/", env_delete_page, name="console-env-delete"),
]
