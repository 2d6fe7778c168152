"""Reading the run log as a person reviewing it: changes between input and output,
function names for a page of runs, and streamed CSV/JSON exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from apps.pipelines.models import Function
from apps.runs.models import Run
from apps.runs.services import run_to_dict

EXPORT_CHUNK_SIZE = 500
CSV_COLUMNS = (
    "run_id",
    "created_at",
    "trigger",
    "source",
    "mode",
    "decision",
    "status",
    "error_code",
    "error_message",
    "error_function",
    "duration_ms",
    "user_id",
    "user_email",
    "functions",
    "caller",
    "idempotency_key",
    "client_ip",
)
# Cells a spreadsheet would run as a formula; user-supplied values may start with them.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # added | removed | changed
    before: str
    after: str


def json_changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """What differs between two JSON values, object keys compared recursively."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        for key in sorted(set(before) | set(after), key=str):
            child = f"{path}.{key}" if path else str(key)
            if key not in after:
                changes.append(Change(child, "removed", _show(before[key]), ""))
            elif key not in before:
                changes.append(Change(child, "added", "", _show(after[key])))
            else:
                changes.extend(json_changes(before[key], after[key], child))
        return changes
    if before == after and type(before) is type(after):
        return []
    return [Change(path or "(whole value)", "changed", _show(before), _show(after))]


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def function_names(*, runs: Iterable[Run]) -> dict[str, str]:
    """{function id: name} for the functions a page of runs went through (one query)."""
    runs = list(runs)
    ids = {fid for run in runs for fid in run.function_ids.split()}
    tenants = {run.tenant_id for run in runs}
    if not ids:
        return {}
    rows = Function.objects.filter(tenant_id__in=tenants, id__in=ids).values_list("id", "name")
    return dict(rows)


def run_csv_row(run: Run, names: dict[str, str] | None = None) -> list[str]:
    names = names or {}
    functions = " ".join(names.get(fid, fid) for fid in run.function_ids.split())
    values = [
        run.id,
        run.created_at.isoformat(),
        run.trigger,
        run.source,
        run.mode,
        run.decision,
        run.status,
        run.error_code,
        run.error_message,
        run.error_function,
        f"{run.duration_ms:.3f}",
        run.user_id,
        run.user_email,
        functions,
        run.caller,
        run.idempotency_key,
        run.client_ip or "",
    ]
    return [_cell(value) for value in values]


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def runs_export_csv(*, runs: QuerySet[Run]) -> Iterator[str]:
    """CSV lines for the runs, read in chunks so memory stays flat on any size."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    summary = runs.defer("input", "output", "steps")
    for chunk in _chunks(summary.iterator(chunk_size=EXPORT_CHUNK_SIZE), EXPORT_CHUNK_SIZE):
        names = function_names(runs=chunk)
        yield "".join(line(run_csv_row(run, names)) for run in chunk)


def runs_export_json(*, runs: QuerySet[Run]) -> Iterator[str]:
    """A JSON array of whole run records (SPEC §6 shape), streamed chunk by chunk."""
    yield "["
    first = True
    for run in runs.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        yield ("\n" if first else ",\n") + json.dumps(run_to_dict(run), ensure_ascii=False)
        first = False
    yield "\n]\n"


def _chunks(items: Iterator[Run], size: int) -> Iterator[list[Run]]:
    chunk: list[Run] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
