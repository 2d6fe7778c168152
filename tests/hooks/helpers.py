"""Signed deliveries, as Supabase Auth sends them, made with the standardwebhooks library."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

from apps.core.actor import Actor
from apps.hooks.services import hook_secret_set
from apps.tenants.models import Tenant

BEFORE_USER_CREATED = "/api/v1/hooks/supabase/{slug}/before-user-created"
CUSTOM_ACCESS_TOKEN = "/api/v1/hooks/supabase/{slug}/custom-access-token"


def new_secret() -> str:
    """A secret in the form Supabase's dashboard shows it."""
    return "v1,whsec_" + base64.b64encode(os.urandom(32)).decode()


def give_secret(tenant: Tenant, kind: str) -> str:
    secret = new_secret()
    hook_secret_set(tenant=tenant, kind=kind, secret=secret, actor=Actor.system())
    return secret


def signed_headers(
    secret: str, body: str, *, webhook_id: str | None = None, age: timedelta = timedelta(0)
) -> dict[str, str]:
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    moment = datetime.now(tz=UTC) - age
    signature = Webhook(secret.removeprefix("v1,")).sign(webhook_id, moment, body)
    return {
        "HTTP_WEBHOOK_ID": webhook_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(moment.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }


def deliver(client: Any, path: str, secret: str, payload: Any, **options: Any) -> Any:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(
        path, body, content_type="application/json", **signed_headers(secret, body, **options)
    )


# Supabase's documented example payloads.
def before_user_created_payload(email: str = "valid.email@supabase.com") -> dict[str, Any]:
    return {
        "metadata": {
            "uuid": "8b34dcdd-9df1-4c10-850a-b3277c653040",
            "time": "2025-04-29T13:13:24.755552-07:00",
            "name": "before-user-created",
            "ip_address": "127.0.0.1",
        },
        "user": {
            "id": "ff7fc9ae-3b1b-4642-9241-64adb9848a03",
            "aud": "authenticated",
            "role": "",
            "email": email,
            "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {},
            "identities": [],
            "created_at": "0001-01-01T00:00:00Z",
            "updated_at": "0001-01-01T00:00:00Z",
            "is_anonymous": False,
        },
    }


def custom_access_token_payload() -> dict[str, Any]:
    return {
        "user_id": "8ccaa7af-909f-44e7-84cb-67cdccb56be6",
        "claims": {
            "aud": "authenticated",
            "exp": 1715690221,
            "iat": 1715686621,
            "sub": "8ccaa7af-909f-44e7-84cb-67cdccb56be6",
            "email": "",
            "phone": "",
            "app_metadata": {},
            "user_metadata": {},
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{"method": "anonymous", "timestamp": 1715686621}],
            "session_id": "4b938a09-5372-4177-a314-cfa292099ea2",
            "is_anonymous": True,
            "client_id": "oauth-client-id-if-oauth-flow",
        },
        "authentication_method": "anonymous",
    }
