from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.tenants.models import ApiKey, Tenant

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_create_tenant_prints_a_working_key_once() -> None:
    key = run("create_tenant", "initech", "--name", "Initech")
    tenant = Tenant.objects.get(slug="initech")
    assert tenant.name == "Initech"
    api_key = ApiKey.objects.get(tenant=tenant)
    assert key.startswith(api_key.prefix)
    assert sorted(api_key.scopes) == ["execute", "manage", "runs:read"]


def test_create_tenant_refuses_a_duplicate_or_bad_slug() -> None:
    run("create_tenant", "initech")
    with pytest.raises(CommandError, match="already exists"):
        run("create_tenant", "initech")
    with pytest.raises(CommandError):
        run("create_tenant", "Not A Slug")


def test_create_api_key_with_scopes_and_revoke_it() -> None:
    run("create_tenant", "initech")
    key = run("create_api_key", "initech", "--scopes", "execute", "--name", "idp")
    api_key = ApiKey.objects.get(prefix=key[:11])
    assert api_key.scopes == ["execute"] and api_key.name == "idp"
    run("revoke_api_key", key[:11])
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_create_api_key_rejects_unknown_scopes_and_tenants() -> None:
    run("create_tenant", "initech")
    with pytest.raises(CommandError, match="Scopes"):
        run("create_api_key", "initech", "--scopes", "root")
    with pytest.raises(CommandError, match="No tenant"):
        run("create_api_key", "nobody")
    with pytest.raises(CommandError, match="No API key"):
        run("revoke_api_key", "gp_missing1")


def test_seed_demo_prints_the_password_once() -> None:
    first = run("seed_demo")
    assert "password:" in first
    assert Tenant.objects.filter(slug="acme").exists()
    second = run("seed_demo")
    assert "password" not in second


def test_seed_demo_prints_no_broker_hostname_warning(caplog: pytest.LogCaptureFixture) -> None:
    run("seed_demo")
    assert not [r for r in caplog.records if "No hostname" in r.getMessage()]


def test_seed_demo_names_the_port_the_console_is_served_on() -> None:
    assert "http://127.0.0.1:9123/admin/" in run("seed_demo", "--port", "9123")
