"""A publish checks the code in the sandbox (up to seconds) before it takes the database's
write lock: on SQLite an open write transaction holds up every execute's insert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

import apps.runtime as runtime
from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.pipelines import services
from apps.pipelines.models import Function, Release
from apps.tenants.models import Tenant
from tests.conftest import Persona
from tests.pipelines.conftest import tagging

# Without a transaction of its own per test: inside one, every check would see a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each code check: whether a transaction was open while it ran."""
    seen: list[bool] = []
    validate = runtime.validate_code

    def watched(code: str) -> Any:
        seen.append(transaction.get_connection().in_atomic_block)
        return validate(code)

    monkeypatch.setattr(runtime, "validate_code", watched)
    return seen


def test_publishing_checks_the_code_outside_any_transaction(
    acme: Tenant, make_function: Callable[..., Function], system: Actor, checks: list[bool]
) -> None:
    function = make_function(acme, code=tagging("v1"))
    services.function_publish(function=function, actor=system)
    services.function_publish(function=function, actor=system, code=tagging("v2"))
    assert checks == [False, False]
    assert Release.objects.filter(function=function).count() == 2


def test_creating_published_and_rolling_back_check_outside_any_transaction(
    acme: Tenant, make_function: Callable[..., Function], system: Actor, checks: list[bool]
) -> None:
    function = make_function(acme, code=tagging("v1"), publish=True)
    services.function_publish(function=function, actor=system, code=tagging("v2"))
    services.function_rollback(function=function, version=1, actor=system)
    assert checks == [False, False, False]


def test_the_publish_endpoint_checks_outside_any_transaction(
    alice: Persona, make_function: Callable[..., Function], checks: list[bool]
) -> None:
    function = make_function(alice.tenant, code=tagging("v1"))
    response = alice.api().post(f"/api/v1/functions/{function.pk}/publish", {}, format="json")
    assert response.status_code in (200, 201), response.content
    assert checks == [False]


def test_a_draft_saved_while_the_check_ran_is_checked_before_it_is_released(
    acme: Tenant,
    make_function: Callable[..., Function],
    system: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    function = make_function(acme, code=tagging("v1"))
    validate = runtime.validate_code
    checked: list[str] = []

    def racing(code: str) -> Any:
        if not checked:  # another editor saves broken code meanwhile
            Function.objects.filter(pk=function.pk).update(code="function pipe( {")
        checked.append(code)
        return validate(code)

    monkeypatch.setattr(runtime, "validate_code", racing)
    with pytest.raises(ServiceError) as refused:
        services.function_publish(function=function, actor=system)
    assert refused.value.code == "invalid_code"
    assert checked == [tagging("v1"), "function pipe( {"]
    assert not Release.objects.filter(function=function).exists()
