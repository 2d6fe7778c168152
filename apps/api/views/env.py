"""/api/v1/env: tenant env vars and write-only secrets (SPEC §6)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.permissions import CanManage, principal_of
from apps.core.errors import ServiceError
from apps.secrets import selectors, services
from apps.secrets.models import EnvVar


class EnvVarSerializer(serializers.Serializer):
    """Documentation of the response shape; ``env_var_data`` builds it."""

    name = serializers.CharField()
    secret = serializers.BooleanField()
    value = serializers.CharField(help_text="The value of a plain var; a mask for a secret.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField()


class EnvVarListSerializer(serializers.Serializer):
    results = EnvVarSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class EnvVarSetSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="At most 8 KB; a secret needs 4 characters or more.")
    secret = serializers.BooleanField(
        required=False, help_text="Default: the existing var's kind, else false."
    )


_ALLOWED_FIELDS = {"value", "secret"}


def env_var_data(env_var: EnvVar) -> dict[str, Any]:
    return {
        "name": env_var.name,
        "secret": env_var.is_secret,
        "value": selectors.env_shown_value(env_var),
        "created_at": env_var.created_at.isoformat(),
        "updated_at": env_var.updated_at.isoformat(),
        "updated_by": env_var.updated_by,
    }


def _set_request(data: Any) -> tuple[Any, bool | None]:
    """(value, secret) from the body; types are checked by the service."""
    if not isinstance(data, dict):
        raise ServiceError("Send a JSON object.", details={"field": "non_field_errors"})
    unknown = sorted(set(data) - _ALLOWED_FIELDS)
    if unknown:
        raise ServiceError(f"Unknown field {unknown[0]!r}.", details={"field": unknown[0]})
    if "value" not in data:
        raise ServiceError("'value' is required.", details={"field": "value"})
    return data["value"], data.get("secret")


class EnvListView(APIView):
    permission_classes = [CanManage]

    @extend_schema(operation_id="env_list", tags=["env"], responses=EnvVarListSerializer)
    def get(self, request: Request) -> Response:
        tenant = principal_of(request).tenant
        results = [env_var_data(var) for var in selectors.env_list(tenant=tenant)]
        return Response({"results": results, "next": None})


class EnvDetailView(APIView):
    permission_classes = [CanManage]

    @extend_schema(operation_id="env_get", tags=["env"], responses=EnvVarSerializer)
    def get(self, request: Request, name: str) -> Response:
        tenant = principal_of(request).tenant
        return Response(env_var_data(selectors.env_var_for_tenant(tenant=tenant, name=name)))

    @extend_schema(
        operation_id="env_set",
        tags=["env"],
        request=EnvVarSetSerializer,
        responses=EnvVarSerializer,
    )
    def put(self, request: Request, name: str) -> Response:
        principal = principal_of(request)
        value, secret = _set_request(request.data)
        env_var = services.env_set(
            tenant=principal.tenant, name=name, value=value, secret=secret, actor=principal.actor
        )
        return Response(env_var_data(env_var))

    @extend_schema(
        operation_id="env_delete",
        tags=["env"],
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def delete(self, request: Request, name: str) -> Response:
        principal = principal_of(request)
        services.env_delete(tenant=principal.tenant, name=name, actor=principal.actor)
        return Response(status=204)
