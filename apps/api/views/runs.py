"""The run log: one run, or a filtered, cursor-paginated list, newest first."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.permissions import CanReadRuns, principal_of
from apps.api.serializers_runs import parse_run_list_query
from apps.runs.selectors import run_for_tenant, runs_page
from apps.runs.services import run_to_dict

_FILTERS = [
    OpenApiParameter(name, str, description=text)
    for name, text in [
        ("trigger", "A trigger name."),
        ("decision", "allow or deny."),
        ("status", "queued, ok, denied, error or timeout."),
        ("source", "api, test or replay."),
        ("function", "A function id that the run planned."),
        ("since", "ISO 8601 date or date-time (UTC when naive), inclusive."),
        ("until", "ISO 8601 date or date-time (UTC when naive), exclusive."),
        ("q", "A run id, user id or email."),
        ("cursor", "The cursor from the previous page's next URL."),
    ]
] + [OpenApiParameter("limit", int, description="Page size, 1 to 200 (default 50).")]


class RunListView(APIView):
    permission_classes = [CanReadRuns]

    @extend_schema(
        operation_id="runs_list", parameters=_FILTERS, responses={200: OpenApiTypes.OBJECT}
    )
    def get(self, request: Request) -> Response:
        query = parse_run_list_query(request.query_params)
        runs, cursor = runs_page(
            tenant=principal_of(request).tenant,
            filters=query.filters,
            cursor=query.cursor,
            limit=query.limit,
        )
        return Response(
            {"results": [run_to_dict(run) for run in runs], "next": next_page_url(request, cursor)}
        )


def next_page_url(request: Request, cursor: str | None) -> str | None:
    """This list's URL with its filters and the next page's cursor (None on the last page)."""
    if cursor is None:
        return None
    params = request.query_params.copy()
    params["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


class RunDetailView(APIView):
    permission_classes = [CanReadRuns]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, run_id: str) -> Response:
        run = run_for_tenant(tenant=principal_of(request).tenant, id=run_id)
        return Response(run_to_dict(run))
