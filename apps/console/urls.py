"""Console pages beyond the generated admin; each area adds a ``urls_<area>`` module."""

import importlib
import pkgutil

from django.urls import URLPattern, URLResolver, path

import apps.console as console_package
from apps.console.views_tenant import switch_tenant

urlpatterns: list[URLPattern | URLResolver] = [
    path("switch-tenant/", switch_tenant, name="console-switch-tenant"),
]

for _module in pkgutil.iter_modules(console_package.__path__):
    if _module.name.startswith("urls_"):
        urlpatterns += importlib.import_module(f"apps.console.{_module.name}").urlpatterns
