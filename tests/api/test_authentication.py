"""API keys: every way to get authentication wrong gets the right status and shape."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from apps.api.permissions import CanExecute, CanManage, CanReadRuns
from apps.core.actor import Actor
from apps.tenants.models import ApiKey
from apps.tenants.services import api_key_create, api_key_revoke
from tests.conftest import Persona, assert_error

pytestmark = pytest.mark.django_db


def get_me(header: str | None) -> Any:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get("/api/v1/me")


def test_a_valid_key_reaches_its_own_tenant(alice: Persona) -> None:
    response = get_me(f"Bearer {alice.key}")
    assert response.status_code == 200
    assert response.json()["tenant"]["slug"] == "acme"
    assert response.json()["caller"] == f"key:{alice.key[:11]}"


def test_a_missing_key_is_401_with_a_bearer_challenge(alice: Persona) -> None:
    response = get_me(None)
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Bearer a b", "gp_only"])
def test_a_malformed_header_is_401(alice: Persona, header: str) -> None:
    assert_error(get_me(header), 401, "authentication_failed")


def test_a_wrong_key_is_401(alice: Persona) -> None:
    wrong = alice.key[:-4] + ("AAAA" if not alice.key.endswith("AAAA") else "BBBB")
    assert_error(get_me(f"Bearer {wrong}"), 401, "authentication_failed")
    assert_error(get_me("Bearer gp_" + "x" * 43), 401, "authentication_failed")


def test_a_revoked_key_is_401(alice: Persona) -> None:
    api_key = ApiKey.objects.get(prefix=alice.key[:11])
    api_key_revoke(api_key=api_key, actor=Actor.system())
    assert_error(get_me(f"Bearer {alice.key}"), 401, "authentication_failed")


def test_keys_are_never_stored_in_clear(alice: Persona) -> None:
    api_key = ApiKey.objects.get(prefix=alice.key[:11])
    stored = [
        str(value) for value in ApiKey.objects.filter(pk=api_key.pk).values().first().values()
    ]
    assert all(alice.key not in value for value in stored)
    assert api_key.hashed_key != alice.key and len(api_key.hashed_key) == 64


def test_keys_look_like_gp_and_32_url_safe_characters_or_more(alice: Persona) -> None:
    assert alice.key.startswith("gp_")
    assert len(alice.key) >= 35
    assert all(c.isalnum() or c in "-_" for c in alice.key[3:])


def test_last_used_is_recorded(alice: Persona) -> None:
    get_me(f"Bearer {alice.key}")
    assert ApiKey.objects.get(prefix=alice.key[:11]).last_used_at is not None


class _Probe(APIView):
    def get(self, request: Any) -> Response:
        return Response({"ok": True})

    post = get


@pytest.mark.parametrize(
    ("permission", "scopes", "method", "allowed"),
    [
        (CanExecute, ["execute"], "post", True),
        (CanExecute, ["runs:read"], "post", False),
        (CanReadRuns, ["runs:read"], "get", True),
        (CanReadRuns, ["manage"], "get", False),
        (CanManage, ["manage"], "post", True),
        (CanManage, ["execute", "runs:read"], "get", False),
        (CanManage, ["execute"], "post", False),
    ],
)
def test_scopes_decide_what_a_key_may_do(
    alice: Persona, permission: Any, scopes: list[str], method: str, allowed: bool
) -> None:
    _, key = api_key_create(tenant=alice.tenant, name="scoped", scopes=scopes, actor=Actor.system())
    view = _Probe.as_view(permission_classes=[permission])
    request = getattr(APIRequestFactory(), method)("/probe", HTTP_AUTHORIZATION=f"Bearer {key}")
    response = view(request)
    response.render()
    if allowed:
        assert response.status_code == 200
    else:
        assert_error(response, 403, "permission_denied")


def test_a_viewer_session_reads_but_cannot_write(bob: Persona) -> None:
    view = _Probe.as_view(permission_classes=[CanManage])
    factory = APIRequestFactory()
    for method, expected in (("get", 200), ("post", 403)):
        request = getattr(factory, method)("/probe")
        request.user = bob.user
        request.session = {}
        request._dont_enforce_csrf_checks = True
        response = view(request)
        assert response.status_code == expected


def test_session_writes_need_csrf(alice: Persona) -> None:
    client = alice.session()
    response = client.post("/api/v1/me", {}, format="json")
    assert_error(response, 403, "permission_denied")


def test_a_session_acts_on_the_members_tenant(charlie: Persona) -> None:
    client = charlie.session()
    body = client.get("/api/v1/me").json()
    assert body["tenant"]["slug"] == "globex"
    assert body["role"] == "owner"
