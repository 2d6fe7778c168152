"""The execution endpoint and the two test endpoints: one service, three entrances."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.permissions import CanExecute, CanWriteEvenOnRead, principal_of
from apps.api.renderers import FastJSONRenderer
from apps.api.serializers_runs import (
    parse_execute_body,
    parse_function_test_body,
    parse_pipeline_test_body,
)
from apps.core.triggers import trigger_named
from apps.runs.services import run_execute, run_test_function, run_test_pipeline


class ExecuteView(APIView):
    renderer_classes = [FastJSONRenderer]
    permission_classes = [CanExecute]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, trigger: str) -> Response:
        trigger = trigger_named(trigger).name
        body = parse_execute_body(request.data)
        principal = principal_of(request)
        outcome = run_execute(
            tenant=principal.tenant,
            trigger=trigger,
            user=body.user,
            context=body.context,
            mode=body.mode,
            idempotency_key=body.idempotency_key,
            caller=principal.caller,
            client_ip=request.META.get("REMOTE_ADDR"),
        )
        return Response(outcome.body, status=outcome.status_code)


class PipelineTestView(APIView):
    renderer_classes = [FastJSONRenderer]
    permission_classes = [CanWriteEvenOnRead]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, trigger: str) -> Response:
        trigger = trigger_named(trigger).name
        body = parse_pipeline_test_body(request.data)
        principal = principal_of(request)
        result = run_test_pipeline(
            tenant=principal.tenant,
            trigger=trigger,
            user=body.user,
            context=body.context,
            caller=principal.caller,
            client_ip=request.META.get("REMOTE_ADDR"),
        )
        return Response(result)


class FunctionTestView(APIView):
    renderer_classes = [FastJSONRenderer]
    permission_classes = [CanWriteEvenOnRead]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, function_id: str) -> Response:
        body = parse_function_test_body(request.data)
        principal = principal_of(request)
        result = run_test_function(
            tenant=principal.tenant,
            function_id=function_id,
            code=body.code,
            user=body.user,
            context=body.context,
            caller=principal.caller,
            client_ip=request.META.get("REMOTE_ADDR"),
        )
        return Response(result)
