from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        # Hand the sandbox its settings. This starts nothing: worker processes are spawned
        # on first use, after any fork (gunicorn, Celery prefork), never before.
        from django.conf import settings

        from apps import runtime

        runtime.configure(
            workers=settings.SANDBOX_WORKERS or None,
            fresh_isolate_per_run=settings.SANDBOX_FRESH_ISOLATE_PER_RUN,
            heap_mb=settings.SANDBOX_HEAP_MB,
            worker_rss_limit_mb=settings.SANDBOX_WORKER_RSS_MB,
            warm_memory_mb=settings.SANDBOX_WARM_MEMORY_MB,
            max_runs_per_worker=settings.SANDBOX_RUNS_PER_WORKER,
            http_allow=settings.SANDBOX_HTTP_ALLOW,
        )
