"""API routes for pipelines, functions and releases (included under /api/v1/).

The test endpoints (``pipelines/<trigger>/test``, ``functions/<id>/test``) live in
``urls_runs``: the patterns here match whole segments, so they never shadow them.
"""

from django.urls import URLPattern, URLResolver, path

from apps.api.views import pipelines as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("pipelines", views.PipelineListView.as_view(), name="pipelines"),
    path("pipelines/<str:trigger>", views.PipelineDetailView.as_view(), name="pipeline"),
    path(
        "pipelines/<str:trigger>/order",
        views.PipelineOrderView.as_view(),
        name="pipeline-order",
    ),
    path("functions", views.FunctionCreateView.as_view(), name="functions"),
    path("functions/<str:function_id>", views.FunctionDetailView.as_view(), name="function"),
    path(
        "functions/<str:function_id>/publish",
        views.FunctionPublishView.as_view(),
        name="function-publish",
    ),
    path(
        "functions/<str:function_id>/rollback",
        views.FunctionRollbackView.as_view(),
        name="function-rollback",
    ),
    path(
        "functions/<str:function_id>/versions",
        views.FunctionVersionsView.as_view(),
        name="function-versions",
    ),
    path(
        "functions/<str:function_id>/versions/<int:version>",
        views.FunctionVersionView.as_view(),
        name="function-version",
    ),
]
