"""The only writers of pipelines, functions and releases.

Each service runs in one transaction and writes its audit event in it. Whatever
changes what executes (publish, rollback, reorder, enable/disable, settings,
delete) also bumps ``Tenant.config_version`` in that transaction: executions key
their per-process caches on it, so a change is live for the very next run in
every process. Draft edits change nothing that executes: runs use the live
release's code, never ``Function.code``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import reversion
from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.audit.models import AuditKind
from apps.audit.services import audit_record
from apps.core.actor import Actor
from apps.core.errors import Conflict, NotFound, ServiceError
from apps.core.triggers import trigger_named
from apps.pipelines.models import (
    DEFAULT_TIMEOUT_MS,
    LIVE_SETTINGS,
    MAX_CODE_BYTES,
    MAX_FUNCTIONS_PER_PIPELINE,
    MAX_TIMEOUT_MS,
    MIN_TIMEOUT_MS,
    Function,
    Pipeline,
    Release,
    RevisionAuthor,
)
from apps.pipelines.selectors import pipeline_for_tenant, release_for_function
from apps.tenants.models import Tenant
from apps.tenants.services import tenant_config_bump

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2000
MAX_COMMENT_LENGTH = 500
# A draft or settings change of these fields alters what executes at once (not through a release).
LIVE_SETTING_FIELDS = frozenset(LIVE_SETTINGS)
MAX_SETTINGS_BYTES = 4096


# --- validation -----------------------------------------------------------------------


def _limit(tenant: Tenant, key: str, default: int) -> int:
    """SPEC §5 limits, which operators may override per tenant in ``Tenant.limits``."""
    value = (tenant.limits or {}).get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _invalid(field: str, message: str, **details: Any) -> ServiceError:
    return ServiceError(message, details={"field": field, **details})


def _utf8(field: str, value: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. "\ud800" in a JSON document
        raise _invalid(field, f"{field} is not valid Unicode text.") from None


def _clean_text(field: str, value: Any, *, max_length: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise _invalid(field, f"{field} must be a string.")
    _utf8(field, value)
    value = value.strip()
    if required and not value:
        raise _invalid(field, f"{field} may not be blank.")
    if len(value) > max_length:
        raise _invalid(field, f"{field} is longer than {max_length} characters.", limit=max_length)
    if any(ord(char) < 32 and char not in "\t\n\r" for char in value):
        raise _invalid(field, f"{field} may not contain control characters.")
    return value


def _clean_name(value: Any) -> str:
    name = _clean_text("name", value, max_length=MAX_NAME_LENGTH, required=True)
    if "\n" in name or "\r" in name or "\t" in name:
        raise _invalid("name", "name must be a single line.")
    return name


def _clean_code(tenant: Tenant, value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid("code", "code must be a string.")
    if not value.strip():
        raise _invalid("code", "code may not be blank.")
    limit = _limit(tenant, "code_bytes", MAX_CODE_BYTES)
    size = len(_utf8("code", value))
    if size > limit:
        raise _invalid("code", f"code is {size} bytes; the limit is {limit}.", limit=limit)
    return value


def _clean_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _invalid(field, f"{field} must be true or false.")
    return value


def _clean_timeout(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid("timeout_ms", "timeout_ms must be an integer (milliseconds).")
    if not MIN_TIMEOUT_MS <= value <= MAX_TIMEOUT_MS:
        raise _invalid(
            "timeout_ms",
            f"timeout_ms must be between {MIN_TIMEOUT_MS} and {MAX_TIMEOUT_MS}.",
            minimum=MIN_TIMEOUT_MS,
            maximum=MAX_TIMEOUT_MS,
        )
    return value


def clean_function_fields(*, tenant: Tenant, changes: dict[str, Any]) -> dict[str, Any]:
    """Checked values for a function's fields (SPEC §5 limits); refuses unknown fields."""
    cleaners = {
        "name": _clean_name,
        "description": lambda v: _clean_text("description", v, max_length=MAX_DESCRIPTION_LENGTH),
        "enabled": lambda v: _clean_bool("enabled", v),
        "is_async": lambda v: _clean_bool("is_async", v),
        "terminate_on_timeout": lambda v: _clean_bool("terminate_on_timeout", v),
        "timeout_ms": _clean_timeout,
        "code": lambda v: _clean_code(tenant, v),
    }
    unknown = sorted(set(changes) - set(cleaners))
    if unknown:
        raise _invalid(unknown[0], f"{unknown[0]} cannot be changed.", unknown=unknown)
    return {field: cleaners[field](value) for field, value in changes.items()}


def _clean_comment(comment: Any) -> str:
    return _clean_text("comment", comment, max_length=MAX_COMMENT_LENGTH)


def code_sha256(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def check_executable(code: str) -> None:
    """Refuse code that does not parse or does not define ``pipe`` (with line and column)."""
    from apps.runtime import validate_code  # type: ignore[attr-defined,unused-ignore]

    problem = validate_code(code)
    if problem:
        line, column = problem.get("line"), problem.get("column")
        where = f" (line {line}, column {column})" if line else ""
        raise ServiceError(
            f"The code cannot be published: {problem.get('message', 'invalid code')}{where}.",
            code="invalid_code",
            details={
                "field": "code",
                "line": line,
                "column": column,
                "message": problem.get("message", ""),
            },
        )


# --- helpers ----------------------------------------------------------------------------


def _save_revision(function: Function, actor: Actor, comment: str, fields: list[str]) -> None:
    """Save through django-reversion so the history keeps author and comment."""
    with reversion.create_revision():
        function.save(update_fields=[*fields, "updated_at"] if fields else None)
        reversion.set_user(actor.user)
        reversion.set_comment(comment)
        reversion.add_meta(RevisionAuthor, label=actor.label[:150])


def _locked_pipeline(tenant: Tenant, trigger: str) -> Pipeline:
    pipeline = pipeline_for_tenant(tenant=tenant, trigger=trigger)
    return Pipeline.objects.select_for_update().get(pk=pipeline.pk)


def _locked_function(function: Function) -> Function:
    return (
        Function.objects.select_for_update(of=("self",))
        .select_related("pipeline", "live_release")
        .get(pk=function.pk)
    )


def _name_taken(pipeline: Pipeline, name: str) -> Conflict:
    return Conflict(
        f"A function named {name!r} already exists in {pipeline.trigger}.",
        details={"field": "name", "name": name, "trigger": pipeline.trigger},
    )


def _ensure_name_free(pipeline: Pipeline, name: str, exclude_id: str | None = None) -> None:
    others = Function.objects.filter(pipeline=pipeline, name=name)
    if exclude_id is not None:
        others = others.exclude(pk=exclude_id)
    if others.exists():
        raise _name_taken(pipeline, name)


def _function_details(function: Function) -> dict[str, Any]:
    return {"name": function.name, "trigger": function.pipeline.trigger}


# --- functions --------------------------------------------------------------------------


def default_terminate_on_timeout(trigger: str, *, is_async: bool = False) -> bool:
    """Fail closed on deny-capable (blocking) triggers, open on advisory ones; an async
    function never decides anything, so it has nothing to close."""
    return trigger_named(trigger).blocking and not is_async


def function_create(
    *,
    tenant: Tenant,
    trigger: str,
    name: str,
    code: str,
    actor: Actor,
    description: str = "",
    enabled: bool = True,
    is_async: bool = False,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    terminate_on_timeout: bool | None = None,
    publish: bool = False,
    comment: str = "",
) -> Function:
    """A new function at the end of the pipeline, as a draft (or released as v1).

    ``terminate_on_timeout`` left unsaid follows the trigger: a synchronous function on a
    blocking trigger (a security gate) denies when it times out instead of letting the
    login through; on an advisory trigger, or when async, it is skipped (SPEC §4's
    default). This deviates from Authing, which fails open everywhere; an explicit value
    is kept.
    """
    if terminate_on_timeout is None:
        terminate_on_timeout = default_terminate_on_timeout(trigger, is_async=is_async)
    fields = clean_function_fields(
        tenant=tenant,
        changes={
            "name": name,
            "code": code,
            "description": description,
            "enabled": enabled,
            "is_async": is_async,
            "timeout_ms": timeout_ms,
            "terminate_on_timeout": terminate_on_timeout,
        },
    )
    comment = _clean_comment(comment)
    if publish:
        check_executable(fields["code"])  # before the lock (see function_publish)
    with transaction.atomic():
        pipeline = _locked_pipeline(tenant, trigger)
        existing = Function.objects.filter(pipeline=pipeline)
        limit = _limit(tenant, "functions_per_pipeline", MAX_FUNCTIONS_PER_PIPELINE)
        if existing.count() >= limit:
            raise Conflict(
                f"{trigger} already has {limit} functions, the most a pipeline may hold.",
                details={"field": "trigger", "limit": limit},
            )
        _ensure_name_free(pipeline, fields["name"])
        top = existing.aggregate(top=Max("position"))["top"]
        function = Function(
            tenant=tenant, pipeline=pipeline, position=0 if top is None else top + 1, **fields
        )
        try:
            with transaction.atomic():
                _save_revision(function, actor, comment or "Created", [])
        except IntegrityError:
            raise _name_taken(pipeline, fields["name"]) from None
        audit_record(
            tenant=tenant,
            actor=actor,
            kind=AuditKind.FUNCTION_CREATED,
            object_type="function",
            object_id=function.pk,
            details={**_function_details(function), "position": function.position},
        )
        if publish:
            _publish(function, actor, comment, checked=fields["code"])
    return function


def function_update(
    *, function: Function, actor: Actor, comment: str = "", undo_of: str = "", **changes: Any
) -> Function:
    """Edit the draft code and/or settings. Settings apply at once; code only when published.

    ``undo_of`` names the audit event this change undoes; its events say so.
    """
    cleaned = clean_function_fields(tenant=function.tenant, changes=changes)
    comment = _clean_comment(comment)
    with transaction.atomic():
        function = _locked_function(function)
        changed = {k: v for k, v in cleaned.items() if getattr(function, k) != v}
        if not changed:
            return function
        if "name" in changed:
            _ensure_name_free(function.pipeline, changed["name"], exclude_id=function.pk)
        before = {field: getattr(function, field) for field in changed}
        for field, value in changed.items():
            setattr(function, field, value)
        try:
            with transaction.atomic():
                _save_revision(function, actor, comment, list(changed))
        except IntegrityError:
            raise _name_taken(function.pipeline, function.name) from None
        _audit_update(function, actor, comment, before, changed, undo_of=undo_of)
        if LIVE_SETTING_FIELDS & set(changed):
            tenant_config_bump(tenant=function.tenant)
    return function


def _audit_update(
    function: Function,
    actor: Actor,
    comment: str,
    before: dict[str, Any],
    changed: dict[str, Any],
    *,
    undo_of: str = "",
) -> None:
    undo = {"undo_of": undo_of} if undo_of else {}

    def record(kind: AuditKind, details: dict[str, Any]) -> None:
        audit_record(
            tenant=function.tenant,
            actor=actor,
            kind=kind,
            object_type="function",
            object_id=function.pk,
            details={**_function_details(function), **details, **undo},
        )

    if "code" in changed:
        record(
            AuditKind.DRAFT_SAVED,
            {"comment": comment, "code_sha256": code_sha256(function.code)},
        )
    if "enabled" in changed:
        record(AuditKind.FUNCTION_ENABLED if function.enabled else AuditKind.FUNCTION_DISABLED, {})
    settings = {
        field: {"from": before[field], "to": value}
        for field, value in changed.items()
        if field not in ("code", "enabled")
    }
    if settings:
        record(AuditKind.FUNCTION_SETTINGS, {"changes": settings})


def function_publish(
    *, function: Function, actor: Actor, comment: str = "", code: str | None = None
) -> Release:
    """Release the draft as the next version; live for the very next execution.

    With ``code``, that code becomes the draft and is released in the same transaction,
    so a publish that is refused (code that does not parse, nothing new) leaves the draft
    as it was: an editor with unsaved changes publishes them in one step.
    """
    comment = _clean_comment(comment)
    if code is not None:
        code = _clean_code(function.tenant, code)
    # The sandbox's check takes up to seconds: it runs before the write lock is taken, so a
    # publish never holds up other writers (on SQLite, every execute's insert) meanwhile.
    checked = function.code if code is None else code
    check_executable(checked)
    with transaction.atomic():
        function = _locked_function(function)
        if code is not None and code != function.code:
            before = {"code": function.code}
            function.code = code
            _save_revision(function, actor, comment or "Published", ["code"])
            _audit_update(function, actor, comment, before, {"code": code})
        live = function.live_release
        if live is not None and live.code == function.code:
            raise Conflict(
                f"Nothing to publish: the draft is already live as version {live.version}.",
                details={"live_version": live.version},
            )
        return _publish(function, actor, comment, checked=checked)


def _publish(
    function: Function,
    actor: Actor,
    comment: str,
    *,
    code: str | None = None,
    kind: AuditKind = AuditKind.FUNCTION_PUBLISHED,
    extra: dict[str, Any] | None = None,
    checked: str | None = None,
) -> Release:
    """Create the next release of ``code`` (the draft by default); the caller holds the lock
    and has already run ``check_executable`` on ``checked``, before taking it."""
    code = function.code if code is None else code
    if code != checked:  # the draft changed between the check and the lock
        check_executable(code)
    top = Release.objects.filter(function=function).aggregate(top=Max("version"))["top"]
    release = Release.objects.create(
        function=function,
        version=(top or 0) + 1,
        code=code,
        code_sha256=code_sha256(code),
        author=actor.user,
        author_label=actor.label[:150],
        comment=comment,
    )
    function.live_release = release
    function.save(update_fields=["live_release", "updated_at"])
    audit_record(
        tenant=function.tenant,
        actor=actor,
        kind=kind,
        object_type="function",
        object_id=function.pk,
        details={
            **_function_details(function),
            "version": release.version,
            "code_sha256": release.code_sha256,
            "comment": comment,
            **(extra or {}),
        },
    )
    tenant_config_bump(tenant=function.tenant)
    return release


def function_rollback(
    *,
    function: Function,
    version: int,
    actor: Actor,
    comment: str = "",
    update_draft: bool = True,
) -> Release:
    """Publish a copy of release ``version`` as a new version (Auth0's "Revert").

    As in Auth0, the draft becomes that code too, so the next edit starts from
    what is live; the draft it replaces stays in the draft history. Pass
    ``update_draft=False`` to keep the draft as it is.
    """
    if not isinstance(version, int) or isinstance(version, bool):
        raise _invalid("version", "version must be an integer.")
    comment = _clean_comment(comment)
    # Releases never change: the one to restore is checked before the lock (see publish).
    checked = release_for_function(function=function, version=version).code
    check_executable(checked)
    with transaction.atomic():
        function = _locked_function(function)
        source = release_for_function(function=function, version=version)
        live = function.live_release
        if live is not None and live.code == source.code:
            raise Conflict(
                f"Version {version} is already what runs (live version {live.version}).",
                details={"field": "version", "live_version": live.version},
            )
        if update_draft and function.code != source.code:
            function.code = source.code
            _save_revision(function, actor, f"Rolled back to version {version}", ["code"])
        return _publish(
            function,
            actor,
            comment or f"Rollback to version {version}",
            code=source.code,
            kind=AuditKind.FUNCTION_ROLLED_BACK,
            extra={"from_version": version},
            checked=checked,
        )


def function_test_payload_set(
    *, tenant: Tenant, function: Function, payload: dict[str, Any]
) -> None:
    """Keeps the test panel's last payload. Not a draft change: no history revision, no
    config bump, no audit event, ``updated_at`` untouched."""
    if function.tenant_id != tenant.pk:
        raise NotFound("No function with this id.", details={"id": function.pk})
    function.test_payload = payload
    function.save(update_fields=["test_payload"])


def function_delete(*, function: Function, actor: Actor) -> None:
    """Delete a function and its releases; later functions move up one place."""
    with transaction.atomic():
        function = _locked_function(function)
        pipeline = Pipeline.objects.select_for_update().get(pk=function.pipeline_id)
        audit_record(
            tenant=function.tenant,
            actor=actor,
            kind=AuditKind.FUNCTION_DELETED,
            object_type="function",
            object_id=function.pk,
            details={
                **_function_details(function),
                "live_version": function.live_release.version if function.live_release else None,
            },
        )
        position = function.position
        function.delete()
        # Ascending order: each move lands on the place freed just before it.
        for later in Function.objects.filter(pipeline=pipeline, position__gt=position).order_by(
            "position"
        ):
            later.position -= 1
            later.save(update_fields=["position"])
        tenant_config_bump(tenant=function.tenant)


# --- pipelines --------------------------------------------------------------------------


def pipeline_reorder(
    *,
    tenant: Tenant,
    trigger: str,
    function_ids: Sequence[str],
    actor: Actor,
    undo_of: str = "",
) -> Pipeline:
    """Put the pipeline's functions in the given order; the ids must be exactly its functions.

    ``undo_of`` names the audit event this reorder undoes; its event says so.
    """
    if not isinstance(function_ids, list | tuple) or not all(
        isinstance(fid, str) for fid in function_ids
    ):
        raise _invalid("function_ids", "function_ids must be a list of function ids.")
    with transaction.atomic():
        pipeline = _locked_pipeline(tenant, trigger)
        functions = {f.pk: f for f in Function.objects.filter(pipeline=pipeline)}
        _check_same_functions(list(function_ids), functions)
        before = [f.pk for f in sorted(functions.values(), key=lambda f: f.position)]
        if before == list(function_ids):
            return pipeline
        # Two phases: the unique (pipeline, position) constraint holds after every row.
        offset = max(f.position for f in functions.values()) + 1
        for index, function_id in enumerate(function_ids):
            functions[function_id].position = offset + index
            functions[function_id].save(update_fields=["position"])
        for index, function_id in enumerate(function_ids):
            functions[function_id].position = index
            functions[function_id].save(update_fields=["position"])
        audit_record(
            tenant=tenant,
            actor=actor,
            kind=AuditKind.PIPELINE_REORDERED,
            object_type="pipeline",
            object_id=trigger,
            details={
                "trigger": trigger,
                "before": before,
                "after": list(function_ids),
                **({"undo_of": undo_of} if undo_of else {}),
            },
        )
        tenant_config_bump(tenant=tenant)
    return pipeline


def _check_same_functions(ids: list[str], functions: dict[str, Function]) -> None:
    duplicates = sorted({fid for fid in ids if ids.count(fid) > 1})
    unknown = [fid for fid in ids if fid not in functions]
    missing = [fid for fid in functions if fid not in ids]
    if duplicates or unknown or missing:
        raise ServiceError(
            "function_ids must name each of the pipeline's functions exactly once.",
            details={
                "field": "function_ids",
                "duplicate": duplicates,
                "unknown": unknown,
                "missing": sorted(missing),
            },
        )


def pipeline_update_settings(
    *, tenant: Tenant, trigger: str, settings: dict[str, Any], actor: Actor
) -> Pipeline:
    """Replace the pipeline's settings (a JSON object kept with the pipeline and exported)."""
    import json

    if not isinstance(settings, dict):
        raise _invalid("settings", "settings must be an object.")
    if len(json.dumps(settings)) > MAX_SETTINGS_BYTES:
        raise _invalid("settings", f"settings exceed {MAX_SETTINGS_BYTES} bytes.")
    with transaction.atomic():
        pipeline = _locked_pipeline(tenant, trigger)
        if pipeline.settings == settings:
            return pipeline
        before = pipeline.settings
        pipeline.settings = settings
        pipeline.save(update_fields=["settings", "updated_at"])
        audit_record(
            tenant=tenant,
            actor=actor,
            kind=AuditKind.PIPELINE_SETTINGS,
            object_type="pipeline",
            object_id=trigger,
            details={"trigger": trigger, "from": before, "to": settings},
        )
        tenant_config_bump(tenant=tenant)
    return pipeline
