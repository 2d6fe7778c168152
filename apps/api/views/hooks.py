"""/api/v1/hooks/: IdPs' own hook contracts (Supabase Auth, Ory Hydra) run through the
execute service, so each call is an ordinary recorded run with the hook as its caller;
and the tenant's hook secrets (write-only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.permissions import CanExecute, CanManage, principal_of
from apps.api.renderers import FastJSONRenderer
from apps.api.throttling import HookRateThrottle
from apps.core.errors import ServiceError
from apps.core.json_input import loads_storable
from apps.hooks import hydra, supabase
from apps.hooks.models import HookKind
from apps.hooks.selectors import hook_list
from apps.hooks.services import hook_delivery_once, hook_delivery_verify, hook_secret_set
from apps.runs.services import run_execute
from apps.tenants.models import Tenant


def _execute(
    request: Request,
    tenant: Tenant,
    trigger: str,
    user: dict[str, Any],
    context: dict[str, Any],
    caller: str,
) -> dict[str, Any]:
    outcome = run_execute(
        tenant=tenant,
        trigger=trigger,
        user=user,
        context=context,
        mode="sync",
        idempotency_key=None,
        caller=caller,
        client_ip=request.META.get("REMOTE_ADDR"),
    )
    return outcome.body


def _json(raw: bytes) -> Any:
    try:
        return loads_storable(raw)
    except ValueError as exc:
        raise ServiceError(f"JSON parse error - {exc}", details={"field": "body"}) from None


class _SupabaseHookView(APIView):
    """Signed with the tenant's Standard Webhooks secret instead of an API key."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []  # the signature is over the raw body
    renderer_classes = [FastJSONRenderer]
    throttle_classes = [HookRateThrottle]
    kind: HookKind

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, tenant_slug: str) -> Response:
        body = request.body
        tenant, webhook_id = hook_delivery_verify(
            tenant_slug=tenant_slug, kind=self.kind, body=body, headers=request.headers
        )
        with hook_delivery_once(tenant=tenant, webhook_id=webhook_id):
            return Response(self.answer(request, tenant, _json(body)))

    def answer(self, request: Request, tenant: Tenant, data: Any) -> dict[str, Any]:
        raise NotImplementedError


class SupabaseBeforeUserCreatedView(_SupabaseHookView):
    kind = HookKind.SUPABASE_BEFORE_USER_CREATED

    def answer(self, request: Request, tenant: Tenant, data: Any) -> dict[str, Any]:
        user, context = supabase.before_user_created_input(data)
        result = _execute(request, tenant, "PRE_REGISTER", user, context, "hook:supabase")
        return supabase.deny_answer(result) if result["decision"] == "deny" else {}


class SupabaseCustomAccessTokenView(_SupabaseHookView):
    kind = HookKind.SUPABASE_CUSTOM_ACCESS_TOKEN

    def answer(self, request: Request, tenant: Tenant, data: Any) -> dict[str, Any]:
        user, context, claims = supabase.custom_access_token_input(data)
        trigger = "PRE_OIDC_ACCESS_TOKEN_ISSUED"
        result = _execute(request, tenant, trigger, user, context, "hook:supabase")
        if result["decision"] == "deny":
            return supabase.deny_answer(result)
        return supabase.custom_access_token_answer(result, claims)


class HydraTokenHookView(APIView):
    """Hydra sends our API key itself (``oauth2.token_hook.auth``, an ``api_key`` in the
    Authorization header), so this is the execute scope's usual check."""

    permission_classes = [CanExecute]
    renderer_classes = [FastJSONRenderer]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        principal = principal_of(request)
        token = hydra.token_hook_input(request.data)
        caller = f"hook:hydra {principal.caller}"
        results = []
        for trigger in self._triggers(token):
            result = _execute(request, principal.tenant, trigger, token.user, token.context, caller)
            if result["decision"] == "deny":
                return _hydra_refusal(result)  # the token is refused: nothing more to run
            results.append(result)
        access = results[0]["access_token_claims"]
        id_token = results[1]["id_token_claims"] if len(results) > 1 else {}
        if not hydra.changed(access) and not hydra.changed(id_token):
            return Response(status=204)
        session = {
            "access_token": hydra.apply_claims(token.access_claims, access),
            "id_token": hydra.apply_claims(token.id_claims, id_token),
        }
        return Response({"session": session})

    @staticmethod
    def _triggers(token: hydra.TokenRequest) -> list[str]:
        triggers = ["PRE_OIDC_ACCESS_TOKEN_ISSUED"]
        if token.issues_id_token:
            triggers.append("PRE_OIDC_ID_TOKEN_ISSUED")
        return triggers


def _hydra_refusal(result: dict[str, Any]) -> Response:
    error = result.get("error") or {}
    details = {"run_id": result["run_id"], "function": error.get("function")}
    body = {
        "error": {
            "code": error.get("code") or "access_denied",
            "message": error.get("message") or "Access denied.",
            "details": details,
        }
    }
    return Response(body, status=403)


class HookListView(APIView):
    permission_classes = [CanManage]

    @extend_schema(operation_id="hooks_list", tags=["hooks"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"results": hook_list(tenant=principal_of(request).tenant), "next": None})


class HookSecretView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        operation_id="hooks_secret_set",
        tags=["hooks"],
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
    )
    def put(self, request: Request, kind: str) -> Response:
        principal = principal_of(request)
        data = request.data
        if not isinstance(data, dict) or set(data) - {"secret"}:
            unknown = sorted(set(data) - {"secret"}) if isinstance(data, dict) else []
            field = unknown[0] if unknown else "non_field_errors"
            raise ServiceError('Send {"secret": "v1,whsec_..."}.', details={"field": field})
        hook_secret_set(
            tenant=principal.tenant, kind=kind, secret=data.get("secret"), actor=principal.actor
        )
        shown = next(hook for hook in hook_list(tenant=principal.tenant) if hook["kind"] == kind)
        return Response(shown)
