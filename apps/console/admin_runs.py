"""The audit log in the console: runs (read-only, fast on millions of rows), the run
detail page with replay, streamed exports, and the configuration history.

Nobody edits or deletes a run or an audit event here, superusers included: runs are
append-only and only retention (``apps.runs.retention``) removes them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from apps.audit.models import AuditEvent, AuditKind
from apps.audit.selectors import audit_event_for_tenant, audit_event_undoable
from apps.console.admin_site import admin_site
from apps.console.audit_objects import audit_object_links, audit_order_names, audit_summary
from apps.console.audit_undo import can_undo, safe_next, undo_confirmation, undo_url, undone_ids
from apps.console.scoping import ReadOnlyTenantAdmin, console_principal, has_role
from apps.console.templatetags.console_text import breakable
from apps.core.errors import NotFound, ServiceError
from apps.core.triggers import TRIGGER_CHOICES
from apps.pipelines.models import Function
from apps.pipelines.undo import pipeline_change_undo, pipeline_change_undo_plan
from apps.runs.models import Run, RunSource
from apps.runs.review import function_names, json_changes, runs_export_csv, runs_export_json
from apps.tenants.models import Role

# --- Shared pieces --------------------------------------------------------------------


class CappedCountPaginator(Paginator):
    """Counts at most ``cap + 1`` rows: a full COUNT(*) on a million runs costs more than
    the page itself. The cap slides with the page asked for (a few pages beyond it), so
    the pagination always offers the next pages and the count stays cheap."""

    PAGES_AHEAD = 4
    cap = 1000

    @cached_property
    def count(self) -> int:
        rows: QuerySet[Any] = self.object_list  # type: ignore[assignment]
        # No ORDER BY: the database may count through whichever index filters best.
        return rows.order_by().values("pk")[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def capped_paginator(request: HttpRequest, queryset: QuerySet[Any], per_page: int) -> Paginator:
    try:
        page = max(int(request.GET.get("p", "1")), 1)
    except ValueError:
        page = 1
    paginator = CappedCountPaginator(queryset, per_page)
    paginator.cap = (page + CappedCountPaginator.PAGES_AHEAD) * per_page
    return paginator


_RELATIVE = re.compile(r"^(\d{1,4})([hd])$")
PRESETS = (
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
)


def parse_moment(value: str, *, end: bool = False) -> datetime:
    """``24h`` / ``7d`` (ago), ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` (local time).
    A date as an upper bound means the end of that day."""
    value = value.strip()
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = int(relative[1]), relative[2]
        return timezone.now() - (timedelta(hours=amount) if unit == "h" else timedelta(days=amount))
    if len(value) == 10:
        day = date.fromisoformat(value)
        moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    else:
        moment = datetime.fromisoformat(value)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class CreatedRangeFilter(admin.ListFilter):
    """Date range on ``created_at``: presets plus free ``since`` / ``until`` inputs."""

    title = "date"
    template = "admin/runs/date_range_filter.html"
    parameters = ("since", "until")

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, admin: Any):
        super().__init__(request, params, model, admin)
        for name in self.parameters:
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = value[-1] if isinstance(value, list) else value
        try:
            self.bounds = {
                name: parse_moment(str(value), end=name == "until")
                for name, value in self.used_parameters.items()
                if value
            }
        except ValueError as exc:
            raise IncorrectLookupParameters(exc) from None

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return list(self.parameters)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if "since" in self.bounds:
            queryset = queryset.filter(created_at__gte=self.bounds["since"])
        if "until" in self.bounds:
            queryset = queryset.filter(created_at__lt=self.bounds["until"])
        return queryset

    def choices(self, changelist: ChangeList) -> Any:
        self.hidden = [
            (key, value)
            for key, values in changelist.params.items()
            if key not in self.parameters
            for value in (values if isinstance(values, list) else [values])
        ]
        self.values = {name: self.used_parameters.get(name, "") for name in self.parameters}
        yield {
            "selected": not self.used_parameters,
            "query_string": changelist.get_query_string(remove=list(self.parameters)),
            "display": "Any time",
        }
        for value, label in PRESETS:
            yield {
                "selected": self.used_parameters == {"since": value},
                "query_string": changelist.get_query_string({"since": value}, remove=["until"]),
                "display": label,
            }


class ReadOnlyAdmin(ReadOnlyTenantAdmin):
    """Members of any role read; nobody adds, changes or deletes."""

    actions = None
    show_facets = admin.ShowFacets.NEVER

    def get_paginator(
        self, request: HttpRequest, queryset: QuerySet[Any], per_page: int, *args: Any, **kw: Any
    ) -> Paginator:
        return capped_paginator(request, queryset, per_page)


# --- Runs -----------------------------------------------------------------------------


class TriggerFilter(admin.SimpleListFilter):
    # A fixed list: the generic field filter would SELECT DISTINCT over every run.
    title = "trigger"
    parameter_name = "trigger"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, breakable(label)) for value, label in TRIGGER_CHOICES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(trigger=self.value()) if self.value() else queryset


class SourceFilter(admin.SimpleListFilter):
    """Production runs (API calls) unless asked otherwise: test and replay runs would
    distort what the list says about real logins. A search looks everywhere."""

    title = "source"
    parameter_name = "source__exact"  # the admin's own name, so old links keep working
    EVERY = "all"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (self.EVERY, "All (with tests and replays)"),
            (RunSource.TEST, "Test only"),
            (RunSource.REPLAY, "Replay only"),
        ]

    def _searching(self, request: HttpRequest) -> bool:
        return bool(request.GET.get("q", "").strip())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == self.EVERY or (value is None and self._searching(request)):
            return queryset
        if value is not None and value not in RunSource.values:
            raise IncorrectLookupParameters(f"Unknown source {value!r}.")
        return queryset.filter(source=value or RunSource.API)

    def choices(self, changelist: ChangeList) -> Any:
        value = self.value()
        yield {
            "selected": value in (None, RunSource.API),
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Production (API)",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


def function_choices(request: HttpRequest) -> list[tuple[str, str]]:
    """The current tenant's functions, for the filters that narrow to one of them."""
    principal = console_principal(request)
    if principal is None:
        return []
    functions = Function.objects.filter(tenant=principal.tenant).order_by("name")
    return [(f.id, f.name) for f in functions.only("id", "name")]


class FunctionFilter(admin.SimpleListFilter):
    title = "function"
    parameter_name = "function"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return function_choices(request)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(function_ids__contains=f" {value} ") if value else queryset


class RunChangeList(ChangeList):
    """Leaves the big JSON columns out of the list, and names each run's functions."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.defer("input", "output", "steps", "error_message")

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        runs = list(self.result_list)  # evaluated once; the template reuses the cache
        names = function_names(runs=runs)
        for run in runs:
            run.function_names = [names.get(fid, fid) for fid in run.function_ids.split()]


@admin.register(Run, site=admin_site)
class RunAdmin(ReadOnlyAdmin):
    list_title = "Runs"
    list_display = [
        "time",
        "trigger_name",
        "decision_badge",
        "duration",
        "functions",
        "user",
        "source",
    ]
    list_display_links = ["time"]
    list_filter = [
        TriggerFilter,
        "decision",
        "status",
        SourceFilter,
        FunctionFilter,
        CreatedRangeFilter,
    ]
    search_fields = ["id"]  # shows the search box; the lookups are in get_search_results
    search_help_text = "Run id, user id or email (exact match)."
    sortable_by = ["time"]
    show_full_result_count = False
    list_per_page = 50
    list_max_show_all = 200

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RunChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # Equality only, so each branch is an index lookup on (tenant, column) or the pk.
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(id=term) | Q(user_id=term) | Q(user_email=term)
        if term.lower() != term:
            match |= Q(user_email=term.lower())
        return queryset.filter(match), False

    @admin.display(description="time", ordering="created_at")
    def time(self, run: Run) -> str:
        # Date and time each stay whole; the column may break between them.
        moment = timezone.localtime(run.created_at)
        return format_html(
            '<span class="nowrap">{}</span> <span class="nowrap">{}</span>',
            moment.strftime("%Y-%m-%d"),
            moment.strftime("%H:%M:%S"),
        )

    @admin.display(description="decision")
    def decision_badge(self, run: Run) -> str:
        # The deny code sits under the badge: one column less for User and Source.
        label = run.decision or "queued"
        badge = format_html('<span class="badge badge-{}">{}</span>', label, label)
        if not run.error_code:
            return badge
        return format_html('{} <code class="deny-code">{}</code>', badge, run.error_code)

    @admin.display(description="duration")
    def duration(self, run: Run) -> str:
        return f"{run.duration_ms:.1f} ms"

    @admin.display(description="functions")
    def functions(self, run: Run) -> str:
        names = getattr(run, "function_names", run.function_ids.split())
        return ", ".join(names) or "-"

    @admin.display(description="trigger")
    def trigger_name(self, run: Run) -> str:
        return breakable(run.trigger)

    @admin.display(description="user")
    def user(self, run: Run) -> str:
        # An email may wrap before its @ rather than anywhere in a narrow column.
        local, at, domain = (run.user_email or "").partition("@")
        if at:
            return format_html("{}<wbr>@{}", local, domain)
        return run.user_email or run.user_id or "-"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra = {"export_query": request.GET.urlencode(), **(extra_context or {})}
        return super().changelist_view(request, extra)

    # Detail ----------------------------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied("Runs are read-only.")
        run = self.get_object(request, unquote(object_id))
        if run is None or not self.has_view_permission(request, run):
            raise Http404("No such run.")
        context = {
            **self.admin_site.each_context(request),
            **run_detail_context(request, run),
            "opts": self.opts,
            "title": f"Run {run.id}",
        }
        return TemplateResponse(request, "admin/runs/run/detail.html", context)

    # Export ----------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("export.csv", wrap(self.export_csv), name="runs_run_export_csv"),
            path("export.json", wrap(self.export_json), name="runs_run_export_json"),
            *super().get_urls(),
        ]

    def _exported(self, request: HttpRequest) -> QuerySet[Run] | HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(f"{reverse('admin:runs_run_changelist')}?e=1")
        runs: QuerySet[Run] = changelist.get_queryset(request)
        return runs.defer(None)

    def export_csv(self, request: HttpRequest) -> HttpResponseBase:
        runs = self._exported(request)
        if isinstance(runs, HttpResponse):
            return runs
        response = StreamingHttpResponse(runs_export_csv(runs=runs), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{_export_name()}.csv"'
        return response

    def export_json(self, request: HttpRequest) -> HttpResponseBase:
        runs = self._exported(request)
        if isinstance(runs, HttpResponse):
            return runs
        response = StreamingHttpResponse(
            runs_export_json(runs=runs), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="{_export_name()}.json"'
        return response


def _export_name() -> str:
    return "runs-" + timezone.localtime().strftime("%Y%m%d-%H%M%S")


# --- The run detail page ----------------------------------------------------------------

_PROBLEM = ("denied", "error", "timeout")


def run_detail_context(request: HttpRequest, run: Run) -> dict[str, Any]:
    output = run.output or {}
    steps = _timeline(run)
    existing = set(
        Function.objects.filter(
            tenant_id=run.tenant_id, id__in=[s["function_id"] for s in steps]
        ).values_list("id", flat=True)
    )
    can_replay = has_role(request, Role.DEVELOPER)
    for entry in steps:
        entry["replay_url"] = (
            _replay_url(entry["function_id"], run.id)
            if (can_replay and entry["function_id"] in existing)
            else ""
        )
    culprit = next((s for s in steps if s["status"] in _PROBLEM), steps[0] if steps else None)
    return {
        "run": run,
        "steps": steps,
        "replay_url": culprit["replay_url"] if culprit else "",
        "replay_function": culprit["name"] if culprit else "",
        "user_changes": _changes(run.input.get("user"), output.get("user")),
        "context_changes": _changes(run.input.get("context"), output.get("context")),
        "custom_data": output.get("custom_data") or {},
        "id_token_claims": output.get("id_token_claims") or {},
        "access_token_claims": output.get("access_token_claims") or {},
        "input_json": _pretty(run.input),
        "output_json": _pretty(output) if output else "",
        "api_url": f"/api/v1/runs/{run.id}",
        "history_url": f"{reverse('admin:audit_auditevent_changelist')}?"
        + urlencode({"until": timezone.localtime(run.created_at).strftime("%Y-%m-%dT%H:%M")}),
    }


def _timeline(run: Run) -> list[dict[str, Any]]:
    """Steps with their place on a time axis (they run one after another)."""
    steps = [dict(step) for step in run.steps or []]
    total = max(run.duration_ms, sum(float(s.get("duration_ms") or 0) for s in steps), 0.001)
    offset = 0.0
    for step in steps:
        duration = float(step.get("duration_ms") or 0)
        step["left_pct"] = round(min(offset / total * 100, 100), 2)
        step["width_pct"] = round(max(duration / total * 100, 0.5), 2)
        step["error"] = step.get("error") or None
        step["logs"] = step.get("logs") or []
        step.setdefault("function_id", "")
        step.setdefault("status", "")
        step.setdefault("name", step["function_id"])
        offset += duration
    return steps


def _replay_url(function_id: str, run_id: str) -> str:
    try:
        base = reverse("console-function-editor", args=[function_id])
    except NoReverseMatch:  # the editor is not installed: no replay link
        return ""
    return f"{base}?{urlencode({'replay': run_id})}"


def _changes(before: Any, after: Any) -> list[Any] | None:
    if not isinstance(after, dict):
        return None  # no output to compare (a deny, or still queued)
    return json_changes(before if isinstance(before, dict) else {}, after)


def _pretty(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


# --- Configuration history --------------------------------------------------------------


class ObjectFilter(admin.SimpleListFilter):
    """``?object_id=fn_...``: the events of one object; the tenant's functions listed."""

    title = "function"
    parameter_name = "object_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return function_choices(request)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(object_id=self.value()) if self.value() else queryset


class ActorFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        events = model_admin.get_queryset(request)
        actors = events.order_by("actor").values_list("actor", flat=True).distinct()[:100]
        return [(actor, actor) for actor in actors]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(actor=self.value()) if self.value() else queryset


class ObjectTypeFilter(admin.SimpleListFilter):
    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        events = model_admin.get_queryset(request)
        kinds = events.order_by("object_type").values_list("object_type", flat=True).distinct()
        return [(kind, kind) for kind in kinds if kind]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(object_type=self.value()) if self.value() else queryset


class AuditChangeList(ChangeList):
    """Names each event's object once for the whole page."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        events = list(self.result_list)
        links = audit_object_links(events)
        names = audit_order_names(events)
        undone = undone_ids(events)
        for event in events:
            event.object_link = links[event.id]
            event.order_names = names.get(event.id, {})
            event.undone = event.id in undone


@admin.register(AuditEvent, site=admin_site)
class AuditEventAdmin(ReadOnlyAdmin):
    list_title = "Configuration history"
    list_display = ["time", "actor", "kind", "object_link", "summary"]
    list_display_links = ["time"]
    list_filter = ["kind", ActorFilter, ObjectTypeFilter, ObjectFilter, CreatedRangeFilter]
    search_fields = ["object_id"]
    search_help_text = "Object id (exact match)."
    fields = ["created_at", "actor", "kind", "object_link", "details_json"]
    readonly_fields = ("created_at", "actor", "kind", "object_link", "order_change", "details_json")
    show_full_result_count = False
    sortable_by = ["time"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AuditChangeList

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))
        return [*columns, "undo_action"] if can_undo(request) else columns

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        event = self.get_object(request, unquote(object_id))
        offer = event is not None and can_undo(request) and audit_event_undoable(event)
        context = {
            "title": "Configuration change",
            "undo_url": undo_url(event) if offer and event else "",
            **(extra_context or {}),
        }
        if offer and event and event.id in undone_ids([event]):
            context["undo_url"], context["undone"] = "", True
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="undo")
    def undo_action(self, event: AuditEvent) -> str:
        if not audit_event_undoable(event):
            return ""
        if getattr(event, "undone", False):
            return mark_safe('<span class="muted">undone</span>')
        return format_html(
            '<a class="button undo-button" href="{}" title="Shows what changes in production '
            'before anything is undone">Undo…</a>',
            undo_url(event),
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        return (queryset.filter(object_id=term) if term else queryset), False

    @admin.display(description="time", ordering="created_at")
    def time(self, event: AuditEvent) -> str:
        return timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S")

    def get_urls(self) -> list[URLPattern]:
        undo = self.admin_site.admin_view(self.undo_view)
        return [
            path("<path:object_id>/undo/", undo, name="audit_auditevent_undo"),
            *super().get_urls(),
        ]

    def undo_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: what the undo of a reorder or enable/disable changes in production; POST:
        do it (developers and owners), then back where the member came from."""
        if request.method not in ("GET", "HEAD", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        principal = console_principal(request)
        if principal is None:
            raise Http404("No tenant.")
        if not principal.can_write_config:
            raise PermissionDenied("Your role may not change the pipeline.")
        event_id = unquote(object_id)
        try:
            if request.method != "POST":
                return self._undo_confirmation(request, principal.tenant, event_id)
            undo = pipeline_change_undo(
                tenant=principal.tenant, event_id=event_id, actor=principal.actor
            )
        except NotFound:
            raise Http404("No such event.") from None
        except ServiceError as exc:
            messages.error(request, f"Not undone: {exc.message}")
        else:
            messages.success(request, f"Undone: {undo.get_kind_display().lower()} ({undo.id}).")
        return HttpResponseRedirect(safe_next(request))

    def _undo_confirmation(self, request: HttpRequest, tenant: Any, event_id: str) -> HttpResponse:
        event = audit_event_for_tenant(tenant=tenant, id=event_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "event": event,
            "event_url": reverse("admin:audit_auditevent_change", args=[event.id]),
            "next": safe_next(request),
            "title": f"Undo: {event.get_kind_display().lower()}",
        }
        try:
            plan = pipeline_change_undo_plan(tenant=tenant, event_id=event.id)
        except ServiceError as exc:
            context["refused"] = exc.message
        else:
            context.update(undo_confirmation(plan))
            context["title"] = context["undo_title"]
        return TemplateResponse(request, "admin/audit/auditevent/undo_confirmation.html", context)

    @admin.display(description="object")
    def object_link(self, event: AuditEvent) -> str:
        link = getattr(event, "object_link", None) or audit_object_links([event])[event.id]
        label, url = link
        kind = event.object_type.replace("_", " ")
        if not url:
            return label
        return format_html('{} <a href="{}">{}</a>', kind, url, label)

    @admin.display(description="details")
    def summary(self, event: AuditEvent) -> str:
        names = getattr(event, "order_names", None)
        if names is None:
            names = audit_order_names([event]).get(event.id, {})
        summary = audit_summary(event.details, names)
        return format_html('<code class="audit-details">{}</code>', summary)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.kind == AuditKind.PIPELINE_REORDERED:
            fields.insert(fields.index("details_json"), "order_change")
        return fields

    @admin.display(description="order")
    def order_change(self, event: AuditEvent) -> str:
        """A reorder as its functions' names, first to last, before and after."""
        names = audit_order_names([event]).get(event.id, {})

        def order(key: str) -> str:
            ids = event.details.get(key)
            return " → ".join(names.get(fid, str(fid)) for fid in ids or []) or "-"

        return format_html(
            '<span class="order-before">Before: {}</span><br>'
            '<span class="order-after">After: {}</span>',
            order("before"),
            order("after"),
        )

    @admin.display(description="details")
    def details_json(self, event: AuditEvent) -> str:
        return format_html('<pre class="json">{}</pre>', _pretty(event.details))
