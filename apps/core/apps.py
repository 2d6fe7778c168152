from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        # Hand the sandbox its settings. This starts nothing: worker processes are spawned
        # on first use, after any fork (gunicorn, Celery prefork), never before.
        from django.conf import settings

        from apps import runtime

        runtime.configure(settings.SANDBOX)
