"""What the lost-run journal adds to a run: `DEBUG=True python benchmarks/journal.py`.

Builds a 3-function run's journal entry (as the execute path does) and writes it started and
finished, 20,000 times, into a temporary journal directory. Prints microseconds per run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
RUNS = 20_000


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genauth_pipeline.settings")
    import django

    django.setup()
    from django.conf import settings

    from apps.runs.journal import journal, lost_run_entry

    settings.RUN_JOURNAL_DIR = Path(tempfile.mkdtemp(prefix="journal-bench-"))
    tenant = SimpleNamespace(pk=1)
    user = {"id": "u_1", "email": "ann@example.com", "name": "Ann", "groups": ["staff"]}
    context = {"ip": "203.0.113.9", "protocol": "oidc", "app": {"name": "Acme Portal"}}
    steps = [{"function_id": f"fn_{i}", "name": f"step-{i}", "version": 1} for i in range(3)]
    started = time.perf_counter()
    for i in range(RUNS):
        run_id = f"run_{i:026d}"
        entry = lost_run_entry(
            run_id=run_id,
            tenant=tenant,  # type: ignore[arg-type]
            trigger="PRE_REGISTER",
            source="api",
            mode="sync",
            caller="api_key:gp_abcdef",
            client_ip="203.0.113.9",
            idempotency_key=None,
            user=user,
            context=context,
            planned_steps=steps,
            search_columns={"user_id": "u_1", "user_email": "ann@example.com"},
        )
        line = journal.started(entry)
        journal.finished(run_id, line, recorded=True)
    per_run_us = (time.perf_counter() - started) / RUNS * 1e6
    print(f"journal entry + start + finish: {per_run_us:.1f} us per run ({RUNS} runs)")


if __name__ == "__main__":
    main()
