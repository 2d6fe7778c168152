"""The reference IdP end to end in Django's test client: sign-up and login refused with the
pipeline's message, custom data saved, and the authorization-code flow issuing an ID token
(verified with the provider's JWKS) and an access token that carry the pipeline's claims."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from oauth2_provider.models import Application

from idp.models import Profile

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery 9"
REDIRECT = "http://rp.test/callback"


def sign_up(client: Client, username: str, email: str) -> Any:
    return client.post(
        "/accounts/signup/",
        {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def test_a_refused_sign_up_shows_the_pipelines_message(fake_pipeline: list[Any]) -> None:
    response = sign_up(Client(), "eve", "eve@evil.test")
    assert response.status_code == 200
    assert "Sign-ups from evil.test are closed." in response.content.decode()
    assert not get_user_model().objects.exists()
    assert [trigger for trigger, _ in fake_pipeline] == ["PRE_REGISTER"]


def test_a_sign_up_saves_the_custom_data_and_reports_after(fake_pipeline: list[Any]) -> None:
    response = sign_up(Client(), "ann", "ann@example.com")
    assert response.status_code == 302
    user = get_user_model().objects.get(username="ann")
    assert Profile.objects.get(user=user).custom_data == {"plan": "free"}
    triggers = [trigger for trigger, _ in fake_pipeline]
    assert triggers[0] == "PRE_REGISTER" and "POST_REGISTER" in triggers
    assert fake_pipeline[0][1]["user"] == {"email": "ann@example.com", "username": "ann"}


def test_a_refused_login_shows_the_pipelines_message(fake_pipeline: list[Any]) -> None:
    get_user_model().objects.create_user("mallory", "m@example.com", PASSWORD)
    browser = Client()
    response = browser.post("/accounts/login/", {"login": "mallory", "password": PASSWORD})
    assert response.status_code == 200
    assert "This account is suspended." in response.content.decode()
    assert "_auth_user_id" not in browser.session


def exchange_code(username: str) -> Any:
    """Logs ``username`` in, runs the authorization-code flow with PKCE, returns /o/token/'s answer."""
    get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)
    Application.objects.create(
        name="relying party",
        client_id="rp",
        client_secret="rp-secret-0123456789",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    browser = Client()
    login = browser.post("/accounts/login/", {"login": username, "password": PASSWORD})
    assert login.status_code == 302
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    authorize = browser.get(
        "/o/authorize/",
        {
            "response_type": "code",
            "client_id": "rp",
            "redirect_uri": REDIRECT,
            "scope": "openid email",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            "nonce": "n-1",
        },
    )
    assert authorize.status_code == 302, authorize.content[:500]
    code = parse_qs(urlparse(authorize["Location"]).query)["code"][0]
    return Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "rp",
            "client_secret": "rp-secret-0123456789",
            "code_verifier": verifier,
        },
    )


def test_the_tokens_carry_the_pipelines_claims(fake_pipeline: list[Any]) -> None:
    token = exchange_code("ann")
    assert token.status_code == 200, token.content
    tokens = token.json()
    keys = jwt.PyJWKSet.from_dict(Client().get("/o/.well-known/jwks.json").json())
    id_token = _verified(tokens["id_token"], keys, audience="rp")
    assert id_token["https://acme.test/plan"] == "gold"
    user = get_user_model().objects.get(username="ann")
    assert id_token["sub"] == str(user.pk) and id_token["nonce"] == "n-1"
    access = _verified(tokens["access_token"], keys)
    assert access["tier"] == "gold" and access["client_id"] == "rp"
    triggers = [trigger for trigger, _ in fake_pipeline]
    assert "PRE_OIDC_ACCESS_TOKEN_ISSUED" in triggers and "PRE_OIDC_ID_TOKEN_ISSUED" in triggers


def test_a_refused_token_is_an_access_denied_with_the_message(fake_pipeline: list[Any]) -> None:
    token = exchange_code("frozen")
    assert token.status_code in (400, 401, 403)
    assert token.json() == {
        "error": "access_denied",
        "error_description": "Tokens for this account are frozen.",
    }


def _verified(token: str, keys: Any, audience: str | None = None) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(key for key in keys.keys if key.key_id == kid)
    options = {} if audience else {"verify_aud": False}
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, options=options)
