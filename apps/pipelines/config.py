"""Configuration as code: a tenant's pipelines as one deterministic JSON document.

The document holds what executes (live code and settings), in order, and the
names of the env vars the functions expect (never values). Release numbers and
ids are not in it: they belong to the environment. A function never published
carries its draft instead (``"code": null, "draft": "..."``).

Importing compares the document with the tenant and applies only differences
(functions are matched by trigger and name), so importing twice changes nothing
the second time, and export → import into an empty tenant → export is identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.audit.models import AuditKind
from apps.audit.services import audit_record
from apps.core.actor import Actor
from apps.core.errors import ServiceError
from apps.core.triggers import TRIGGERS, canonical_trigger
from apps.pipelines import services
from apps.pipelines.models import FUNCTION_SETTINGS, Function
from apps.pipelines.selectors import functions_for_pipeline, pipeline_find
from apps.secrets.selectors import env_names
from apps.tenants.models import Tenant

FORMAT = "genauth-pipeline/1"
# A function's entry: its settings (the name identifies it) and its live code or its draft.
SETTINGS = tuple(field for field in FUNCTION_SETTINGS if field != "name")
FUNCTION_KEYS = {*FUNCTION_SETTINGS, "code", "draft"}
IMPORT_COMMENT = "Imported from configuration"


# --- export -------------------------------------------------------------------------------


def _function_entry(function: Function) -> dict[str, Any]:
    entry: dict[str, Any] = {field: getattr(function, field) for field in FUNCTION_SETTINGS}
    live = function.live_release
    entry["code"] = live.code if live else None
    if live is None:
        entry["draft"] = function.code
    return entry


def pipelines_export(*, tenant: Tenant) -> dict[str, Any]:
    pipelines: dict[str, Any] = {}
    for trigger in TRIGGERS:
        pipeline = pipeline_find(tenant=tenant, trigger=trigger)
        functions = functions_for_pipeline(pipeline=pipeline)
        if pipeline is None or not (functions or pipeline.settings):
            continue
        pipelines[trigger] = {
            "settings": pipeline.settings,
            "functions": [_function_entry(function) for function in functions],
        }
    return {"format": FORMAT, "env": env_names(tenant=tenant), "pipelines": pipelines}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# --- validation ---------------------------------------------------------------------------


def _refuse(where: str, message: str) -> ServiceError:
    return ServiceError(f"{where}: {message}", details={"field": where})


def _check_document(tenant: Tenant, document: Any) -> dict[str, list[dict[str, Any]]]:
    """trigger -> checked function entries; raises with the path of the first problem."""
    if not isinstance(document, dict):
        raise _refuse("document", "must be a JSON object.")
    if document.get("format") != FORMAT:
        raise _refuse("format", f"must be {FORMAT!r}.")
    if not isinstance(document.get("env", []), list):
        raise _refuse("env", "must be a list of names.")
    pipelines = document.get("pipelines")
    if not isinstance(pipelines, dict):
        raise _refuse("pipelines", "must be an object keyed by trigger.")
    checked = {}
    for given, body in pipelines.items():
        where = f"pipelines.{given}"
        trigger = canonical_trigger(given)
        if trigger not in TRIGGERS:
            raise _refuse(where, "unknown trigger.")
        if trigger in checked:
            raise _refuse(where, f"names the same trigger as {trigger}.")
        if not isinstance(body, dict) or not isinstance(body.get("functions", []), list):
            raise _refuse(where, 'must be {"settings": {...}, "functions": [...]}.')
        if not isinstance(body.get("settings", {}), dict):
            raise _refuse(f"{where}.settings", "must be an object.")
        checked[trigger] = [
            _check_function(tenant, f"{where}.functions[{index}]", entry)
            for index, entry in enumerate(body.get("functions", []))
        ]
        names = [entry["name"] for entry in checked[trigger]]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise _refuse(where, f"duplicate function names {duplicates}.")
    return checked


def _check_function(tenant: Tenant, where: str, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise _refuse(where, "must be an object.")
    unknown = sorted(set(entry) - FUNCTION_KEYS)
    if unknown or "name" not in entry:
        raise _refuse(where, f"needs a name; unknown keys {unknown}." if unknown else "no name.")
    code, draft = entry.get("code"), entry.get("draft")
    if (code is None) == (draft is None):
        raise _refuse(where, 'needs either "code" (live) or "draft" (never published).')
    fields = {key: value for key, value in entry.items() if key in FUNCTION_SETTINGS}
    fields["code"] = code if code is not None else draft
    try:
        cleaned = services.clean_function_fields(tenant=tenant, changes=fields)
        if code is not None:
            services.check_executable(code)
    except ServiceError as exc:
        raise _refuse(f"{where}.{exc.details.get('field', '')}".rstrip("."), exc.message) from None
    return {"name": cleaned.pop("name"), "publish": code is not None, **cleaned}


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    text: str
    apply: Callable[[], Any]


@dataclass
class Plan:
    steps: list[Step]
    notes: list[str]

    def lines(self) -> list[str]:
        body = [step.text for step in self.steps] or ["No changes."]
        return body + self.notes


def import_plan(*, tenant: Tenant, document: Any, actor: Actor, prune: bool = False) -> Plan:
    """What importing ``document`` would change; ``plan.steps`` apply it in order."""
    wanted = _check_document(tenant, document)
    steps: list[Step] = []
    bodies = {canonical_trigger(name): body for name, body in document["pipelines"].items()}
    triggers = [t for t in TRIGGERS if t in wanted or prune]
    for trigger in triggers:
        body = bodies.get(trigger, {})
        steps += _pipeline_steps(tenant, trigger, wanted.get(trigger, []), actor, prune)
        settings = body.get("settings", {})
        pipeline = pipeline_find(tenant=tenant, trigger=trigger)
        if trigger in wanted and settings != (pipeline.settings if pipeline else {}):
            steps.append(
                Step(
                    f"{trigger}: set settings to {json.dumps(settings, sort_keys=True)}",
                    _bind(
                        services.pipeline_update_settings,
                        tenant=tenant,
                        trigger=trigger,
                        settings=settings,
                        actor=actor,
                    ),
                )
            )
    present = set(env_names(tenant=tenant))
    notes = [
        f"env: {name} is not set in this tenant; set it before the functions need it."
        for name in sorted(set(document.get("env", [])) - present)
        if isinstance(name, str)
    ]
    return Plan(steps=steps, notes=notes)


def _bind(service: Callable[..., Any], **kwargs: Any) -> Callable[[], Any]:
    return lambda: service(**kwargs)


def _pipeline_steps(
    tenant: Tenant, trigger: str, entries: list[dict[str, Any]], actor: Actor, prune: bool
) -> list[Step]:
    current = functions_for_pipeline(pipeline=pipeline_find(tenant=tenant, trigger=trigger))
    by_name = {function.name: function for function in current}
    names = [entry["name"] for entry in entries]
    extra = [function for function in current if function.name not in names]
    steps: list[Step] = []
    if prune:  # first, so that the pipeline never holds more than the limit
        steps += [
            Step(
                f'{trigger}: delete "{function.name}"',
                _bind(services.function_delete, function=function, actor=actor),
            )
            for function in extra
        ]
        extra = []
    for entry in entries:
        function = by_name.get(entry["name"])
        if function is None:
            steps.append(_create_step(tenant, trigger, entry, actor))
        else:
            steps += _update_steps(trigger, function, entry, actor)
    # New functions land at the end; functions not in the document stay after the others.
    kept = [function.name for function in current if prune is False or function.name in names]
    order = names + [function.name for function in extra]
    if kept + [name for name in names if name not in by_name] != order:
        steps.append(
            Step(
                f"{trigger}: order {', '.join(order)}",
                _bind(_reorder, tenant=tenant, trigger=trigger, names=order, actor=actor),
            )
        )
    return steps


def _create_step(tenant: Tenant, trigger: str, entry: dict[str, Any], actor: Actor) -> Step:
    verb = "create and publish" if entry["publish"] else "create (draft)"
    return Step(
        f'{trigger}: {verb} "{entry["name"]}"',
        _bind(
            services.function_create,
            tenant=tenant,
            trigger=trigger,
            actor=actor,
            comment=IMPORT_COMMENT,
            **entry,
        ),
    )


def _update_steps(
    trigger: str, function: Function, entry: dict[str, Any], actor: Actor
) -> list[Step]:
    live = function.live_release
    # A setting the document leaves out is kept as it is (a hand-written document may
    # name only the code); the export always writes every setting.
    changes = {
        field: entry[field]
        for field in SETTINGS
        if field in entry and getattr(function, field) != entry[field]
    }
    publish = entry["publish"] and (live is None or live.code != entry["code"])
    # The draft follows the document when publishing, or when nothing was ever published.
    draft_follows = publish or (not entry["publish"] and live is None)
    if draft_follows and function.code != entry["code"]:
        changes["code"] = entry["code"]
    steps = []
    if changes:
        described = ", ".join(sorted(changes))
        steps.append(
            Step(
                f'{trigger}: update "{function.name}" ({described})',
                _bind(
                    services.function_update,
                    function=function,
                    actor=actor,
                    comment=IMPORT_COMMENT,
                    **changes,
                ),
            )
        )
    if publish:
        steps.append(
            Step(
                f'{trigger}: publish "{function.name}" (code changed)',
                _bind(
                    services.function_publish,
                    function=function,
                    actor=actor,
                    comment=IMPORT_COMMENT,
                ),
            )
        )
    return steps


def _reorder(*, tenant: Tenant, trigger: str, names: list[str], actor: Actor) -> None:
    functions = functions_for_pipeline(pipeline=pipeline_find(tenant=tenant, trigger=trigger))
    ids = {function.name: function.pk for function in functions}
    services.pipeline_reorder(
        tenant=tenant, trigger=trigger, function_ids=[ids[name] for name in names], actor=actor
    )


def pipelines_import(
    *, tenant: Tenant, document: Any, actor: Actor, prune: bool = False, dry_run: bool = False
) -> Plan:
    """Apply ``document`` in one transaction (nothing on a dry run) and return the plan."""
    with transaction.atomic():
        plan = import_plan(tenant=tenant, document=document, actor=actor, prune=prune)
        if dry_run or not plan.steps:
            return plan
        for step in plan.steps:
            step.apply()
        audit_record(
            tenant=tenant,
            actor=actor,
            kind=AuditKind.CONFIG_IMPORTED,
            object_type="tenant",
            object_id=tenant.pk,
            details={"changes": [step.text for step in plan.steps], "prune": prune},
        )
    return plan
