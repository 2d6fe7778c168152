from django.apps import AppConfig
from django.db.models.signals import post_migrate


class GalleryConfig(AppConfig):
    name = "apps.gallery"
    label = "gallery"
    verbose_name = "Template gallery"

    def ready(self) -> None:
        from apps.gallery.signals import sync_after_migrate

        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="gallery_sync")
