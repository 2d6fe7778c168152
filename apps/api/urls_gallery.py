"""API routes for the template gallery (included by apps.api.urls under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.api.views import gallery as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("templates", views.TemplateListView.as_view(), name="templates"),
    path("templates/<slug:slug>", views.TemplateDetailView.as_view(), name="template"),
    path(
        "templates/<slug:slug>/instantiate",
        views.TemplateInstantiateView.as_view(),
        name="template-instantiate",
    ),
]
