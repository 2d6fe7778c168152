"""API keys and members of the caller's tenant (owners only; the tenant is implied)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.permissions import IsOwner, principal_of
from apps.api.serializers_pipelines import validated
from apps.api.serializers_tenants import (
    ApiKeyCreateSerializer,
    MemberInviteSerializer,
    api_key_to_dict,
    member_to_dict,
)
from apps.tenants import services
from apps.tenants.models import ApiKey, Member


class ApiKeyListView(APIView):
    permission_classes = [IsOwner]

    @extend_schema(
        operation_id="api_keys_list",
        summary="The tenant's API keys, newest first (never the keys themselves)",
        responses={200: OpenApiTypes.OBJECT},
        tags=["access"],
    )
    def get(self, request: Request) -> Response:
        keys = ApiKey.objects.filter(tenant=principal_of(request).tenant).order_by("-created_at")
        return Response({"results": [api_key_to_dict(key) for key in keys], "next": None})

    @extend_schema(
        operation_id="api_key_create",
        summary="Create a key for the caller's tenant; the key is in this response only",
        description="Scopes default to execute only (least privilege).",
        request=ApiKeyCreateSerializer,
        responses={201: OpenApiTypes.OBJECT},
        tags=["access"],
    )
    def post(self, request: Request) -> Response:
        data = validated(ApiKeyCreateSerializer, request.data)
        principal = principal_of(request)
        api_key, raw_key = services.api_key_create(
            tenant=principal.tenant,
            name=data["name"],
            scopes=data.get("scopes"),
            actor=principal.actor,
        )
        body: dict[str, Any] = {**api_key_to_dict(api_key), "key": raw_key}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyRevokeView(APIView):
    permission_classes = [IsOwner]

    @extend_schema(
        operation_id="api_key_revoke",
        summary="Revoke a key at once (idempotent)",
        request=None,
        responses={200: OpenApiTypes.OBJECT},
        tags=["access"],
    )
    def post(self, request: Request, prefix: str) -> Response:
        principal = principal_of(request)
        api_key = services.api_key_for_tenant(tenant=principal.tenant, prefix=prefix)
        api_key = services.api_key_revoke(api_key=api_key, actor=principal.actor)
        return Response(api_key_to_dict(api_key))


class MemberListView(APIView):
    permission_classes = [IsOwner]

    @extend_schema(
        operation_id="members_list",
        summary="The tenant's members with their roles",
        responses={200: OpenApiTypes.OBJECT},
        tags=["access"],
    )
    def get(self, request: Request) -> Response:
        members = Member.objects.filter(tenant=principal_of(request).tenant).select_related("user")
        return Response({"results": [member_to_dict(m) for m in members], "next": None})

    @extend_schema(
        operation_id="member_invite",
        summary="Invite an existing user by username or email, with a role",
        description="409 conflict if they are already a member; 400 if no such user.",
        request=MemberInviteSerializer,
        responses={201: OpenApiTypes.OBJECT},
        tags=["access"],
    )
    def post(self, request: Request) -> Response:
        data = validated(MemberInviteSerializer, request.data)
        principal = principal_of(request)
        member = services.member_invite(
            tenant=principal.tenant,
            identifier=data["identifier"],
            role=data["role"],
            actor=principal.actor,
        )
        return Response(member_to_dict(member), status=status.HTTP_201_CREATED)
