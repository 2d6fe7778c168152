"""Console pages for pipelines and the function editor (mounted under /admin/)."""

from django.urls import URLPattern, URLResolver, path

from apps.console import views_editor

urlpatterns: list[URLPattern | URLResolver] = [
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
]
