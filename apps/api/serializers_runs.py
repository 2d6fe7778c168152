"""Validation of execute/test bodies and of the run and audit-event list filters.

Plain functions rather than DRF serializers: the execute body sits on the hot path,
and these few checks cost microseconds. Errors are DRF ``ValidationError``s keyed by
field, which the exception handler renders as 400 ``invalid_request`` with
``details.fields`` naming each bad field. Unknown fields are refused, so a typo such
as ``"ctx"`` is reported instead of silently running with an empty context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from django.http import QueryDict
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from apps.audit.models import AuditKind
from apps.core.triggers import TRIGGERS
from apps.pipelines.models import MAX_CODE_BYTES
from apps.runs.models import RunDecision, RunSource, RunStatus
from apps.runs.selectors import AuditFilters, RunFilters

MAX_IDEMPOTENCY_KEY = 200
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_OBJECT = "Must be a JSON object."
_REQUIRED = "This field is required."


@dataclass(frozen=True)
class ExecuteBody:
    user: dict[str, Any]
    context: dict[str, Any]
    mode: str | None = None
    idempotency_key: str | None = None
    code: str | None = None


def _object_body(data: Any, allowed: frozenset[str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The body must be a JSON object."]})
    errors = {name: ["Unknown field."] for name in sorted(set(data) - allowed)}
    for name in ("user", "context"):
        if name not in data:
            errors[name] = [_REQUIRED]
        elif not isinstance(data[name], dict):
            errors[name] = [_OBJECT]
    return data, errors


_EXECUTE_FIELDS = frozenset({"user", "context", "mode", "idempotency_key"})
_PIPELINE_TEST_FIELDS = frozenset({"user", "context"})
_FUNCTION_TEST_FIELDS = frozenset({"user", "context", "code"})


def parse_execute_body(data: Any) -> ExecuteBody:
    body, errors = _object_body(data, _EXECUTE_FIELDS)
    mode = body.get("mode")
    if mode is not None and mode not in ("sync", "async"):
        errors["mode"] = ['Must be "sync" or "async".']
    key = body.get("idempotency_key")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= MAX_IDEMPOTENCY_KEY):
        errors["idempotency_key"] = [f"Must be a string of 1 to {MAX_IDEMPOTENCY_KEY} characters."]
    if errors:
        raise ValidationError(errors)
    return ExecuteBody(body["user"], body["context"], mode=mode, idempotency_key=key)


def parse_pipeline_test_body(data: Any) -> ExecuteBody:
    body, errors = _object_body(data, _PIPELINE_TEST_FIELDS)
    if errors:
        raise ValidationError(errors)
    return ExecuteBody(body["user"], body["context"])


def parse_function_test_body(data: Any) -> ExecuteBody:
    body, errors = _object_body(data, _FUNCTION_TEST_FIELDS)
    code = body.get("code")
    if code is not None and (not isinstance(code, str) or not code.strip()):
        errors["code"] = ["Must be a non-empty string."]
    elif code is not None and len(code.encode()) > MAX_CODE_BYTES:
        errors["code"] = [f"Must be at most {MAX_CODE_BYTES} bytes."]
    if errors:
        raise ValidationError(errors)
    return ExecuteBody(body["user"], body["context"], code=code)


# --- Run list filters ----------------------------------------------------------------

_CHOICES: dict[str, list[str]] = {
    "trigger": list(TRIGGERS),
    "decision": list(RunDecision.values),
    "status": list(RunStatus.values),
    "source": list(RunSource.values),
}
_LIST_PARAMS = frozenset({*_CHOICES, "function", "since", "until", "q", "cursor", "limit"})


@dataclass(frozen=True)
class RunListQuery:
    filters: RunFilters
    cursor: str | None
    limit: int


# "...T10:00:00+02:00" in an unencoded query string arrives as "...T10:00:00 02:00".
_UNENCODED_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def _parse_moment(value: str) -> datetime | None:
    """ISO 8601 date or datetime; naive values are UTC."""
    value = _UNENCODED_PLUS.sub(r"\1+\2", value.strip())
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _parse_limit(raw: str | None, errors: dict[str, list[str]]) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        errors["limit"] = [f"Must be an integer from 1 to {MAX_PAGE_SIZE}."]
        return DEFAULT_PAGE_SIZE
    return int(raw)


def _parse_choices(
    params: QueryDict, choices: dict[str, list[str]], errors: dict[str, list[str]]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, allowed in choices.items():
        value = params.get(name) or None
        if value is not None and value not in allowed:
            errors[name] = [f"Must be one of: {', '.join(allowed)}."]
        values[name] = value
    return values


def _parse_window(params: QueryDict, errors: dict[str, list[str]]) -> dict[str, datetime | None]:
    values: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        raw = params.get(name) or None
        values[name] = _parse_moment(raw) if raw else None
        if raw and values[name] is None:
            errors[name] = ["Must be an ISO 8601 date or date-time."]
    return values


def _unknown_params(params: QueryDict, known: frozenset[str]) -> dict[str, list[str]]:
    return {name: ["Unknown filter."] for name in sorted(set(params) - known)}


def parse_run_list_query(params: QueryDict) -> RunListQuery:
    errors = _unknown_params(params, _LIST_PARAMS)
    values = {**_parse_choices(params, _CHOICES, errors), **_parse_window(params, errors)}
    limit = _parse_limit(params.get("limit"), errors)
    if errors:
        raise ValidationError(errors)
    filters = RunFilters(
        **values, function=params.get("function") or None, q=params.get("q") or None
    )
    return RunListQuery(filters=filters, cursor=params.get("cursor") or None, limit=limit)


# --- Audit event list filters ----------------------------------------------------------

_AUDIT_CHOICES: dict[str, list[str]] = {"kind": list(AuditKind.values)}
_AUDIT_TEXT = ("object", "object_type", "actor")
_AUDIT_PARAMS = frozenset({*_AUDIT_CHOICES, *_AUDIT_TEXT, "since", "until", "cursor", "limit"})


@dataclass(frozen=True)
class AuditListQuery:
    filters: AuditFilters
    cursor: str | None
    limit: int


def parse_audit_list_query(params: QueryDict) -> AuditListQuery:
    errors = _unknown_params(params, _AUDIT_PARAMS)
    values = {**_parse_choices(params, _AUDIT_CHOICES, errors), **_parse_window(params, errors)}
    for name in _AUDIT_TEXT:
        values[name] = params.get(name) or None
    limit = _parse_limit(params.get("limit"), errors)
    if errors:
        raise ValidationError(errors)
    filters = AuditFilters(**values)
    return AuditListQuery(filters=filters, cursor=params.get("cursor") or None, limit=limit)
