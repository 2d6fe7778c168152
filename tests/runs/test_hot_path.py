"""The execute hot path: what it reads and writes, and when its cache goes stale."""

from __future__ import annotations

from typing import Any

import pytest

from apps.runs.models import Run
from apps.runs.selectors import live_functions_for_trigger
from tests.conftest import Persona
from tests.runs.helpers import MARKS, add_function, allow, execute, release_code

pytestmark = pytest.mark.django_db


def test_a_warm_execute_makes_two_queries_the_key_lookup_and_the_insert(
    alice: Persona, django_assert_num_queries: Any
) -> None:
    for name in ("one", "two", "three"):
        add_function(alice.tenant, name, allow(name))
    execute(alice)  # warms this process's cache and the key's last_used_at
    with django_assert_num_queries(2):
        body = execute(alice).json()
    assert [step["status"] for step in body["steps"]] == ["ok", "ok", "ok"]


def test_the_cache_follows_the_tenants_config_version(alice: Persona) -> None:
    function = add_function(alice.tenant, "marks", MARKS % {"mark": "v1"})
    alice.tenant.refresh_from_db()
    first = live_functions_for_trigger(tenant=alice.tenant, trigger="PRE_REGISTER")
    assert live_functions_for_trigger(tenant=alice.tenant, trigger="PRE_REGISTER") is first
    release_code(function, MARKS % {"mark": "v2"})
    alice.tenant.refresh_from_db()
    fresh = live_functions_for_trigger(tenant=alice.tenant, trigger="PRE_REGISTER")
    assert [f.version for f in fresh] == [2]


def test_the_lean_insert_stores_what_the_orm_reads_back(alice: Persona) -> None:
    add_function(alice.tenant, "tagger", allow("tagger"))
    body = execute(alice, REMOTE_ADDR="2001:db8::1").json()
    run = Run.objects.get(id=body["run_id"])
    assert run.client_ip == "2001:db8::1"
    assert run.output["user"] == body["user"] and run.steps[0]["logs"] == body["steps"][0]["logs"]
    assert run.created_at.tzinfo is not None
    assert run.duration_ms == body["duration_ms"]
