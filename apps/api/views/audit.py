"""The configuration history (SPEC §6 ``GET /api/v1/audit-events``), newest first."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.permissions import CanManage, CanReadAudit, principal_of
from apps.api.serializers_runs import MAX_PAGE_SIZE, parse_audit_list_query
from apps.api.views.runs import next_page_url
from apps.audit.models import UNDOABLE_KINDS, AuditKind
from apps.audit.selectors import audit_event_to_dict
from apps.pipelines.undo import pipeline_change_undo
from apps.runs.selectors import audit_events_page

_FILTERS = [
    OpenApiParameter("kind", str, enum=list(AuditKind.values), description="An event kind."),
    OpenApiParameter(
        "object", str, description="An object id: a function id, a trigger, a key prefix..."
    ),
    OpenApiParameter("object_type", str, description="function, pipeline, api_key, env..."),
    OpenApiParameter("actor", str, description='Who made the change: a username or "key:gp_..."'),
    OpenApiParameter(
        "since", str, description="ISO 8601 date or date-time (UTC when naive), inclusive."
    ),
    OpenApiParameter(
        "until", str, description="ISO 8601 date or date-time (UTC when naive), exclusive."
    ),
    OpenApiParameter("cursor", str, description="The cursor from the previous page's next URL."),
    OpenApiParameter("limit", int, description=f"Page size, 1 to {MAX_PAGE_SIZE} (default 50)."),
]
_EXAMPLE = {
    "results": [
        {
            "id": "evt_01J...",
            "kind": "function.published",
            "description": "Function published",
            "actor": "alice",
            "object_type": "function",
            "object_id": "fn_01J...",
            "details": {"name": "email-domain-allow-list", "trigger": "PRE_REGISTER", "version": 3},
            "created_at": "2026-12-06T16:00:00.000000+00:00",
            "undoable": False,
        }
    ],
    "next": "https://pipeline.example/api/v1/audit-events?cursor=...",
}


class AuditEventListView(APIView):
    """Readable by every member (viewers too) and by keys with 'manage' or 'runs:read'."""

    permission_classes = [CanReadAudit]

    @extend_schema(
        operation_id="audit_events_list",
        summary="Configuration changes, newest first",
        description=(
            "Who changed what and when: functions created, drafts saved, publishes, "
            "rollbacks, reorders, enable/disable, keys, env and secrets (never their values), "
            "members. Cursor-paginated like the run list. Needs a console session (any role) "
            "or a key with the 'manage' or 'runs:read' scope."
        ),
        parameters=_FILTERS,
        responses={200: OpenApiTypes.OBJECT},
        examples=[OpenApiExample("A page", value=_EXAMPLE, response_only=True)],
        tags=["audit"],
    )
    def get(self, request: Request) -> Response:
        query = parse_audit_list_query(request.query_params)
        events, cursor = audit_events_page(
            tenant=principal_of(request).tenant,
            filters=query.filters,
            cursor=query.cursor,
            limit=query.limit,
        )
        results = [audit_event_to_dict(event) for event in events]
        return Response({"results": results, "next": next_page_url(request, cursor)})


class AuditEventUndoView(APIView):
    permission_classes = [CanManage]

    @extend_schema(
        operation_id="audit_event_undo",
        summary="Undo a reorder or an enable/disable",
        description=(
            "Restores the order or the enabled state that the event changed, live for the "
            "next run, and records the undo as a new event whose details carry "
            '"undo_of". Kinds that can be undone: ' + ", ".join(UNDOABLE_KINDS) + ". "
            "409 conflict when the pipeline or function changed again since, was deleted, "
            "or the change was already undone. Needs 'manage' (developer or owner)."
        ),
        request=None,
        responses={200: OpenApiTypes.OBJECT},
        tags=["audit"],
    )
    def post(self, request: Request, event_id: str) -> Response:
        principal = principal_of(request)
        undo = pipeline_change_undo(
            tenant=principal.tenant, event_id=event_id, actor=principal.actor
        )
        return Response({"undone": event_id, "event": audit_event_to_dict(undo)})
