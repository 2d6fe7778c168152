from django.apps import AppConfig


class SecretsConfig(AppConfig):
    name = "apps.secrets"
    label = "secrets"
    verbose_name = "Env vars and secrets"
