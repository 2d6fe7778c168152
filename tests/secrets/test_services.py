"""env_set / env_delete: validation, limits, audit without values, encryption at rest,
config_version bumps, and the cached reader executions use."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent, AuditKind
from apps.core import crypto
from apps.core.actor import Actor
from apps.core.errors import NotFound, ServiceError
from apps.secrets.models import EnvVar
from apps.secrets.services import (
    MAX_VALUE_BYTES,
    MAX_VARS_PER_TENANT,
    env_delete,
    env_for_execution,
    env_set,
)
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
SECRET = "sk_live_0123456789abcdef"


def fresh(tenant: Tenant) -> Tenant:
    return Tenant.objects.get(pk=tenant.pk)


def test_a_secret_is_stored_encrypted_and_never_in_clear(acme: Tenant) -> None:
    env_set(tenant=acme, name="STRIPE_KEY", value=SECRET, secret=True, actor=ACTOR)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM secrets_envvar")
        rows = cursor.fetchall()
    assert rows and SECRET not in repr(rows)
    stored = EnvVar.objects.get(name="STRIPE_KEY")
    assert stored.value == "" and crypto.decrypt(stored.encrypted_value) == SECRET


def test_plain_vars_and_secrets_reach_functions_and_only_secrets_are_redactable(
    acme: Tenant, globex: Tenant
) -> None:
    env_set(tenant=acme, name="REGION", value="eu-west", secret=False, actor=ACTOR)
    env_set(tenant=acme, name="STRIPE_KEY", value=SECRET, secret=True, actor=ACTOR)
    env_set(tenant=globex, name="REGION", value="us-east", secret=False, actor=ACTOR)
    env, secrets = env_for_execution(tenant=fresh(acme))
    assert env == {"REGION": "eu-west", "STRIPE_KEY": SECRET}
    assert secrets == {"STRIPE_KEY": SECRET}
    assert env_for_execution(tenant=fresh(globex)) == ({"REGION": "us-east"}, {})


def test_the_execution_reader_costs_one_query_then_none_until_a_change(acme: Tenant) -> None:
    env_set(tenant=acme, name="A_VAR", value="one", secret=False, actor=ACTOR)
    env_set(tenant=acme, name="B_SECRET", value="two-two", secret=True, actor=ACTOR)
    tenant = fresh(acme)
    tenant.config_version += 1000  # a version no earlier call cached
    with CaptureQueriesContext(connection) as first:
        env_for_execution(tenant=tenant)
    with CaptureQueriesContext(connection) as second:
        env, _ = env_for_execution(tenant=tenant)
    assert (len(first), len(second)) == (1, 0)
    env["A_VAR"] = "changed by a caller"
    assert env_for_execution(tenant=tenant)[0]["A_VAR"] == "one"


def test_a_change_is_visible_to_the_next_execution(acme: Tenant) -> None:
    env_set(tenant=acme, name="A_VAR", value="one", secret=False, actor=ACTOR)
    before = fresh(acme)
    assert env_for_execution(tenant=before)[0] == {"A_VAR": "one"}
    env_set(tenant=acme, name="A_VAR", value="two", secret=False, actor=ACTOR)
    after = fresh(acme)
    assert after.config_version > before.config_version
    assert env_for_execution(tenant=after)[0] == {"A_VAR": "two"}
    env_delete(tenant=acme, name="A_VAR", actor=ACTOR)
    assert env_for_execution(tenant=fresh(acme)) == ({}, {})


def test_every_change_bumps_the_config_version(acme: Tenant) -> None:
    versions = [fresh(acme).config_version]
    env_set(tenant=acme, name="X_VAR", value="1", secret=False, actor=ACTOR)
    versions.append(fresh(acme).config_version)
    env_set(tenant=acme, name="X_VAR", value="secret-1", secret=True, actor=ACTOR)
    versions.append(fresh(acme).config_version)
    env_delete(tenant=acme, name="X_VAR", actor=ACTOR)
    versions.append(fresh(acme).config_version)
    assert versions == sorted(set(versions)) and len(versions) == 4


def test_audit_events_name_the_var_but_never_hold_its_value(acme: Tenant) -> None:
    env_set(tenant=acme, name="REGION", value="eu-west-plain", secret=False, actor=ACTOR)
    env_set(tenant=acme, name="STRIPE_KEY", value=SECRET, secret=True, actor=ACTOR)
    env_delete(tenant=acme, name="STRIPE_KEY", actor=ACTOR)
    events = AuditEvent.objects.filter(tenant=acme, object_type="env_var").order_by("created_at")
    assert [(e.kind, e.object_id) for e in events] == [
        (AuditKind.ENV_SET, "REGION"),
        (AuditKind.SECRET_SET, "STRIPE_KEY"),
        (AuditKind.ENV_DELETED, "STRIPE_KEY"),
    ]
    dumped = json.dumps([e.details for e in events])
    assert SECRET not in dumped and "eu-west-plain" not in dumped
    assert all(e.actor == "test" for e in events)


def test_updating_a_secret_without_saying_secret_keeps_it_secret(acme: Tenant) -> None:
    env_set(tenant=acme, name="TOKEN", value="first-token", secret=True, actor=ACTOR)
    env_set(tenant=acme, name="TOKEN", value="second-token", secret=None, actor=ACTOR)
    stored = EnvVar.objects.get(name="TOKEN")
    assert stored.is_secret and crypto.decrypt(stored.encrypted_value) == "second-token"


def test_a_secret_can_become_plain_when_its_value_is_replaced(acme: Tenant) -> None:
    env_set(tenant=acme, name="TOKEN", value="first-token", secret=True, actor=ACTOR)
    env_set(tenant=acme, name="TOKEN", value="now-public", secret=False, actor=ACTOR)
    stored = EnvVar.objects.get(name="TOKEN")
    assert (stored.is_secret, stored.value, stored.encrypted_value) == (False, "now-public", "")


@pytest.mark.parametrize(
    "name", ["lower", "1STARTS_WITH_DIGIT", "HAS-DASH", "HAS SPACE", "", "A" * 65, "É", None, 5]
)
def test_invalid_names_are_refused_naming_the_field(acme: Tenant, name: Any) -> None:
    with pytest.raises(ServiceError) as caught:
        env_set(tenant=acme, name=name, value="v", secret=False, actor=ACTOR)
    assert caught.value.status == 400 and caught.value.details["field"] == "name"


@pytest.mark.parametrize("name", ["A", "_", "_PRIVATE", "API_KEY_2", "A" * 64])
def test_valid_names_are_accepted(acme: Tenant, name: str) -> None:
    assert env_set(tenant=acme, name=name, value="v", secret=False, actor=ACTOR).name == name


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        (None, False),
        (12, False),
        (["a"], True),
        ("x" * (MAX_VALUE_BYTES + 1), False),
        ("é" * (MAX_VALUE_BYTES // 2 + 1), True),  # the limit is in UTF-8 bytes
        ("nul\x00byte", False),
        ("abc", True),  # too short to be redacted
        ("", True),
    ],
)
def test_invalid_values_are_refused_naming_the_field(
    acme: Tenant, value: Any, secret: bool
) -> None:
    with pytest.raises(ServiceError) as caught:
        env_set(tenant=acme, name="A_VAR", value=value, secret=secret, actor=ACTOR)
    assert caught.value.status == 400 and caught.value.details["field"] == "value"
    assert not EnvVar.objects.exists()


def test_a_non_boolean_secret_flag_is_refused(acme: Tenant) -> None:
    with pytest.raises(ServiceError) as caught:
        env_set(tenant=acme, name="A_VAR", value="value", secret="yes", actor=ACTOR)  # type: ignore[arg-type]
    assert caught.value.details["field"] == "secret"


def test_values_at_the_limits_are_accepted(acme: Tenant) -> None:
    env_set(tenant=acme, name="BIG", value="x" * MAX_VALUE_BYTES, secret=True, actor=ACTOR)
    env_set(tenant=acme, name="EMPTY", value="", secret=False, actor=ACTOR)
    assert env_for_execution(tenant=fresh(acme))[0]["BIG"] == "x" * MAX_VALUE_BYTES


def test_a_tenant_may_hold_at_most_the_limit_of_vars(acme: Tenant, globex: Tenant) -> None:
    EnvVar.objects.bulk_create(
        EnvVar(tenant=acme, name=f"VAR_{n}", value="v") for n in range(MAX_VARS_PER_TENANT)
    )
    with pytest.raises(ServiceError, match="at most"):
        env_set(tenant=acme, name="ONE_MORE", value="v", secret=False, actor=ACTOR)
    env_set(tenant=acme, name="VAR_0", value="replacing is fine", secret=False, actor=ACTOR)
    env_set(tenant=globex, name="ONE_MORE", value="other tenant", secret=False, actor=ACTOR)


def test_deleting_an_unknown_or_other_tenants_var_is_not_found(
    acme: Tenant, globex: Tenant
) -> None:
    env_set(tenant=globex, name="GLOBEX_ONLY", value="v", secret=False, actor=ACTOR)
    with pytest.raises(NotFound):
        env_delete(tenant=acme, name="GLOBEX_ONLY", actor=ACTOR)
    assert EnvVar.objects.filter(name="GLOBEX_ONLY").exists()


def test_a_secret_no_key_decrypts_is_a_clear_unavailable_error(acme: Tenant, settings: Any) -> None:
    settings.SECRETS_KEYS = [crypto.generate_key()]
    env_set(tenant=acme, name="LOST", value="lost-secret", secret=True, actor=ACTOR)
    settings.SECRETS_KEYS = [crypto.generate_key()]
    tenant = fresh(acme)
    tenant.config_version += 1000
    with pytest.raises(ServiceError) as caught:
        env_for_execution(tenant=tenant)
    assert (caught.value.status, caught.value.code) == (503, "unavailable")
    assert "SECRETS_KEYS" in caught.value.message and "lost-secret" not in caught.value.message
