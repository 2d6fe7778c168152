from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class SecretsConfig(AppConfig):
    name = "apps.secrets"
    label = "secrets"
    verbose_name = "Env vars and secrets"

    def ready(self) -> None:
        from apps.core.crypto import check_keys

        # A bad key stops start-up here, like every other bad setting, instead of
        # failing the first login that runs a function needing a secret.
        try:
            check_keys()
        except ImproperlyConfigured as exc:
            raise SystemExit(f"Configuration error: {exc}") from None
