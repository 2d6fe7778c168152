"""Plain-data shapes shared by the worker (engine.py) and the caller (pool.py)."""

from __future__ import annotations

from typing import Any

GENERIC_ERROR_MESSAGE = "The request could not be completed."

DEFAULT_LIMITS: dict[str, int] = {
    "run_timeout_ms": 20000,
    "max_output_bytes": 262144,
    "max_log_entries": 200,
    "max_log_bytes": 65536,
    "max_http_requests": 10,
}

_RUN_ERRORS: dict[str, tuple[str, str]] = {
    "error": ("function_error", GENERIC_ERROR_MESSAGE),
    "timeout": ("function_timeout", GENERIC_ERROR_MESSAGE),
    "run_timeout": ("run_timeout", GENERIC_ERROR_MESSAGE),
    "crashed": ("sandbox_crashed", GENERIC_ERROR_MESSAGE),
}


def empty_state(user: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    return {
        "user": user,
        "context": context,
        "custom_data": {},
        "id_set": {},
        "id_remove": [],
        "at_set": {},
        "at_remove": [],
    }


def step_error(message: str, name: str = "Error", *, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message,
        "name": name,
        "line": None,
        "column": None,
        "stack": None,
    }
    if code:
        error["code"] = code
    return error


def _step(fn: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    return {
        "function_id": fn.get("id", ""),
        "name": fn.get("name", ""),
        "version": fn.get("version"),
        "status": record["status"],
        "duration_ms": float(record["duration_ms"]),
        "logs": record["logs"],
        "error": record["error"],
    }


def _run_error(
    functions: list[dict[str, Any]], records: list[dict[str, Any]], outcome: dict[str, Any] | None
) -> dict[str, Any] | None:
    if not outcome or outcome.get("kind") == "ok":
        return None
    name = functions[records[-1]["index"]].get("name", "") if records else ""
    if outcome["kind"] == "deny":
        return {"code": outcome["code"], "message": outcome["message"], "function": name}
    code, message = _RUN_ERRORS.get(outcome["kind"], ("function_error", GENERIC_ERROR_MESSAGE))
    return {"code": code, "message": message, "function": name}


def shape_result(
    job: dict[str, Any],
    records: list[dict[str, Any]],
    state: dict[str, Any],
    outcome: dict[str, Any] | None,
    duration_ms: float,
) -> dict[str, Any]:
    """The public result: steps after a deny or a terminating error are not listed."""
    functions = list(job.get("functions") or [])
    error = _run_error(functions, records, outcome)
    return {
        "decision": "deny" if error else "allow",
        "error": error,
        "user": state["user"],
        "context": state["context"],
        "custom_data": state["custom_data"],
        "id_token_claims": {"set": state["id_set"], "remove": state["id_remove"]},
        "access_token_claims": {"set": state["at_set"], "remove": state["at_remove"]},
        "steps": [_step(functions[r["index"]], r) for r in records],
        "duration_ms": duration_ms,
    }


def crashed_result(job: dict[str, Any], index: int, duration_ms: float, why: str) -> dict[str, Any]:
    """The result when the worker process died or stopped answering during step ``index``.

    What earlier steps produced died with the process: they are listed as ``ok`` without logs,
    and the output is the job's input.
    """
    functions = list(job.get("functions") or [])
    index = min(max(index, 0), max(len(functions) - 1, 0))
    records: list[dict[str, Any]] = [
        {"index": i, "status": "ok", "duration_ms": 0.0, "logs": [], "error": None}
        for i in range(index)
    ]
    if functions:
        crashed: dict[str, Any] = {
            "index": index,
            "status": "error",
            "duration_ms": duration_ms,
            "logs": [],
            "error": step_error(why, "Error", code="sandbox_crashed"),
        }
        records.append(crashed)
    state = empty_state(job.get("user") or {}, job.get("context") or {})
    return shape_result(job, records, state, {"kind": "crashed"}, duration_ms)
