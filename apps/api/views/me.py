"""GET /api/v1/me: which tenant and scopes the caller's credentials carry."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.permissions import principal_of


class MeView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "tenant": serializers.DictField(),
                "caller": serializers.CharField(),
                "scopes": serializers.ListField(child=serializers.CharField()),
                "role": serializers.CharField(allow_null=True),
            },
        )
    )
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        return Response(
            {
                "tenant": {"slug": principal.tenant.slug, "name": principal.tenant.name},
                "caller": principal.caller,
                "scopes": sorted(principal.scopes),
                "role": principal.role,
            }
        )
