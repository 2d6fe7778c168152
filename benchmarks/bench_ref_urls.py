"""The reference a lean execute endpoint is measured against: a minimal DRF view doing
the same API-key check (the project's authentication, permission and throttle classes),
one select and one insert, and nothing else."""

from __future__ import annotations

from django.urls import path
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.permissions import principal_of
from apps.api.views.health import healthz
from apps.core.ids import new_id
from apps.pipelines.models import Function
from apps.runs.models import Run


class ReferenceView(APIView):
    def post(self, request: Request, trigger: str) -> Response:
        tenant = principal_of(request).tenant
        functions = list(
            Function.objects.filter(tenant=tenant, pipeline__trigger=trigger, enabled=True)
        )
        run = Run.objects.create(
            id=new_id("run"),
            tenant=tenant,
            trigger=trigger,
            decision="allow",
            status="ok",
            input=request.data,
            caller="reference",
            user_id=str(request.data["user"]["id"]),
            created_at=timezone.now(),
        )
        return Response({"run_id": run.id, "id": run.user_id, "functions": len(functions)})


urlpatterns = [
    path("healthz", healthz),
    path("api/v1/pipelines/<str:trigger>/execute", ReferenceView.as_view()),
]
