"""Code samples and a function factory shared by the pipelines tests."""

from __future__ import annotations

from typing import Any

import pytest

from apps.core.actor import Actor
from apps.pipelines import services
from apps.pipelines.models import Function
from apps.tenants.models import Tenant

ALLOW = "async function pipe(user, context, callback) {\n  callback(null, user, context);\n}\n"
DENY = (
    "async function pipe(user, context, callback) {\n"
    '  callback(new Error("Registrations are closed"));\n'
    "}\n"
)


def tagging(tag: str) -> str:
    """Code that allows and records which version ran as custom data."""
    return (
        "async function pipe(user, context, callback) {\n"
        f'  user.addCustomData("ran", "{tag}");\n'
        "  callback(null, user, context);\n"
        "}\n"
    )


@pytest.fixture
def system() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def make_function(system: Actor) -> Any:
    def make(
        tenant: Tenant, name: str = "check", trigger: str = "PRE_REGISTER", **kwargs: Any
    ) -> Function:
        kwargs.setdefault("code", ALLOW)
        return services.function_create(
            tenant=tenant, trigger=trigger, name=name, actor=system, **kwargs
        )

    return make
