"""Console pages of the template gallery (mounted under /admin/)."""

from django.urls import URLPattern, URLResolver, path

from apps.console import views_gallery

urlpatterns: list[URLPattern | URLResolver] = [
    path("gallery/", views_gallery.gallery_page, name="console-gallery"),
    path("gallery/<slug:slug>/", views_gallery.gallery_detail, name="console-gallery-detail"),
    path("gallery/<slug:slug>/use/", views_gallery.gallery_use, name="console-gallery-use"),
]
