import importlib

from django.apps import AppConfig

# The modules that register admin classes on the console's admin site, listed here so
# one place shows what the generated admin offers.
ADMIN_MODULES = ("admin_runs", "admin_secrets", "admin_tenants")


class ConsoleConfig(AppConfig):
    name = "apps.console"
    label = "console"
    verbose_name = "Console"

    def ready(self) -> None:
        for module in ADMIN_MODULES:
            importlib.import_module(f"{self.name}.{module}")
