"""The template gallery API (SPEC §6): list, detail, instantiate into a draft."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.permissions import CanManage, principal_of
from apps.api.serializers_pipelines import FunctionSerializer, StrictCharField, StrictSerializer
from apps.core.triggers import TRIGGERS
from apps.gallery.loader import CATEGORIES
from apps.gallery.models import GalleryTemplate
from apps.gallery.selectors import template_by_slug, template_list
from apps.gallery.services import MAX_NAME_LENGTH, template_instantiate

MAX_QUERY_LENGTH = 200


class TemplateQuerySerializer(serializers.Serializer):
    # Blank means "any", as an HTML filter form sends it.
    trigger = serializers.ChoiceField(choices=list(TRIGGERS), required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=list(CATEGORIES), required=False, allow_blank=True)
    q = serializers.CharField(max_length=MAX_QUERY_LENGTH, required=False, allow_blank=True)


class InstantiateSerializer(StrictSerializer):
    trigger = serializers.ChoiceField(choices=list(TRIGGERS), required=False)
    name = StrictCharField(max_length=MAX_NAME_LENGTH, required=False)


class TemplateSerializer(serializers.ModelSerializer):
    category_label = serializers.SerializerMethodField()

    class Meta:
        model = GalleryTemplate
        fields = [
            "slug",
            "title",
            "description",
            "category",
            "category_label",
            "triggers",
            "env",
            "is_async",
            "uses_http",
        ]
        read_only_fields = fields

    def get_category_label(self, template: GalleryTemplate) -> str:
        return CATEGORIES.get(template.category, template.category)


class TemplateDetailSerializer(TemplateSerializer):
    flavour = serializers.SerializerMethodField()

    class Meta(TemplateSerializer.Meta):
        fields = [
            *TemplateSerializer.Meta.fields,
            "flavour",
            "code",
            "code_sha256",
            "sample",
            "outcomes",
        ]
        read_only_fields = fields

    def get_flavour(self, template: GalleryTemplate) -> str:
        """pipe or auth0_action: the flavour of the template's code."""
        return template.flavour["flavour"]


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class TemplateListView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        parameters=[
            OpenApiParameter("trigger", str, enum=list(TRIGGERS)),
            OpenApiParameter("category", str, enum=list(CATEGORIES)),
            OpenApiParameter("q", str, description="Words in the title, description or slug."),
        ],
        responses=inline_serializer(
            "TemplateList",
            {"results": TemplateSerializer(many=True), "next": serializers.CharField()},
        ),
        summary="The template gallery, filtered",
        operation_id="templates_list",
    )
    def get(self, request: Request) -> Response:
        query = _valid(TemplateQuerySerializer, request.query_params)
        templates = template_list(
            trigger=query.get("trigger"), category=query.get("category"), q=query.get("q")
        )
        return Response({"results": TemplateSerializer(templates, many=True).data, "next": None})


class TemplateDetailView(APIView):
    permission_classes = [CanManage]

    @extend_schema(responses=TemplateDetailSerializer, summary="One template with its code")
    def get(self, request: Request, slug: str) -> Response:
        return Response(TemplateDetailSerializer(template_by_slug(slug=slug)).data)


class TemplateInstantiateView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        request=InstantiateSerializer,
        responses={201: FunctionSerializer},
        summary="Create a draft function from a template",
        description="The draft is not live until published. The response adds "
        '"missing_env": the required env names the tenant has not set yet.',
    )
    def post(self, request: Request, slug: str) -> Response:
        data = _valid(InstantiateSerializer, request.data)
        principal = principal_of(request)
        created = template_instantiate(
            tenant=principal.tenant,
            slug=slug,
            trigger=data.get("trigger"),
            name=data.get("name"),
            actor=principal.actor,
        )
        body = {**FunctionSerializer(created.function).data, "missing_env": created.missing_env}
        return Response(body, status=status.HTTP_201_CREATED)
