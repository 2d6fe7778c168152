from django.apps import AppConfig


class IdpConfig(AppConfig):
    name = "idp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from idp import signals  # noqa: F401  (connects the advisory triggers)
