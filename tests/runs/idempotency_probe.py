"""Concurrent duplicates against a real SQLite file, run in a subprocess by the tests.

The SQLite test database is in memory with a shared cache, whose table locks fail at
once instead of waiting, so it cannot show how the product behaves under concurrent
writers. This probe migrates a fresh file database (the product's own settings: WAL,
IMMEDIATE transactions, busy timeout), sends the same idempotency key from many
threads at once and prints what happened as JSON.

    python -m tests.runs.idempotency_probe DB_PATH THREADS
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any


def main(db_path: str, count: int) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DEBUG", "True")
    os.environ["DJANGO_SETTINGS_MODULE"] = "genauth_pipeline.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.test.utils import setup_test_environment

    from apps.core.actor import Actor
    from apps.runs.models import Run
    from apps.tenants.models import ALL_SCOPES
    from apps.tenants.services import api_key_create, tenant_create
    from tests.conftest import Persona
    from tests.runs.helpers import add_function, allow, execute, payload

    setup_test_environment()
    call_command("migrate", verbosity=0)
    tenant = tenant_create(slug="acme")
    _, key = api_key_create(tenant=tenant, name="k", scopes=ALL_SCOPES, actor=Actor.system())
    add_function(tenant, "tagger", allow("tagger"))
    persona = Persona(user=None, tenant=tenant, key=key)
    execute(persona)  # warms the key's last_used_at and this process's caches
    barrier = threading.Barrier(count)
    results: list[tuple[int, str]] = []

    def call() -> None:
        try:
            barrier.wait()
            response = execute(persona, body=payload(idempotency_key="race"))
            results.append((response.status_code, response.json().get("run_id", "")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keyed_runs = Run.objects.filter(idempotency_key="race").count()
    return {"results": results, "keyed_runs": keyed_runs}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
    from apps.runtime import shutdown  # type: ignore[attr-defined]

    shutdown()
