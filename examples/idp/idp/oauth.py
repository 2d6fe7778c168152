"""django-oauth-toolkit asking the pipeline before it issues tokens.

When an authorization code is exchanged, PRE_OIDC_ACCESS_TOKEN_ISSUED runs, and
PRE_OIDC_ID_TOKEN_ISSUED too for the ``openid`` scope; a deny refuses the exchange with
``access_denied`` and the function's message. The claims they set or removed are applied
to the ID token DOT signs and to the access token, a JWT signed with the same key.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from jwcrypto import jwk
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749.errors import AccessDeniedError

from idp.pipeline import pipeline, request_context, user_data


def _refuse_if_denied(result: Any) -> None:
    if result.denied:
        raise AccessDeniedError(description=result.message)


class PipelineOAuth2Validator(OAuth2Validator):
    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        user = user_data(request.user)
        context = request_context(None, protocol="oidc", clientId=client_id, scopes=request.scopes)
        request.pipeline_access = pipeline().execute("PRE_OIDC_ACCESS_TOKEN_ISSUED", user, context)
        _refuse_if_denied(request.pipeline_access)
        if "openid" in request.scopes:
            request.pipeline_id = pipeline().execute("PRE_OIDC_ID_TOKEN_ISSUED", user, context)
            _refuse_if_denied(request.pipeline_id)
        return True

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        return {"email": request.user.email, "preferred_username": request.user.get_username()}

    def get_id_token_dictionary(self, token: Any, token_handler: Any, request: Any) -> Any:
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        result = getattr(request, "pipeline_id", None)
        if result is not None:
            claims = result.apply_id_token_claims(claims)
        return claims, expiration_time


def signed_access_token(request: Any) -> str:
    """A JWT access token (RS256, the OIDC key) carrying the pipeline's claims."""
    now = int(time.time())
    user = getattr(request, "user", None)
    claims: dict[str, Any] = {
        "iss": oauth2_settings.oidc_issuer(request),
        "sub": str(user.pk) if user is not None else request.client_id,
        "client_id": request.client_id,
        "scope": " ".join(request.scopes or []),
        "iat": now,
        "exp": now + oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    result = getattr(request, "pipeline_access", None)
    if result is not None:
        claims = result.apply_access_token_claims(claims)
    pem = oauth2_settings.OIDC_RSA_PRIVATE_KEY
    kid = jwk.JWK.from_pem(pem.encode()).thumbprint()
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})
