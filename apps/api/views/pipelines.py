"""Management API for pipelines, functions and releases (SPEC §6). Thin: services decide."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.permissions import CanManage, principal_of
from apps.api.serializers_pipelines import (
    FunctionCreateSerializer,
    FunctionSerializer,
    FunctionUpdateSerializer,
    PipelineListSerializer,
    PipelineSerializer,
    PublishSerializer,
    ReleaseListSerializer,
    ReleaseSerializer,
    ReorderSerializer,
    RollbackSerializer,
    VersionsQuerySerializer,
)
from apps.core.triggers import TRIGGERS, trigger_named
from apps.pipelines import services
from apps.pipelines.models import Function, Release
from apps.pipelines.selectors import (
    function_for_tenant,
    functions_for_pipeline,
    pipeline_find,
    pipeline_function_counts,
    release_for_function,
    releases_for_function,
)

VERSIONS_PAGE_SIZE = 25


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _function(request: Request, function_id: str) -> Function:
    return function_for_tenant(tenant=principal_of(request).tenant, id=function_id)


def _function_body(function: Function) -> dict[str, Any]:
    return dict(FunctionSerializer(function).data)


def _release_body(release: Release, live_release_id: int | None) -> dict[str, Any]:
    return dict(ReleaseSerializer(release, context={"live_release_id": live_release_id}).data)


def _pipeline_body(request: Request, trigger: str) -> dict[str, Any]:
    trigger = trigger_named(trigger).name
    pipeline = pipeline_find(tenant=principal_of(request).tenant, trigger=trigger)
    functions = functions_for_pipeline(pipeline=pipeline)
    return {
        "trigger": trigger,
        "functions": FunctionSerializer(functions, many=True).data,
        "settings": pipeline.settings if pipeline else {},
    }


class PipelineListView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        responses=PipelineListSerializer,
        summary="Every trigger with its pipeline",
        operation_id="pipelines_list",
        tags=["pipelines"],
    )
    def get(self, request: Request) -> Response:
        existing = pipeline_function_counts(tenant=principal_of(request).tenant)
        results = []
        for name, trigger in TRIGGERS.items():
            settings, count = existing.get(name, ({}, 0))
            results.append(
                {
                    "trigger": name,
                    "description": trigger.description,
                    "blocking": trigger.blocking,
                    "default_mode": trigger.default_mode,
                    "function_count": count,
                    "settings": settings,
                }
            )
        return Response({"results": results, "next": None})


class PipelineDetailView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        responses=PipelineSerializer,
        summary="A pipeline with its ordered functions",
        operation_id="pipeline_get",
        tags=["pipelines"],
    )
    def get(self, request: Request, trigger: str) -> Response:
        return Response(_pipeline_body(request, trigger))


class PipelineOrderView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        request=ReorderSerializer,
        responses=PipelineSerializer,
        summary="Reorder: name exactly the pipeline's functions",
        operation_id="pipeline_reorder",
        tags=["pipelines"],
    )
    def put(self, request: Request, trigger: str) -> Response:
        trigger = trigger_named(trigger).name
        data = _valid(ReorderSerializer, request.data)
        principal = principal_of(request)
        services.pipeline_reorder(
            tenant=principal.tenant,
            trigger=trigger,
            function_ids=data["function_ids"],
            actor=principal.actor,
        )
        return Response(_pipeline_body(request, trigger))


class FunctionCreateView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        request=FunctionCreateSerializer,
        responses={201: FunctionSerializer},
        summary='Create a function (a draft; "publish": true releases v1)',
        operation_id="function_create",
        tags=["functions"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(FunctionCreateSerializer, request.data)
        principal = principal_of(request)
        function = services.function_create(tenant=principal.tenant, actor=principal.actor, **data)
        return Response(_function_body(function), status=status.HTTP_201_CREATED)


class FunctionDetailView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        responses=FunctionSerializer,
        summary="A function with its draft code",
        operation_id="function_get",
        tags=["functions"],
    )
    def get(self, request: Request, function_id: str) -> Response:
        return Response(_function_body(_function(request, function_id)))

    @extend_schema(
        request=FunctionUpdateSerializer,
        responses=FunctionSerializer,
        summary="Edit the draft and/or settings (code runs only once published)",
        operation_id="function_update",
        tags=["functions"],
    )
    def patch(self, request: Request, function_id: str) -> Response:
        function = _function(request, function_id)
        data = _valid(FunctionUpdateSerializer, request.data)
        comment = data.pop("comment", "")
        function = services.function_update(
            function=function, actor=principal_of(request).actor, comment=comment, **data
        )
        return Response(_function_body(function))

    @extend_schema(
        responses={204: None},
        summary="Delete a function and its releases",
        operation_id="function_delete",
        tags=["functions"],
    )
    def delete(self, request: Request, function_id: str) -> Response:
        function = _function(request, function_id)
        services.function_delete(function=function, actor=principal_of(request).actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FunctionPublishView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        request=PublishSerializer,
        responses={201: ReleaseSerializer},
        summary="Release the draft (or the given code) as the next version, live at once",
        operation_id="function_publish",
        tags=["functions"],
    )
    def post(self, request: Request, function_id: str) -> Response:
        function = _function(request, function_id)
        data = _valid(PublishSerializer, request.data)
        release = services.function_publish(
            function=function,
            actor=principal_of(request).actor,
            comment=data["comment"],
            code=data.get("code"),
        )
        return Response(_release_body(release, release.pk), status=status.HTTP_201_CREATED)


class FunctionRollbackView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        request=RollbackSerializer,
        responses={201: ReleaseSerializer},
        summary="Publish a copy of release n as a new version",
        operation_id="function_rollback",
        tags=["functions"],
    )
    def post(self, request: Request, function_id: str) -> Response:
        function = _function(request, function_id)
        data = _valid(RollbackSerializer, request.data)
        release = services.function_rollback(
            function=function, actor=principal_of(request).actor, **data
        )
        return Response(_release_body(release, release.pk), status=status.HTTP_201_CREATED)


class FunctionVersionsView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="Cursor: versions below this one.")
        ],
        responses=ReleaseListSerializer,
        summary="Release history, newest first",
        operation_id="function_versions_list",
        tags=["functions"],
    )
    def get(self, request: Request, function_id: str) -> Response:
        function = _function(request, function_id)
        query = _valid(VersionsQuerySerializer, _cursor(request))
        page = releases_for_function(
            function=function, before=query.get("before"), limit=VERSIONS_PAGE_SIZE + 1
        )
        more = len(page) > VERSIONS_PAGE_SIZE
        page = page[:VERSIONS_PAGE_SIZE]
        next_url = None
        if more:
            cursor = urlencode({"before": page[-1].version})
            next_url = request.build_absolute_uri(f"{request.path}?{cursor}")
        results = [_release_body(release, function.live_release_id) for release in page]
        return Response({"results": results, "next": next_url})


def _cursor(request: Request) -> dict[str, Any]:
    # Query strings are text: digits become an integer, anything else is refused as such.
    before = request.query_params.get("before")
    if before is None:
        return {}
    small_number = before.isascii() and before.isdigit() and len(before) <= 10
    return {"before": int(before) if small_number else before}


class FunctionVersionView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        responses=ReleaseSerializer,
        summary="One release with its code",
        operation_id="function_version_get",
        tags=["functions"],
    )
    def get(self, request: Request, function_id: str, version: int) -> Response:
        function = _function(request, function_id)
        release = release_for_function(function=function, version=version)
        return Response(_release_body(release, function.live_release_id))
