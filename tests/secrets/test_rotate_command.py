"""manage.py rotate_secrets: re-encrypts every secret with the newest key."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.core import crypto
from apps.core.actor import Actor
from apps.secrets.models import EnvVar
from apps.secrets.services import env_for_execution, env_set
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def test_rotation_with_two_keys_re_encrypts_every_secret_with_the_newest(
    acme: Tenant, globex: Tenant, settings: Any
) -> None:
    old, new = crypto.generate_key(), crypto.generate_key()
    settings.SECRETS_KEYS = [old]
    env_set(tenant=acme, name="ACME_SECRET", value="acme-secret-value", secret=True, actor=ACTOR)
    env_set(tenant=globex, name="GX_SECRET", value="globex-secret", secret=True, actor=ACTOR)
    env_set(tenant=acme, name="PLAIN", value="plain-value", secret=False, actor=ACTOR)
    before = dict(EnvVar.objects.values_list("name", "encrypted_value"))

    settings.SECRETS_KEYS = [new, old]
    # Before rotation, the old key's ciphertexts still decrypt.
    tenant = Tenant.objects.get(pk=acme.pk)
    tenant.config_version += 1000
    assert env_for_execution(tenant=tenant)[1] == {"ACME_SECRET": "acme-secret-value"}

    out = StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "Re-encrypted 2 secret(s)" in out.getvalue()
    after = dict(EnvVar.objects.values_list("name", "encrypted_value"))
    assert after["PLAIN"] == "" and after["ACME_SECRET"] != before["ACME_SECRET"]

    settings.SECRETS_KEYS = [new]  # the old key can now be dropped
    assert crypto.decrypt(after["ACME_SECRET"]) == "acme-secret-value"
    assert crypto.decrypt(after["GX_SECRET"]) == "globex-secret"


def test_rotation_changes_nothing_if_one_secret_cannot_be_decrypted(
    acme: Tenant, settings: Any
) -> None:
    lost, kept = crypto.generate_key(), crypto.generate_key()
    settings.SECRETS_KEYS = [lost]
    env_set(tenant=acme, name="LOST", value="lost-secret", secret=True, actor=ACTOR)
    settings.SECRETS_KEYS = [kept]
    env_set(tenant=acme, name="KEPT", value="kept-secret", secret=True, actor=ACTOR)
    before = dict(EnvVar.objects.values_list("name", "encrypted_value"))
    settings.SECRETS_KEYS = [crypto.generate_key(), kept]
    with pytest.raises(CommandError, match=r"acme/LOST.*nothing was changed"):
        call_command("rotate_secrets", stdout=StringIO())
    assert dict(EnvVar.objects.values_list("name", "encrypted_value")) == before
