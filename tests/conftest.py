"""Personas shared by every test: alice (owner of acme), bob (viewer of acme),
dave (developer of acme) and charlie (owner of globex, the other tenant)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.core.actor import Actor
from apps.tenants.models import ALL_SCOPES, Role, Tenant
from genauth_pipeline.celery import app as celery_app

celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True


@dataclass
class Persona:
    user: Any
    tenant: Tenant
    key: str  # a raw API key with all scopes for the persona's tenant

    def api(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.key}")
        return client

    def session(self) -> APIClient:
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(self.user)
        return client


def make_persona(django_user_model: Any, username: str, tenant: Tenant, role: str) -> Persona:
    from apps.tenants.services import api_key_create, member_set

    user = django_user_model.objects.create_user(
        username=username, email=f"{username}@{tenant.slug}.test", password="correct horse 9"
    )
    member_set(tenant=tenant, username=username, role=role, actor=Actor.system())
    _, key = api_key_create(
        tenant=tenant, name=f"{username} key", scopes=ALL_SCOPES, actor=Actor.system()
    )
    return Persona(user=user, tenant=tenant, key=key)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """SQLite tests use a database file, not Django's default in-memory one.

    An in-memory database is one connection, which Django shares with the live server's
    threads; the browser's parallel requests then use it at the same time and fail at
    random ("bad parameter or other API misuse"). With a file each thread has its own
    connection, as in production.
    """
    from django.db import connections

    settings_dict = connections["default"].settings_dict
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        path = tmp_path_factory.mktemp("database") / "test.sqlite3"
        settings_dict.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def acme(db: None) -> Tenant:
    from apps.tenants.services import tenant_create

    return tenant_create(slug="acme", name="Acme")


@pytest.fixture
def globex(db: None) -> Tenant:
    from apps.tenants.services import tenant_create

    return tenant_create(slug="globex", name="Globex")


@pytest.fixture
def alice(django_user_model: Any, acme: Tenant) -> Persona:
    return make_persona(django_user_model, "alice", acme, Role.OWNER)


@pytest.fixture
def bob(django_user_model: Any, acme: Tenant) -> Persona:
    return make_persona(django_user_model, "bob", acme, Role.VIEWER)


@pytest.fixture
def dave(django_user_model: Any, acme: Tenant) -> Persona:
    return make_persona(django_user_model, "dave", acme, Role.DEVELOPER)


@pytest.fixture
def charlie(django_user_model: Any, globex: Tenant) -> Persona:
    return make_persona(django_user_model, "charlie", globex, Role.OWNER)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The SPEC §6 error shape, with the expected status and code."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


@pytest.fixture(scope="session", autouse=True)
def _stop_sandbox_pool() -> Any:
    yield
    runtime = sys.modules.get("apps.runtime")
    if runtime is not None and hasattr(runtime, "shutdown"):
        runtime.shutdown()
