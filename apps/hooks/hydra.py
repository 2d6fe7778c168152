"""Ory Hydra's token hook (``oauth2.token_hook``) in our terms (no Django here).

Hydra posts ``{"session": {"id_token": {"id_token_claims": {..., "ext": {}}, "subject",
"username"}, "extra": {}, ...}, "request": {"client_id", "granted_scopes",
"granted_audience", "grant_types", ...}}`` before it issues tokens. We run
PRE_OIDC_ACCESS_TOKEN_ISSUED, and PRE_OIDC_ID_TOKEN_ISSUED too when an ID token will be
issued (an end user and the ``openid`` scope). Hydra replaces the session's access token
claims (``extra``) and ID token claims (``ext``) with what we answer, so the answer holds
them whole: Hydra's, with the pipelines' removals and additions. No change answers 204;
a deny is a 403, which makes Hydra refuse the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.core.errors import ServiceError


@dataclass(frozen=True)
class TokenRequest:
    user: dict[str, Any]
    context: dict[str, Any]
    access_claims: dict[str, Any]
    id_claims: dict[str, Any]
    issues_id_token: bool


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def token_hook_input(data: Any) -> TokenRequest:
    if not isinstance(data, dict):
        raise ServiceError("The hook payload must be a JSON object.")
    request = data.get("request")
    if not isinstance(request, dict):
        raise ServiceError("'request' must be an object.", details={"field": "request"})
    session = _dict(data.get("session"))
    id_token = _dict(session.get("id_token"))
    id_claims = _dict(id_token.get("id_token_claims"))
    subject = id_token.get("subject") or id_claims.get("sub")
    scopes = _strings(request.get("granted_scopes"))
    context: dict[str, Any] = {
        "idp": "ory-hydra",
        "clientId": request.get("client_id"),
        "grantTypes": _strings(request.get("grant_types")),
        "scopes": scopes,
        "audience": _strings(request.get("granted_audience")),
    }
    user: dict[str, Any] = {}
    if isinstance(subject, str) and subject:
        user = {"id": subject}
        if id_token.get("username"):
            user["username"] = id_token["username"]
    else:
        # Machine to machine (client credentials), as SPEC §3 describes it.
        context["accessTokenTarget"] = "programmaticAccount"
    return TokenRequest(
        user=user,
        context=context,
        access_claims=_dict(session.get("extra")),
        id_claims=_dict(id_claims.get("ext")),
        issues_id_token=bool(user) and "openid" in scopes,
    )


def apply_claims(claims: dict[str, Any], change: Any) -> dict[str, Any]:
    change = _dict(change)
    updated = dict(claims)
    for name in _strings(change.get("remove")):
        updated.pop(name, None)
    updated.update(_dict(change.get("set")))
    return updated


def changed(change: Any) -> bool:
    change = _dict(change)
    return bool(change.get("set") or change.get("remove"))
