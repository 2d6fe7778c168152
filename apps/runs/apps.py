from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "apps.runs"
    label = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        # Registers the tasks in every process, the web's included: services enqueue them by
        # name, and an eager configuration can only run a task it knows.
        from apps.runs import tasks  # noqa: F401
