"""The console's sidebar and home page: what a member of the current tenant may open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from apps.console.scoping import console_principal, has_role
from apps.tenants.models import Role, Tenant

RECENT_PROBLEMS_SHOWN = 8


@dataclass(frozen=True)
class NavItem:
    key: str  # also the row's CSS class, as the admin's model rows have
    label: str
    url: str


# (key, label, URL name, least role that may open it)
NAV_ENTRIES: tuple[tuple[str, str, str, str], ...] = (
    ("pipelines", "Pipelines", "console-pipelines", Role.VIEWER),
    ("gallery", "Gallery", "console-gallery", Role.VIEWER),
    ("dashboard", "Dashboard", "console-dashboard", Role.VIEWER),
    ("runs", "Runs", "admin:runs_run_changelist", Role.VIEWER),
    ("history", "Configuration history", "admin:audit_auditevent_changelist", Role.VIEWER),
    ("env", "Env & secrets", "console-env", Role.VIEWER),
    ("hooks", "IdP hooks", "console-hooks", Role.VIEWER),
    ("apikeys", "API keys", "admin:tenants_apikey_changelist", Role.OWNER),
    ("members", "Members", "admin:tenants_member_changelist", Role.VIEWER),
)


def console_nav(request: HttpRequest) -> list[NavItem]:
    """The sidebar entries for the current tenant and the member's role."""
    user: Any = request.user
    if console_principal(request) is None and not user.is_superuser:
        return []
    items = []
    for key, label, url_name, role in NAV_ENTRIES:
        if not (user.is_superuser or has_role(request, role)):
            continue
        try:
            items.append(NavItem(key=key, label=label, url=reverse(url_name)))
        except NoReverseMatch:  # an area that is not installed
            continue
    return items


def recent_problem_runs(*, tenant: Tenant) -> list[Any]:
    """The newest production runs that denied or failed (test and replay runs left out)."""
    from apps.runs.models import Run, RunDecision, RunSource, RunStatus

    problems = Q(decision=RunDecision.DENY) | Q(
        status__in=[RunStatus.ERROR, RunStatus.TIMEOUT, RunStatus.LOST]
    )
    runs = (
        Run.objects.filter(tenant=tenant, source=RunSource.API)
        .filter(problems)
        .only(
            "id",
            "trigger",
            "decision",
            "status",
            "error_code",
            "error_function",
            "user_email",
            "user_id",
            "created_at",
        )
        .order_by("-created_at")
    )
    return list(runs[:RECENT_PROBLEMS_SHOWN])
