"""Setting a tenant's hook secrets: write-only, audited, per tenant, rotated with the rest."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.audit.models import AuditEvent
from apps.core import crypto
from apps.hooks.models import HookSecret
from tests.conftest import Persona, assert_error
from tests.hooks.helpers import new_secret

pytestmark = pytest.mark.django_db

KIND = "supabase.before_user_created"
SECRET_PATH = f"/api/v1/hooks/{KIND}/secret"


def test_a_secret_is_stored_encrypted_and_never_shown(alice: Persona) -> None:
    secret = new_secret()
    response = alice.api().put(SECRET_PATH, {"secret": secret}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["secret_set"] is True
    assert response.json()["path"] == "/api/v1/hooks/supabase/acme/before-user-created"
    listed = alice.api().get("/api/v1/hooks")
    assert secret.encode() not in response.content + listed.content
    row = HookSecret.objects.get()
    assert secret not in row.encrypted_secret
    assert crypto.decrypt(row.encrypted_secret) == secret
    event = AuditEvent.objects.get(object_type="hook")
    assert (event.kind, event.object_id) == ("secret.set", KIND)
    assert secret not in str(event.details)


def test_the_list_shows_every_hook_and_which_have_secrets(alice: Persona) -> None:
    alice.api().put(SECRET_PATH, {"secret": new_secret()}, format="json")
    hooks = {hook["kind"]: hook for hook in alice.api().get("/api/v1/hooks").json()["results"]}
    assert hooks[KIND]["secret_set"] is True
    assert hooks["supabase.custom_access_token"]["secret_set"] is False


def test_an_unpadded_secret_is_taken(alice: Persona) -> None:
    secret = new_secret().rstrip("=")
    assert alice.api().put(SECRET_PATH, {"secret": secret}, format="json").status_code == 200


def test_several_secrets_may_be_joined_for_rotation(alice: Persona) -> None:
    joined = f"{new_secret()}|{new_secret()}"
    assert alice.api().put(SECRET_PATH, {"secret": joined}, format="json").status_code == 200


@pytest.mark.parametrize(
    "secret", ["", "whsec_", "v1,whsec_c2hvcnQ=", "plain-password-1234567890", 42, "v1,whsec_a"]
)
def test_malformed_secrets_are_refused(alice: Persona, secret: object) -> None:
    error = assert_error(
        alice.api().put(SECRET_PATH, {"secret": secret}, format="json"), 400, "invalid_request"
    )
    assert error["details"]["field"] == "secret"


def test_unknown_hooks_and_fields_are_refused(alice: Persona) -> None:
    assert_error(
        alice.api().put("/api/v1/hooks/okta.token/secret", {"secret": new_secret()}, format="json"),
        404,
        "not_found",
    )
    error = assert_error(
        alice.api().put(SECRET_PATH, {"secret": new_secret(), "x": 1}, format="json"),
        400,
        "invalid_request",
    )
    assert error["details"]["field"] == "x"


def test_viewers_cannot_set_a_secret(bob: Persona) -> None:
    client = bob.session()
    client.get("/api/v1/hooks")  # reading is fine
    response = bob.session().put(SECRET_PATH, {"secret": new_secret()}, format="json")
    assert response.status_code == 403
    assert not HookSecret.objects.exists()


def test_each_tenant_sees_and_sets_only_its_own(alice: Persona, charlie: Persona) -> None:
    alice.api().put(SECRET_PATH, {"secret": new_secret()}, format="json")
    hooks = charlie.api().get("/api/v1/hooks").json()["results"]
    assert all(not hook["secret_set"] for hook in hooks)
    assert all("/globex/" in hook["path"] for hook in hooks)
    charlie.api().put(SECRET_PATH, {"secret": new_secret()}, format="json")
    assert HookSecret.objects.filter(tenant=alice.tenant).count() == 1
    assert HookSecret.objects.count() == 2


def test_rotation_reencrypts_hook_secrets(alice: Persona, settings: object) -> None:
    secret = new_secret()
    alice.api().put(SECRET_PATH, {"secret": secret}, format="json")
    old_token = HookSecret.objects.get().encrypted_secret
    old_keys = crypto.configured_keys()
    settings.SECRETS_KEYS = [crypto.generate_key(), *old_keys]  # type: ignore[attr-defined]
    call_command("rotate_secrets")
    row = HookSecret.objects.get()
    assert row.encrypted_secret != old_token
    settings.SECRETS_KEYS = settings.SECRETS_KEYS[:1]  # type: ignore[attr-defined]
    assert crypto.decrypt(row.encrypted_secret) == secret
