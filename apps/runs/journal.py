"""Runs whose code started are recorded even when the process running them dies.

A run is written to the database once, when its outcome is known. Before the sandbox runs a
pipeline, the process appends the run *as it would be recorded if lost* to its own journal
file, and appends the run's id once the real record is stored. Each is one ``write(2)`` to a
file opened with ``O_APPEND``: no fsync, since what this guards against is the process dying
(gunicorn's timeout, the OOM killer, a deploy), not the host; the kernel keeps the page.

``sweep_lost_runs`` reads the journals of this host's dead processes (and entries far past
any run's budget in live ones) and stores every run that started and has no record as a
``lost`` run: its functions may have run, with their side effects, and no decision reached
the caller. It runs every minute under Celery beat and in each gunicorn worker as it starts,
so a respawned worker records what its predecessor left at once.

A file is named ``<host>~<pid>~<start>.jsonl``: ``start`` is the process's start time in
clock ticks since boot (``/proc/<pid>/stat``), so a recycled pid is not taken for the dead
process. The journal directory must be local to the host (``RUN_JOURNAL_DIR``, default
``$VAR_DIR/run-journal``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.core.json_input import loads_storable
from apps.runs.models import Run, RunStatus
from apps.runtime import wire
from apps.tenants.models import Tenant

logger = logging.getLogger(__name__)

# A live process's entry this old has no run coming: the record failed (the database was
# down) and the request ended in an error. Far above the whole-run budget (20 s).
LIVE_ENTRY_MAX_AGE = timedelta(minutes=5)
# Past this size, the file is replaced by one holding only what a sweep still needs.
COMPACT_AT_BYTES = 4 * 1024 * 1024
# Entries whose record failed, re-appended after each compaction until swept; bounded.
MAX_UNRECORDED = 1000
LOST_CODE = "run_lost"
LOST_MESSAGE = (
    "The process running this pipeline stopped before the outcome was recorded. Its "
    "functions may have run (and made outbound calls); the caller received no decision."
)
_SAFE_HOST = re.compile(r"[^A-Za-z0-9.-]")


def _host() -> str:
    return _SAFE_HOST.sub("_", socket.gethostname())[:100] or "host"


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ")".
    return stat[stat.rindex(")") + 2 :].split()[19]


def journal_dir() -> Path:
    return Path(settings.RUN_JOURNAL_DIR)


class RunJournal:
    """This process's journal: ``started`` before the sandbox, ``recorded`` after the insert."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd = -1
        self._pid = 0
        self._setting: object = None  # RUN_JOURNAL_DIR as it was when the file was opened
        self._path: Path | None = None
        # The lines of the runs started and not yet finished, by run id (for compaction).
        self._in_flight: dict[str, bytes] = {}
        self._written = 0
        self._kept = 0  # of _written: what the last compaction kept
        self._unrecorded: dict[str, bytes] = {}
        self._quiet_until = 0.0  # write failures are logged at most once a minute

    def _open(self) -> None:
        """(Re)open after a fork or when the configured directory changed."""
        setting = settings.RUN_JOURNAL_DIR
        pid = os.getpid()
        if self._fd >= 0 and self._pid == pid and self._setting is setting:
            return
        if self._fd >= 0 and self._pid == pid:
            # Forgotten before anything can fail, so that it is never closed twice (its number
            # may by then belong to something else, a database connection).
            fd, self._fd = self._fd, -1
            os.close(fd)
        self._fd = -1  # after a fork: the parent's, left open for the parent
        folder = Path(setting)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_host()}~{pid}~{_start_ticks(pid) or 0}.jsonl"
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._pid, self._path, self._setting = pid, path, setting
        self._in_flight, self._written, self._kept, self._unrecorded = {}, 0, 0, {}

    def started(self, lost_run: dict[str, Any]) -> bytes | None:
        """Note a run about to execute: ``lost_run`` holds the columns of its lost record.
        Returns the line written, for ``finished``; None if the journal could not be written
        (a full or read-only disk must not stop logins: the run goes on, unjournaled)."""
        line = b"+" + wire.dumps(lost_run) + b"\n"
        with self._lock:
            try:
                self._open()
                self._written += os.write(self._fd, line)
            except OSError as exc:
                self._complain(exc)
                return None
            self._in_flight[lost_run["id"]] = line
        return line

    def finished(self, run_id: str, line: bytes | None, *, recorded: bool) -> None:
        """The run is over; ``recorded`` says whether its own record was stored."""
        if line is None:
            return
        with self._lock:
            self._in_flight.pop(run_id, None)
            if not recorded:
                if len(self._unrecorded) < MAX_UNRECORDED:
                    self._unrecorded[run_id] = line
                return
            try:
                self._open()
                self._written += os.write(self._fd, f"-{run_id}\n".encode())
                if self._written - self._kept > COMPACT_AT_BYTES:
                    self._compact()
            except OSError as exc:  # the sweep finds the run recorded: nothing is lost
                self._complain(exc)

    def _compact(self) -> None:
        """Replace the file by one holding only the entries a sweep still needs: the runs in
        flight and those whose record failed. Written beside it and renamed over it, so
        that a process dying at any point leaves one of the two whole; and done whatever is
        in flight, since a busy process (slow functions, steady traffic) may never be idle
        between two runs. Called with the lock held."""
        assert self._path is not None
        keep = b"".join([*self._unrecorded.values(), *self._in_flight.values()])
        # Not named *.jsonl: a sweep never takes it for a journal.
        fresh = self._path.with_name(self._path.name + ".compacting")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        fd = os.open(fresh, flags, 0o600)
        try:
            written = os.write(fd, keep) if keep else 0
            if written != len(keep):
                raise OSError(f"short write compacting {self._path.name}")
            os.rename(fresh, self._path)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(fresh)
            raise
        old, self._fd = self._fd, fd
        os.close(old)
        # The next compaction waits for as much again as the threshold: entries kept for
        # long (records that failed) are not rewritten at every run.
        self._written = self._kept = written

    def _complain(self, exc: OSError) -> None:
        now = time.monotonic()
        if now >= self._quiet_until:
            self._quiet_until = now + 60
            logger.error("run journal in %s cannot be written: %s", journal_dir(), exc)

    def forget_unrecorded(self, run_ids: set[str]) -> None:
        """Entries a sweep has stored need not survive the next compaction."""
        with self._lock:
            for run_id in run_ids:
                self._unrecorded.pop(run_id, None)

    @property
    def path(self) -> Path | None:
        return self._path if self._pid == os.getpid() else None


journal = RunJournal()


# --- The sweep -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Owner:
    host: str
    pid: int
    start: str

    @property
    def alive(self) -> bool:
        return _start_ticks(self.pid) == self.start


def _owner(path: Path) -> _Owner | None:
    parts = path.stem.split("~")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return _Owner(parts[0], int(parts[1]), parts[2])


def _unfinished(path: Path) -> dict[str, dict[str, Any]]:
    """The entries of a journal with no ``recorded`` line after them, by run id."""
    entries: dict[str, dict[str, Any]] = {}
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return entries
    for line in data.splitlines():
        if line.startswith(b"+"):
            try:
                entry = loads_storable(line[1:])
            except ValueError:  # a write cut short as the process died
                continue
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                entries[entry["id"]] = entry
        elif line.startswith(b"-"):
            entries.pop(line[1:].decode("utf-8", "replace"), None)
    return entries


# What an entry may set: the run's columns, by attribute name (``tenant_id``).
_COLUMNS = frozenset(field.attname for field in Run._meta.concrete_fields)


def _lost_runs(entries: list[dict[str, Any]]) -> list[Run]:
    tenant_ids = set(
        Tenant.objects.filter(pk__in={e.get("tenant_id") for e in entries}).values_list(
            "pk", flat=True
        )
    )
    runs = []
    for entry in entries:
        if entry.get("tenant_id") not in tenant_ids:
            continue  # the tenant was deleted meanwhile, with its runs
        fields = {name: entry[name] for name in _COLUMNS if name in entry}
        fields["created_at"] = datetime.fromisoformat(entry["created_at"])
        runs.append(Run(**fields))
    return runs


def lost_steps(steps: list[dict[str, Any]], error: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of a run whose process was lost: each synchronous one may have run, so it
    is an ``error`` naming the loss (without the ``async`` flag, as a finished run's steps
    are); an async one still queued will never run (``skipped``); others stay as they were."""
    return [
        {k: v for k, v in step.items() if k != "async"} | {"status": "error", "error": error}
        if not step.get("async")
        else {**step, "status": "skipped"}
        if step["status"] == "queued"
        else step
        for step in steps
    ]


def lost_run_entry(
    *,
    run_id: str,
    tenant: Tenant,
    trigger: str,
    source: str,
    mode: str,
    caller: str,
    client_ip: str | None,
    idempotency_key: str | None,
    user: dict[str, Any],
    context: dict[str, Any],
    planned_steps: list[dict[str, Any]],
    search_columns: dict[str, str],
) -> dict[str, Any]:
    """The record a run gets if its process dies before the outcome is stored."""
    error = {"name": "RunLost", "code": LOST_CODE, "message": LOST_MESSAGE}
    steps = lost_steps(planned_steps, error)
    return {
        "id": run_id,
        "tenant_id": tenant.pk,
        "trigger": trigger,
        "source": source,
        "mode": mode,
        "decision": "",
        "status": RunStatus.LOST.value,
        "error_code": LOST_CODE,
        "error_message": LOST_MESSAGE,
        "error_function": "",
        "input": {"user": user, "context": context},
        "output": {},
        "steps": steps,
        "duration_ms": 0,
        "caller": caller[:160],
        "idempotency_key": idempotency_key or "",
        "client_ip": client_ip,
        **search_columns,
        "created_at": datetime.now(UTC).isoformat(),
    }


def sweep_lost_runs(*, now: datetime | None = None) -> int:
    """Store the lost runs in this host's journals; returns how many were stored."""
    folder = journal_dir()
    if not folder.is_dir():
        return 0
    now = now or datetime.now(UTC)
    host, own = _host(), journal.path
    stored = 0
    for path in sorted(folder.glob("*.jsonl")):
        owner = _owner(path)
        if owner is None or owner.host != host:
            continue  # another host's process: only that host can tell whether it lives
        live = path == own or owner.alive
        entries = list(_unfinished(path).values())
        if live:
            cutoff = now - LIVE_ENTRY_MAX_AGE
            entries = [e for e in entries if datetime.fromisoformat(e["created_at"]) < cutoff]
        try:
            stored += _store(entries)
        except Exception:
            logger.exception("could not record the lost runs of %s", path.name)
            continue
        if path == own:
            journal.forget_unrecorded({e["id"] for e in entries})
        if not live:
            path.unlink(missing_ok=True)
    _remove_unfinished_compactions(folder, host)
    return stored


def _remove_unfinished_compactions(folder: Path, host: str) -> None:
    """A process that died compacting its journal left the new file unrenamed beside the
    old one, which is whole: the new one is of no use."""
    for leftover in folder.glob("*.jsonl.compacting"):
        owner = _owner(leftover.with_suffix(""))
        if owner is not None and owner.host == host and not owner.alive:
            leftover.unlink(missing_ok=True)


def _store(entries: list[dict[str, Any]]) -> int:
    if not entries:
        return 0
    ids = [e["id"] for e in entries]
    existing = set(Run.objects.filter(id__in=ids).values_list("id", flat=True))
    runs = _lost_runs([e for e in entries if e["id"] not in existing])
    with transaction.atomic():
        # Two sweepers may race on one file: the primary key makes the second a no-op.
        Run.objects.bulk_create(runs, ignore_conflicts=True)
    for run in runs:
        logger.warning("run %s of tenant %s recorded as lost", run.id, run.tenant_id)
    return len(runs)


def sweep_quietly() -> None:
    """For start-up hooks: a failing sweep is logged, never fatal; waits for nothing."""
    started = time.monotonic()
    try:
        stored = sweep_lost_runs()
    except Exception:
        logger.exception("lost-run sweep failed")
        return
    if stored:
        logger.warning(
            "recorded %d lost runs in %.0f ms", stored, (time.monotonic() - started) * 1000
        )
