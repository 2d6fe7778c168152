import importlib
import pkgutil

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "apps.console"
    label = "console"
    verbose_name = "Console"

    def ready(self) -> None:
        # Each area registers its admin classes in its own ``admin_<area>`` module.
        package = importlib.import_module(self.name)
        for module in pkgutil.iter_modules(package.__path__):
            if module.name.startswith("admin_"):
                importlib.import_module(f"{self.name}.{module.name}")
