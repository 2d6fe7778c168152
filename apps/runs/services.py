"""Executing pipelines and recording runs: the one code path for the execute API,
the test endpoints and the Celery task that finishes async work.

A run is written exactly once when its synchronous part ends (including denies,
errors, timeouts and sandbox crashes), before the response leaves. Before its code
starts it is noted in the process's journal (``apps.runs.journal``), so a run whose
process dies before that write is still recorded, as ``lost``, by the sweep. Async functions
and async-mode runs are finished by ``run_continue`` in a Celery task, which is the
only writer that updates a run, and runs each function at most once per run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import ipaddress
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from celery import signature
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from apps.core.errors import Conflict
from apps.core.ids import new_id
from apps.core.triggers import trigger_named
from apps.runs import fairness
from apps.runs.journal import journal, lost_run_entry, lost_steps
from apps.runs.models import IdempotencyClaim, Run, RunDecision, RunMode, RunSource, RunStatus
from apps.runs.selectors import (
    PlannedFunction,
    draft_functions_for_trigger,
    env_for_tenant,
    function_for_test,
    live_functions_for_trigger,
    planned_function_at_version,
)
from apps.runtime import wire
from apps.runtime.jobs import STEP_KEYS, PipelineJob, PipelineResult, StepResult
from apps.secrets.redaction import redact
from apps.tenants.models import Tenant

logger = logging.getLogger(__name__)

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# A claim whose run never appeared (its process died mid-request) may be taken over.
IDEMPOTENCY_STALE_AFTER = timedelta(seconds=60)
IDEMPOTENCY_WAIT_SECONDS = 25.0  # the whole-run budget (20 s) plus a margin


@dataclass(frozen=True)
class ExecuteOutcome:
    status_code: int  # 200 (sync) or 202 (async mode)
    body: dict[str, Any]


@dataclass(frozen=True)
class _Origin:
    """Who asked for a run and how it is labelled."""

    tenant: Tenant
    trigger: str
    source: str
    caller: str
    client_ip: str | None
    idempotency_key: str | None = None


# --- Entry points ---------------------------------------------------------------------


def run_execute(
    *,
    tenant: Tenant,
    trigger: str,
    user: dict[str, Any],
    context: dict[str, Any],
    mode: str | None,
    idempotency_key: str | None,
    caller: str,
    client_ip: str | None,
) -> ExecuteOutcome:
    """SPEC §6 execute: the live pipeline, sync or async, idempotent per key for 24 h."""
    mode = mode or trigger_named(trigger).default_mode
    origin = _Origin(tenant, trigger, RunSource.API, caller, _clean_ip(client_ip), idempotency_key)
    run_id = new_id("run")
    if idempotency_key:
        request = _ClaimedRequest(trigger, _request_sha256(user=user, context=context, mode=mode))
        earlier = _idempotency_claim(
            tenant=tenant, key=idempotency_key, run_id=run_id, request=request
        )
        if earlier is not None:
            return _replay_response(earlier)
    functions = live_functions_for_trigger(tenant=tenant, trigger=trigger)
    if mode == RunMode.ASYNC and functions:
        run = _record_queued(
            origin=origin, run_id=run_id, functions=functions, user=user, context=context
        )
        return ExecuteOutcome(202, {"run_id": run.id, "status": "queued"})
    run, body = _execute_sync(
        origin=origin,
        run_id=run_id,
        functions=functions,
        user=user,
        context=context,
        inline_async=False,
        mode=mode,
    )
    if mode == RunMode.ASYNC:
        return ExecuteOutcome(202, {"run_id": run.id, "status": "queued"})
    return ExecuteOutcome(200, body)


def run_test_pipeline(
    *,
    tenant: Tenant,
    trigger: str,
    user: dict[str, Any],
    context: dict[str, Any],
    caller: str,
    client_ip: str | None,
) -> dict[str, Any]:
    """The pipeline's enabled drafts, async ones included inline; recorded as a test run."""
    trigger = trigger_named(trigger).name
    origin = _Origin(tenant, trigger, RunSource.TEST, caller, _clean_ip(client_ip))
    functions = draft_functions_for_trigger(tenant=tenant, trigger=trigger)
    run, body = _execute_sync(
        origin=origin,
        run_id=new_id("run"),
        functions=functions,
        user=user,
        context=context,
        inline_async=True,
        mode=RunMode.SYNC,
    )
    return {**body, "warnings": run_warnings(run)}


def run_test_function(
    *,
    tenant: Tenant,
    function_id: str,
    code: str | None,
    user: dict[str, Any],
    context: dict[str, Any],
    caller: str,
    client_ip: str | None,
) -> dict[str, Any]:
    """One function at its draft (or the given code), recorded as a test run."""
    function, trigger = function_for_test(tenant=tenant, id=function_id, code=code)
    origin = _Origin(tenant, trigger, RunSource.TEST, caller, _clean_ip(client_ip))
    run, body = _execute_sync(
        origin=origin,
        run_id=new_id("run"),
        functions=(function,),
        user=user,
        context=context,
        inline_async=True,
        mode=RunMode.SYNC,
    )
    return {**body, "warnings": run_warnings(run)}


def run_warnings(run: Run) -> list[dict[str, Any]]:
    """What a test result must show before anyone publishes: each synchronous step that
    timed out while the run still allowed (a security gate failing open in production).
    Async steps never decide, so their timeouts are not warned about."""
    if run.decision != RunDecision.ALLOW:
        return []
    blocking = trigger_named(run.trigger).blocking
    return [
        _timeout_allowed(step, blocking=blocking)
        for step in run.steps
        if step.get("status") == "timeout" and not step.get("async")
    ]


def _timeout_allowed(step: dict[str, Any], *, blocking: bool) -> dict[str, Any]:
    message = f"{step['name']} timed out and was skipped; the run still allowed."
    if blocking:
        message += (
            " On this blocking trigger a timeout lets the request through: turn on"
            " 'deny on timeout' (terminate_on_timeout) to fail closed."
        )
    return {
        "code": "timeout_allowed",
        "function_id": step["function_id"],
        "name": step["name"],
        "message": message,
    }


def run_continue(*, run_id: str) -> None:
    """Finish what a run has queued (the Celery task's body). Safe to call again."""
    run = Run.objects.select_related("tenant").filter(id=run_id).first()
    if run is None:
        logger.warning("run %s to continue does not exist (pruned?)", run_id)
        return
    if run.mode == RunMode.ASYNC and not run.decision:
        _continue_pipeline(run_id=run_id, tenant=run.tenant)
    steps = Run.objects.filter(id=run_id).values_list("steps", flat=True).get()
    for index, step in enumerate(steps):
        if step.get("async") and step["status"] == "queued":
            _continue_async_step(run_id=run_id, tenant=run.tenant, index=index)


# --- The synchronous part -------------------------------------------------------------


def _execute_sync(
    *,
    origin: _Origin,
    run_id: str,
    functions: tuple[PlannedFunction, ...],
    user: dict[str, Any],
    context: dict[str, Any],
    inline_async: bool,
    mode: str,
) -> tuple[Run, dict[str, Any]]:
    """Run the synchronous part and store the run, journaled while it is in flight."""
    with _journaled(
        origin=origin, run_id=run_id, functions=functions, user=user, context=context, mode=mode
    ):
        started = time.perf_counter()
        env, secrets = env_for_tenant(tenant=origin.tenant) if functions else ({}, {})
        sync_part = [f for f in functions if not f.is_async]
        result = _sandbox_run(origin.tenant, origin.trigger, sync_part, user, context, env)
        result = _redact(result, secrets)
        allowed = result.decision == RunDecision.ALLOW
        outcomes = [step.to_wire() for step in result.steps]
        steps = _merge_steps([_planned_step(f) for f in functions], outcomes, allowed=allowed)
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        if inline_async:
            steps = _run_async_steps_inline(origin, functions, steps, result, env, secrets)
        run = _insert_run(
            origin=origin,
            run_id=run_id,
            mode=mode,
            user=user,
            context=context,
            result=result,
            steps=steps,
            duration_ms=duration_ms,
            functions=functions,
        )
        if any(step["status"] == "queued" for step in steps):
            _enqueue(run.id)
        return run, _response_body(run, result, steps)


@contextlib.contextmanager
def _journaled(
    *,
    origin: _Origin,
    run_id: str,
    functions: tuple[PlannedFunction, ...],
    user: dict[str, Any],
    context: dict[str, Any],
    mode: str,
) -> Iterator[None]:
    """Journal the run while its code may run (journal.py): marked recorded if the body
    returns, left for the sweep if it raises."""
    if not functions:  # no code runs: nothing to journal
        yield
        return
    entry = lost_run_entry(
        run_id=run_id,
        tenant=origin.tenant,
        trigger=origin.trigger,
        source=origin.source,
        mode=mode,
        caller=origin.caller,
        client_ip=origin.client_ip,
        idempotency_key=origin.idempotency_key,
        user=user,
        context=context,
        planned_steps=[_planned_step(f) for f in functions],
        search_columns=_search_columns(user, functions),
    )
    line = journal.started(entry)
    recorded = False
    try:
        yield
        recorded = True
    finally:
        journal.finished(run_id, line, recorded=recorded)


def _run_async_steps_inline(
    origin: _Origin,
    functions: tuple[PlannedFunction, ...],
    steps: list[dict[str, Any]],
    result: PipelineResult,
    env: dict[str, str],
    secrets: dict[str, str],
) -> list[dict[str, Any]]:
    """Test runs show async functions' outcomes at once instead of queueing them."""
    by_id = {f.id: f for f in functions}
    done = []
    for step in steps:
        if step.get("async") and step["status"] == "queued":
            outcome = _run_one(
                origin.tenant,
                origin.trigger,
                by_id[step["function_id"]],
                result.user,
                result.context,
                env,
                secrets,
            )
            step = {**outcome, "async": True, "attempts": 1}
        done.append(step)
    return done


def _sandbox_run(
    tenant: Tenant,
    trigger: str,
    functions: Iterable[PlannedFunction],
    user: dict[str, Any],
    context: dict[str, Any],
    env: dict[str, str],
) -> PipelineResult:
    """The sandbox's result; a sandbox that cannot answer becomes a recorded deny."""
    functions = list(functions)
    if not functions:
        return PipelineResult(decision=RunDecision.ALLOW, error=None, user=user, context=context)
    tenant_id = str(tenant.pk)
    limits = {k: v for k, v in (tenant.limits or {}).items() if k not in fairness.FAIRNESS_LIMITS}
    job = PipelineJob(
        tenant_id=tenant_id,
        trigger=trigger,
        functions=tuple(functions),
        user=user,
        context=context,
        env=env,
        limits=limits,
    )
    try:
        # Lazy: no V8 in a web process before it forks.
        from apps.runtime import run_pipeline_metered  # type: ignore[attr-defined,unused-ignore]

        with fairness.admission(tenant_id, tenant.limits or {}) as charge:
            result, cpu_ms = run_pipeline_metered(job)
            charge(cpu_ms)
        return result
    except fairness.TenantBusy as busy:
        return _refused(functions, user, context, "tenant_busy", busy.message)
    except Exception:
        logger.exception("sandbox failed for tenant %s trigger %s", tenant.pk, trigger)
        message = "The function sandbox is unavailable; the run was denied."
        return _refused(functions, user, context, "sandbox_unavailable", message)


# Codes of runs refused before any function ran; such a run's status is error.
REFUSED_CODES = ("sandbox_unavailable", "tenant_busy")


def _refused(
    functions: list[PlannedFunction],
    user: dict[str, Any],
    context: dict[str, Any],
    code: str,
    message: str,
) -> PipelineResult:
    # Fail closed: a blocking trigger must not let a login through unchecked.
    error = {"name": "SandboxError", "code": code, "message": message}
    steps = tuple(
        StepResult(
            function_id=f.id,
            name=f.name,
            version=f.version,
            status="error",
            duration_ms=0,
            logs=[],
            error=error,
        )
        for f in functions
    )
    return PipelineResult(
        decision=RunDecision.DENY,
        error={"code": code, "message": message, "function": functions[0].name},
        user=user,
        context=context,
        steps=steps,
    )


def _redact(result: PipelineResult, secrets: dict[str, str]) -> PipelineResult:
    """Secret values out of what is stored and returned (the seam to ``apps.secrets``)."""
    if not secrets:
        return result
    return PipelineResult.from_wire(redact(result.to_wire(), secrets))


def _planned_step(function: PlannedFunction) -> dict[str, Any]:
    return {
        "function_id": function.id,
        "name": function.name,
        "version": function.version,
        "status": "queued",
        "duration_ms": 0,
        "logs": [],
        "error": None,
        "async": function.is_async,
    }


def _merge_steps(
    planned: list[dict[str, Any]], outcomes: list[dict[str, Any]], *, allowed: bool
) -> list[dict[str, Any]]:
    """The sandbox's steps in pipeline order, with the async functions queued (or
    skipped, when the flow was denied before they could run)."""
    by_id = {step["function_id"]: step for step in outcomes}
    merged = []
    for step in planned:
        if step["async"]:
            queued = {**step, "attempts": 0}
            merged.append(queued if allowed else {**queued, "status": "skipped"})
            continue
        outcome = by_id.pop(step["function_id"], None)
        merged.append(dict(outcome) if outcome is not None else {**step, "status": "skipped"})
    for step in merged:
        if not step.get("async"):
            step.pop("async", None)
    return merged + list(by_id.values())


def _insert_run(
    *,
    origin: _Origin,
    run_id: str,
    mode: str,
    user: dict[str, Any],
    context: dict[str, Any],
    result: PipelineResult,
    steps: list[dict[str, Any]],
    duration_ms: float,
    functions: tuple[PlannedFunction, ...],
) -> Run:
    error = result.error or {}
    run = Run(
        id=run_id,
        tenant=origin.tenant,
        trigger=origin.trigger,
        source=origin.source,
        mode=mode,
        decision=result.decision,
        status=_status_of(result.decision, error, steps),
        error_code=str(error.get("code") or "")[:100],
        error_message=str(error.get("message") or ""),
        error_function=str(error.get("function") or "")[:100],
        input={"user": user, "context": context},
        output=result.output(),
        steps=steps,
        duration_ms=duration_ms,
        caller=origin.caller[:160],
        idempotency_key=origin.idempotency_key or "",
        client_ip=origin.client_ip,
        **_search_columns(user, functions),
        created_at=timezone.now(),
    )
    _insert(run)
    return run


def _insert(run: Run) -> None:
    """One INSERT through a statement built once per process.

    The ORM compiles the same INSERT on every ``create()`` (~0.5 ms of CPU here, a
    large share of the whole request); the values still go through each field's own
    ``get_db_prep_save``, so they are stored exactly as ``create()`` would store them.
    """
    fields = Run._meta.concrete_fields
    params = [_db_param(field, field.pre_save(run, True)) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor), params)
    run._state.adding = False
    run._state.db = connection.alias


def _db_param(field: Any, value: Any) -> Any:
    """A column's parameter; JSON columns are encoded with orjson (the same JSON text, a
    fraction of the standard library's cost for the few kilobytes a run carries)."""
    if not isinstance(field, models.JSONField) or value is None:
        return field.get_db_prep_save(value, connection)
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return Jsonb(value, dumps=_json_text)
    return _json_text(value)


def _json_text(value: Any) -> str:
    return wire.dumps(value).decode("utf-8")


@functools.cache
def _insert_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in Run._meta.concrete_fields)
    marks = ", ".join(["%s"] * len(Run._meta.concrete_fields))
    # Names come from the model, values are parameters: nothing from outside is spliced in.
    return f"INSERT INTO {quote(Run._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608


def _record_queued(
    *,
    origin: _Origin,
    run_id: str,
    functions: tuple[PlannedFunction, ...],
    user: dict[str, Any],
    context: dict[str, Any],
) -> Run:
    """Async mode: the run is recorded as queued and the whole pipeline runs in the task."""
    steps = [{**_planned_step(f), "attempts": 0} for f in functions]
    run = Run.objects.create(
        id=run_id,
        tenant=origin.tenant,
        trigger=origin.trigger,
        source=origin.source,
        mode=RunMode.ASYNC,
        decision="",
        status=RunStatus.QUEUED,
        input={"user": user, "context": context},
        output={},
        steps=steps,
        caller=origin.caller[:160],
        idempotency_key=origin.idempotency_key or "",
        client_ip=origin.client_ip,
        **_search_columns(user, functions),
        created_at=timezone.now(),
    )
    _enqueue(run.id)
    return run


def _status_of(decision: str, error: dict[str, Any], steps: list[dict[str, Any]]) -> str:
    statuses = {step["status"] for step in steps}
    if "queued" in statuses:
        return RunStatus.QUEUED
    if "error" in statuses or error.get("code") in REFUSED_CODES:
        return RunStatus.ERROR
    if "timeout" in statuses:
        return RunStatus.TIMEOUT
    if decision == RunDecision.DENY:
        return RunStatus.DENIED
    return RunStatus.OK


def _search_columns(user: dict[str, Any], functions: tuple[PlannedFunction, ...]) -> dict[str, str]:
    user_id = next((user[k] for k in ("id", "userId", "user_id") if user.get(k)), "")
    email = user.get("email")
    return {
        "user_id": str(user_id)[:200],
        "user_email": email[:254] if isinstance(email, str) else "",
        "function_ids": f" {' '.join(f.id for f in functions)} " if functions else "",
    }


def _response_body(run: Run, result: PipelineResult, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """SPEC §6 sync response: the sandbox result plus run id and trigger."""
    return {
        "run_id": run.id,
        "trigger": run.trigger,
        "decision": result.decision,
        "error": result.error,
        **result.output(),
        "steps": [{key: step.get(key) for key in STEP_KEYS} for step in steps],
        "duration_ms": run.duration_ms,
    }


# Named, not imported: the task (apps.runs.tasks) calls into this module. RunsConfig.ready
# registers it, so an eager setting (CELERY_TASK_ALWAYS_EAGER, the tests) runs it in-process.
RUN_CONTINUE_TASK = "apps.runs.tasks.run_continue_task"


def _clean_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value or ""))
    except ValueError:
        return None


def _enqueue(run_id: str) -> None:
    def send() -> None:
        try:
            signature(RUN_CONTINUE_TASK, args=(run_id,)).delay()
        except Exception:
            # The run is recorded with its steps queued; the response must not fail.
            logger.exception("could not enqueue run %s", run_id)

    transaction.on_commit(send)


# --- Idempotency ----------------------------------------------------------------------


@dataclass(frozen=True)
class _ClaimedRequest:
    """What a key is bound to: a replay answers only the same request."""

    trigger: str
    sha256: str


def _request_sha256(*, user: dict[str, Any], context: dict[str, Any], mode: str) -> str:
    """A digest of the body as parsed (key order and spacing do not count)."""
    document = {"user": user, "context": context, "mode": mode}
    try:
        canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()


def _idempotency_claim(
    *, tenant: Tenant, key: str, run_id: str, request: _ClaimedRequest
) -> Run | None:
    """Claim the key for this request, or return the earlier run that holds it.

    The unique (tenant, key) row makes concurrent duplicates run once on SQLite and
    PostgreSQL alike: the loser waits for the winner's run and answers with it. A live
    claim made for another trigger or body is a conflict, never that run's answer.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            IdempotencyClaim.objects.create(
                tenant=tenant,
                key=key,
                run_id=run_id,
                created_at=now,
                trigger=request.trigger,
                request_sha256=request.sha256,
            )
        return None
    except IntegrityError:
        pass
    deadline = time.monotonic() + IDEMPOTENCY_WAIT_SECONDS
    while True:
        claim = IdempotencyClaim.objects.filter(tenant=tenant, key=key).first()
        if claim is None:  # pruned meanwhile: claim it afresh
            return _idempotency_claim(tenant=tenant, key=key, run_id=run_id, request=request)
        run = Run.objects.filter(tenant=tenant, id=claim.run_id).first()
        now = timezone.now()
        if _claim_expired(claim, run, now) and _take_over(claim, run_id, now, request):
            return None
        _refuse_another_request(claim, request)
        if run is not None:
            return run
        if time.monotonic() > deadline:
            raise Conflict(
                "A request with this idempotency key is still being processed.",
                details={"idempotency_key": key},
            )
        time.sleep(0.05)


def _claim_expired(claim: IdempotencyClaim, run: Run | None, now: datetime) -> bool:
    if run is not None and run.status == RunStatus.LOST:
        return True  # its caller got no answer: a retry with the key runs the pipeline again
    if run is None:
        return claim.created_at < now - IDEMPOTENCY_STALE_AFTER
    return claim.created_at < now - IDEMPOTENCY_WINDOW


def _take_over(
    claim: IdempotencyClaim, run_id: str, now: datetime, request: _ClaimedRequest
) -> bool:
    # Conditional on the old run id, so two takers of one expired key cannot both win.
    taken = IdempotencyClaim.objects.filter(pk=claim.pk, run_id=claim.run_id).update(
        run_id=run_id, created_at=now, trigger=request.trigger, request_sha256=request.sha256
    )
    return taken == 1


def _refuse_another_request(claim: IdempotencyClaim, request: _ClaimedRequest) -> None:
    differs = []
    if claim.trigger and claim.trigger != request.trigger:
        differs.append("trigger")
    if claim.request_sha256 and claim.request_sha256 != request.sha256:
        differs.append("body")
    if not differs:
        return
    what = []
    if "trigger" in differs:
        what.append(f"the trigger {claim.trigger}, not {request.trigger}")
    if "body" in differs:
        what.append("a different body (user, context or mode)")
    raise Conflict(
        f"This idempotency key was first used with {' and '.join(what)}. "
        "Send a new key for a different request.",
        code="idempotency_conflict",
        details={"idempotency_key": claim.key, "differs": differs},
    )


def idempotency_claims_prune(*, batch_size: int = 1000) -> int:
    """Delete claims past their 24 h window (daily, with run retention); returns how many."""
    cutoff = timezone.now() - IDEMPOTENCY_WINDOW
    deleted = 0
    while True:
        ids = list(
            IdempotencyClaim.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :batch_size
            ]
        )
        if not ids:
            return deleted
        deleted += IdempotencyClaim.objects.filter(pk__in=ids).delete()[0]


def _replay_response(run: Run) -> ExecuteOutcome:
    if run.mode == RunMode.ASYNC:
        return ExecuteOutcome(202, {"run_id": run.id, "status": "queued"})
    output = run.output or {}
    result = PipelineResult(
        decision=run.decision,
        error=run_error(run),
        user=output.get("user") or {},
        context=output.get("context") or {},
        **{key: output[key] for key in _RECORDED_EXTRAS if key in output},
    )
    return ExecuteOutcome(200, _response_body(run, result, run.steps))


# What a run's output holds besides the objects (absent from runs recorded without them).
_RECORDED_EXTRAS = ("custom_data", "id_token_claims", "access_token_claims")


# --- The asynchronous part (Celery) ---------------------------------------------------


def _locked_run(run_id: str) -> Run:
    return Run.objects.select_for_update().select_related("tenant").get(id=run_id)


def _continue_pipeline(*, run_id: str, tenant: Tenant) -> None:
    """Async mode: run the pipeline's sync part once; a redelivery after a lost worker
    records the loss instead of running the functions again."""
    with transaction.atomic():
        run = _locked_run(run_id)
        if run.decision:
            return
        sync_steps = [s for s in run.steps if not s.get("async")]
        if any(step.get("attempts", 0) > 0 for step in sync_steps):
            _record_pipeline_lost(run)
            return
        for step in sync_steps:
            step["attempts"] = 1
        run.async_attempts += 1
        run.save(update_fields=["steps", "async_attempts"])
    functions = _functions_of_steps(tenant, sync_steps)
    env, secrets = env_for_tenant(tenant=tenant)
    user, context = run.input["user"], run.input["context"]
    started = time.perf_counter()
    result = _redact(_sandbox_run(tenant, run.trigger, functions, user, context, env), secrets)
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    _record_pipeline_result(run_id, result, duration_ms)


def _functions_of_steps(tenant: Tenant, steps: list[dict[str, Any]]) -> list[PlannedFunction]:
    functions = []
    for step in steps:
        function = planned_function_at_version(
            tenant=tenant, function_id=step["function_id"], version=step["version"]
        )
        if function is not None:  # deleted since the request: recorded as skipped
            functions.append(function)
    return functions


def _record_pipeline_result(run_id: str, result: PipelineResult, duration_ms: float) -> None:
    with transaction.atomic():
        run = _locked_run(run_id)
        allowed = result.decision == RunDecision.ALLOW
        outcomes = [{**step.to_wire(), "attempts": 1} for step in result.steps]
        run.steps = _merge_steps(run.steps, outcomes, allowed=allowed)
        _set_outcome(run, result)
        run.duration_ms = duration_ms
        run.save(update_fields=[*_OUTCOME_FIELDS, "steps", "duration_ms"])


def _record_pipeline_lost(run: Run) -> None:
    error = {"code": "worker_lost", "message": "The worker running this pipeline was lost."}
    run.steps = lost_steps(run.steps, {"name": "WorkerLost", **error})
    result = PipelineResult(
        decision=RunDecision.DENY,
        error={**error, "function": None},
        user=run.input["user"],
        context=run.input["context"],
    )
    _set_outcome(run, result)
    run.save(update_fields=[*_OUTCOME_FIELDS, "steps"])


_OUTCOME_FIELDS = ["decision", "status", "error_code", "error_message", "error_function", "output"]


def _set_outcome(run: Run, result: PipelineResult) -> None:
    error = result.error or {}
    run.decision = result.decision
    run.error_code = str(error.get("code") or "")[:100]
    run.error_message = str(error.get("message") or "")
    run.error_function = str(error.get("function") or "")[:100]
    run.output = result.output()
    run.status = _status_of(run.decision, error, run.steps)


def _continue_async_step(*, run_id: str, tenant: Tenant, index: int) -> None:
    with transaction.atomic():
        run = _locked_run(run_id)
        step = run.steps[index]
        if step["status"] != "queued":
            return
        if step.get("attempts", 0) > 0:  # started before, outcome never recorded
            _record_step(run, index, _lost_step(step))
            return
        step["attempts"] = 1
        run.async_attempts += 1
        run.save(update_fields=["steps", "async_attempts"])
    function = planned_function_at_version(
        tenant=tenant, function_id=step["function_id"], version=step["version"]
    )
    if function is None:
        outcome = {**step, "status": "skipped", "error": None}
    else:
        env, secrets = env_for_tenant(tenant=tenant)
        source = run.output or run.input
        outcome = _run_one(
            tenant, run.trigger, function, source["user"], source["context"], env, secrets
        )
    with transaction.atomic():
        run = _locked_run(run_id)
        _record_step(run, index, {**outcome, "async": True, "attempts": 1})


def _run_one(
    tenant: Tenant,
    trigger: str,
    function: PlannedFunction,
    user: dict[str, Any],
    context: dict[str, Any],
    env: dict[str, str],
    secrets: dict[str, str],
) -> dict[str, Any]:
    """An async function on its own: its outcome is recorded, never acted upon."""
    result = _redact(_sandbox_run(tenant, trigger, [function], user, context, env), secrets)
    if result.steps:
        return result.steps[0].to_wire()
    skipped = {**_planned_step(function), "status": "skipped"}
    return {key: skipped[key] for key in STEP_KEYS}


def _lost_step(step: dict[str, Any]) -> dict[str, Any]:
    message = "The worker running this function was lost; it was not run again."
    error = {"name": "WorkerLost", "code": "worker_lost", "message": message}
    return {**step, "status": "error", "error": error}


def _record_step(run: Run, index: int, step: dict[str, Any]) -> None:
    run.steps[index] = step
    run.status = _status_of(run.decision, _run_error_dict(run), run.steps)
    run.save(update_fields=["steps", "status"])


def _run_error_dict(run: Run) -> dict[str, Any]:
    return {"code": run.error_code} if run.error_code else {}


# --- Presentation -----------------------------------------------------------------------


def run_error(run: Run) -> dict[str, Any] | None:
    if not run.error_code:
        return None
    return {
        "code": run.error_code,
        "message": run.error_message,
        "function": run.error_function or None,
    }


def run_to_dict(run: Run) -> dict[str, Any]:
    """SPEC §6 Run resource (plus ``status``, the run's overall outcome)."""
    return {
        "run_id": run.id,
        "trigger": run.trigger,
        "source": run.source,
        "decision": run.decision or None,
        "status": run.status,
        "error": run_error(run),
        "input": run.input,
        "output": run.output or None,
        "steps": run.steps,
        "duration_ms": run.duration_ms,
        "created_at": run.created_at.isoformat(),
        "caller": run.caller,
        "idempotency_key": run.idempotency_key or None,
    }
