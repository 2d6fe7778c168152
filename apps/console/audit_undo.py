"""Undo in the configuration history: which events offer it, and the confirmation that
says what the undo changes in production before anything is written."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_event_undoable
from apps.console.scoping import console_principal
from apps.pipelines.models import Function
from apps.pipelines.undo import UndoPlan


def can_undo(request: HttpRequest) -> bool:
    """Developers and owners of the current tenant; viewers never see Undo."""
    principal = console_principal(request)
    return principal is not None and principal.can_write_config


def undone_ids(events: Iterable[AuditEvent]) -> set[str]:
    """Which of these undoable events were undone already (one query for a page)."""
    ids = [event.id for event in events if audit_event_undoable(event)]
    if not ids:
        return set()
    undos = AuditEvent.objects.filter(details__undo_of__in=ids).values_list("details", flat=True)
    return {str(details.get("undo_of")) for details in undos}


def undo_url(event: AuditEvent) -> str:
    return reverse("admin:audit_auditevent_undo", args=[event.id])


def safe_next(request: HttpRequest) -> str:
    """Where to go after the undo: a page of this site that asked, else the history."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else reverse("admin:audit_auditevent_changelist")


def production_state(function: Function, *, enabled: bool) -> str:
    """How a function takes part in production runs: only enabled, published ones run."""
    if not enabled:
        return "disabled: skipped"
    if function.live_release_id is None:
        return "not published: skipped"
    return f"v{function.live_release.version} live: runs"  # type: ignore[union-attr]


def _order(ids: list[str], functions: dict[str, Function]) -> list[dict[str, str]]:
    return [
        {
            "name": functions[fid].name,
            "state": production_state(functions[fid], enabled=functions[fid].enabled),
        }
        for fid in ids
        if fid in functions
    ]


def undo_confirmation(plan: UndoPlan) -> dict[str, Any]:
    """The title, the sentence and the before/after rows the confirmation page shows."""
    if plan.function is None:
        functions = {
            f.pk: f
            for f in Function.objects.filter(pk__in=plan.order_now).select_related("live_release")
        }
        return {
            "undo_title": f"Put {plan.trigger} back in its previous order?",
            "undo_effect": (
                f"New {plan.trigger} runs take the functions in the order below at once. Each "
                "function receives what the one before it passed on, so the order can change "
                "the decision."
            ),
            "order_now": _order(plan.order_now, functions),
            "order_after": _order(plan.order_after, functions),
        }
    function = Function.objects.select_related("live_release").get(pk=plan.function.pk)
    enable = not function.enabled
    return {
        "undo_title": f"{'Enable' if enable else 'Disable'} {function.name} again?",
        "undo_effect": _toggle_effect(function, plan.trigger, enable=enable),
        "function_name": function.name,
        "state_now": production_state(function, enabled=function.enabled),
        "state_after": production_state(function, enabled=enable),
    }


def _toggle_effect(function: Function, trigger: str, *, enable: bool) -> str:
    live = function.live_release
    if live is None:
        return f"{function.name} has no published version: production runs are unchanged."
    if enable:
        return f"From now on, {trigger} runs v{live.version} of {function.name} again."
    return (
        f"From now on, {trigger} skips {function.name} (v{live.version} live): "
        "its checks no longer apply."
    )
