"""API routes for runs and the configuration history (included by apps.api.urls under /api/v1/).

``pipelines/<trigger>/execute`` and ``pipelines/<trigger>/test`` are exact paths, so
they do not clash with the pipelines area's ``pipelines/<trigger>`` routes.
"""

from django.urls import URLPattern, URLResolver, path

from apps.api.views.audit import AuditEventListView, AuditEventUndoView
from apps.api.views.execute import ExecuteView, FunctionTestView, PipelineTestView
from apps.api.views.runs import RunDetailView, RunListView

urlpatterns: list[URLPattern | URLResolver] = [
    path("pipelines/<str:trigger>/execute", ExecuteView.as_view(), name="pipeline-execute"),
    path("pipelines/<str:trigger>/test", PipelineTestView.as_view(), name="pipeline-test"),
    path("functions/<str:function_id>/test", FunctionTestView.as_view(), name="function-test"),
    path("runs", RunListView.as_view(), name="run-list"),
    path("runs/<str:run_id>", RunDetailView.as_view(), name="run-detail"),
    path("audit-events", AuditEventListView.as_view(), name="audit-event-list"),
    path("audit-events/<str:event_id>/undo", AuditEventUndoView.as_view(), name="audit-event-undo"),
]
