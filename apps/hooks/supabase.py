"""Supabase Auth's HTTP hooks in our terms, and our answers in theirs (no Django here).

Before User Created: ``{"metadata": {uuid, time, name, ip_address}, "user": {...}}``
runs PRE_REGISTER; an allow answers ``{}``, a deny
``{"error": {"http_code": 403, "message": ...}}`` with HTTP 200, the one answer
Supabase Auth passes on to the person signing up (it turns a 400 into "Invalid payload
sent to hook").

Custom Access Token: ``{"user_id", "claims", "authentication_method"}`` runs
PRE_OIDC_ACCESS_TOKEN_ISSUED; an allow answers ``{"claims": ...}`` with the claims the
functions set and removed, a deny the same error object.
"""

from __future__ import annotations

from typing import Any

from apps.core.errors import ServiceError

# Supabase Auth refuses a token without these, so removals never touch them.
SUPABASE_REQUIRED_CLAIMS = frozenset(
    {
        "iss",
        "aud",
        "exp",
        "iat",
        "sub",
        "role",
        "aal",
        "session_id",
        "email",
        "phone",
        "is_anonymous",
    }
)
_USER_CLAIMS = ("email", "phone", "role", "app_metadata", "user_metadata", "is_anonymous")


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(message, details={"field": field})


def _object(payload: dict[str, Any], field: str) -> dict[str, Any]:
    value = payload.get(field)
    if not isinstance(value, dict):
        raise _invalid(field, f"'{field}' must be an object.")
    return value


def _payload(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _invalid("non_field_errors", "The hook payload must be a JSON object.")
    return data


def before_user_created_input(data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(user, context) for PRE_REGISTER: the user record as Supabase sends it."""
    payload = _payload(data)
    user = _object(payload, "user")
    metadata = payload.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    app_metadata = user.get("app_metadata")
    context: dict[str, Any] = {
        "idp": "supabase",
        "hook": "before-user-created",
        "ip": metadata.get("ip_address"),
        "requestId": metadata.get("uuid"),
        "provider": app_metadata.get("provider") if isinstance(app_metadata, dict) else None,
    }
    return user, {key: value for key, value in context.items() if value is not None}


def custom_access_token_input(data: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(user, context, claims) for PRE_OIDC_ACCESS_TOKEN_ISSUED."""
    payload = _payload(data)
    user_id = payload.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise _invalid("user_id", "'user_id' must be a non-empty string.")
    claims = _object(payload, "claims")
    method = payload.get("authentication_method")
    user = {"id": user_id, **{key: claims[key] for key in _USER_CLAIMS if key in claims}}
    context: dict[str, Any] = {
        "idp": "supabase",
        "hook": "custom-access-token",
        "authenticationMethod": method if isinstance(method, str) else None,
        "clientId": claims.get("client_id"),
        "claims": claims,
    }
    return user, {key: value for key, value in context.items() if value is not None}, claims


def deny_answer(result: dict[str, Any]) -> dict[str, Any]:
    error = result.get("error") or {}
    return {"error": {"http_code": 403, "message": error.get("message") or "Access denied."}}


def custom_access_token_answer(result: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    """The claims with the pipeline's removals (never a required claim) and additions."""
    change = result.get("access_token_claims") or {}
    updated = dict(claims)
    for name in change.get("remove") or ():
        if name not in SUPABASE_REQUIRED_CLAIMS:
            updated.pop(name, None)
    updated.update(change.get("set") or {})
    return {"claims": updated}
