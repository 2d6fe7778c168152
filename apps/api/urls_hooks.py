"""API routes for native IdP hooks and their secrets (included under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.api.views import hooks as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("hooks", views.HookListView.as_view(), name="hooks"),
    path("hooks/<str:kind>/secret", views.HookSecretView.as_view(), name="hook-secret"),
    path(
        "hooks/supabase/<slug:tenant_slug>/before-user-created",
        views.SupabaseBeforeUserCreatedView.as_view(),
        name="hook-supabase-before-user-created",
    ),
    path(
        "hooks/supabase/<slug:tenant_slug>/custom-access-token",
        views.SupabaseCustomAccessTokenView.as_view(),
        name="hook-supabase-custom-access-token",
    ),
    path("hooks/hydra/token", views.HydraTokenHookView.as_view(), name="hook-hydra-token"),
]
