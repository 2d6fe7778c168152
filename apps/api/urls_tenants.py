"""API routes for API keys and members (included by apps.api.urls under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.api.views.tenants import ApiKeyListView, ApiKeyRevokeView, MemberListView

urlpatterns: list[URLPattern | URLResolver] = [
    path("api-keys", ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/<str:prefix>/revoke", ApiKeyRevokeView.as_view(), name="api-key-revoke"),
    path("members", MemberListView.as_view(), name="member-list"),
]
