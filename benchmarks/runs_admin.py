#!/usr/bin/env python3
"""The audit-log review pages on a million runs: list, filtered, searched, detail,
export and dashboard, timed through Django's test client (the whole request: URL
resolution, session, tenant scoping, queries and template rendering).

Seeds a throwaway database once (reused on later runs): a SQLite file under var/ and,
with ``--database postgres``, a dedicated database on the local PostgreSQL server
(``genauth_bench_runs``; never the project's own). Rows go in by executemany (SQLite)
or COPY (PostgreSQL) with the indexes of the real schema in place.

    DEBUG=True .venv/bin/python benchmarks/runs_admin.py --database sqlite
    DEBUG=True .venv/bin/python benchmarks/runs_admin.py --database postgres
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SQLITE_FILE = ROOT / "var" / "bench_runs.sqlite3"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DATABASE = "genauth_bench_runs"
TRIGGERS = ["PRE_REGISTER", "PRE_AUTHENTICATION", "PRE_OIDC_ID_TOKEN_ISSUED", "POST_AUTHENTICATION"]
OTHER_TENANT_SHARE = 0.1  # rows of a second tenant, so tenant scoping has work to do
USERS = 50_000
BATCH = 20_000


def configure(database: str) -> None:
    os.environ.setdefault("DEBUG", "True")
    if database == "sqlite":
        SQLITE_FILE.parent.mkdir(exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
    else:
        _ensure_pg_database()
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_DATABASE}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "genauth_pipeline.settings")
    import django

    django.setup()


def _ensure_pg_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_DATABASE])
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')


# --- Seeding ------------------------------------------------------------------------------


def seed(rows: int) -> dict[str, Any]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    tenants = [_tenant("bench"), _tenant("bench-other")]
    from apps.runs.models import Run

    have = Run.objects.count()
    if have < rows:
        print(f"seeding {rows - have:,} runs (have {have:,}) ...", flush=True)
        started = time.perf_counter()
        _insert(tenants, rows - have)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        _analyze()
    return {"tenant": tenants[0]["tenant"], "functions": tenants[0]["functions"]}


def _tenant(slug: str) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from apps.core.actor import Actor
    from apps.pipelines.models import Function, Pipeline
    from apps.tenants.models import Role, Tenant
    from apps.tenants.services import member_set, tenant_create

    tenant = Tenant.objects.filter(slug=slug).first() or tenant_create(slug=slug, name=slug)
    user_model = get_user_model()
    if not user_model.objects.filter(username=f"{slug}-admin").exists():
        user_model.objects.create_user(username=f"{slug}-admin", password="bench-only-pw-1")
        member_set(tenant=tenant, username=f"{slug}-admin", role=Role.OWNER, actor=Actor.system())
    functions = []
    for trigger in TRIGGERS:
        pipeline, _ = Pipeline.objects.get_or_create(tenant=tenant, trigger=trigger)
        for position, name in enumerate(("email-domain-check", "enrich-profile")):
            function, _ = Function.objects.get_or_create(
                tenant=tenant,
                pipeline=pipeline,
                name=f"{name}-{trigger.lower()}",
                defaults={
                    "position": position,
                    "code": "async function pipe(u,c,cb){cb(null,u,c)}",
                },
            )
            functions.append((trigger, function.id, function.name))
    return {"tenant": tenant, "functions": functions}


def _row(rng: random.Random, tenant: dict[str, Any], now: datetime, serial: int) -> tuple[Any, ...]:
    from apps.core.ids import new_id

    trigger = rng.choice(TRIGGERS)
    functions = [f for f in tenant["functions"] if f[0] == trigger]
    user_no = rng.randrange(USERS)
    email, user_id = f"user{user_no}@example.com", f"u_{user_no}"
    roll = rng.random()
    decision, status, code = "allow", "ok", ""
    if roll < 0.08:
        decision, status, code = (
            "deny",
            "denied",
            rng.choice(["domain_not_allowed", "mfa_required", "banned"]),
        )
    elif roll < 0.10:
        decision, status, code = "deny", "error", "function_error"
    steps = []
    for index, (_, fid, name) in enumerate(functions):
        last = index == len(functions) - 1
        step_status = status if (last and status != "ok") else "ok"
        steps.append(
            {
                "function_id": fid,
                "name": name,
                "version": 3,
                "status": step_status,
                "duration_ms": round(rng.lognormvariate(0, 0.6), 3),
                "logs": [{"level": "info", "message": f"checked {email}", "t_ms": 0.2}],
                "error": None
                if step_status == "ok"
                else {"name": "Error", "message": code, "line": 4, "column": 9, "stack": None},
            }
        )
    user = {"id": user_id, "email": email, "name": f"User {user_no}"}
    context = {"ip": f"203.0.113.{user_no % 250}", "protocol": "oidc"}
    created = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
    output = {
        "user": user,
        "context": context,
        "custom_data": {},
        "id_token_claims": {"set": {}, "remove": []},
        "access_token_claims": {"set": {}, "remove": []},
    }
    return (
        new_id("run"), tenant["tenant"].pk, trigger, "api", "sync", decision, status, code,
        code and f"Denied: {code}", functions[-1][2] if code else "",
        json.dumps({"user": user, "context": context}), json.dumps(output), json.dumps(steps),
        round(sum(s["duration_ms"] for s in steps) + 0.4, 3), "key:gp_benchxx", "", None,
        user_id, email, " " + " ".join(f[1] for f in functions) + " ", 0, created,
    )  # fmt: skip


COLUMNS = [
    "id",
    "tenant_id",
    "trigger",
    "source",
    "mode",
    "decision",
    "status",
    "error_code",
    "error_message",
    "error_function",
    "input",
    "output",
    "steps",
    "duration_ms",
    "caller",
    "idempotency_key",
    "client_ip",
    "user_id",
    "user_email",
    "function_ids",
    "async_attempts",
    "created_at",
]


def _insert(tenants: list[dict[str, Any]], count: int) -> None:
    from django.db import connection, transaction

    from apps.runs.models import Run

    rng, now = random.Random(20240601), datetime.now(UTC)
    table, done = Run._meta.db_table, 0
    while done < count:
        size = min(BATCH, count - done)
        rows = [
            _row(
                rng, tenants[1] if rng.random() < OTHER_TENANT_SHARE else tenants[0], now, done + i
            )
            for i in range(size)
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                # Stored as Django stores it on SQLite: naive UTC text.
                rows = [(*row[:-1], row[-1].strftime("%Y-%m-%d %H:%M:%S.%f")) for row in rows]
                marks = ", ".join(["%s"] * len(COLUMNS))
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({marks})", rows
                )
        done += size
        print(f"  {done:,}/{count:,}", end="\r", flush=True)
    print()


def _analyze() -> None:
    from django.db import connection

    # VACUUM sets PostgreSQL's visibility map, as autovacuum would on a live table:
    # without it, freshly copied rows defeat index-only scans.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- Timing -------------------------------------------------------------------------------


def timed(client: Any, url: str, repeat: int) -> tuple[float, float, float, int, int]:
    from django.db import connection, reset_queries

    def once() -> tuple[float, float, int, int]:
        reset_queries()
        started = time.perf_counter()
        response = client.get(url)
        size = (
            len(b"".join(response.streaming_content))
            if response.streaming
            else len(response.content)
        )
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        sql_ms = sum(float(query["time"]) for query in connection.queries) * 1000
        return elapsed, sql_ms, len(connection.queries), size

    once()  # warm caches (templates, query plans, OS page cache)
    samples = [once() for _ in range(repeat)]
    times = [s[0] for s in samples]
    sql = statistics.median(s[1] for s in samples)
    return statistics.median(times), max(times), sql, samples[-1][2], samples[-1][3]


def measure(context: dict[str, Any], repeat: int) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from apps.runs.models import Run

    settings.DEBUG = True  # query counts via connection.queries
    tenant, functions = context["tenant"], context["functions"]
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username="bench-admin"))
    sample = Run.objects.filter(tenant=tenant).order_by("-created_at").only("id", "user_email")[500]
    denied = (
        Run.objects.filter(tenant=tenant, decision="deny").order_by("-created_at").only("id")[10]
    )
    rare_day = (datetime.now(UTC) - timedelta(days=60)).date().isoformat()
    cases = [
        ("list (newest first)", "/admin/runs/run/"),
        ("list, page 10", "/admin/runs/run/?p=10"),
        ("filter decision=deny", "/admin/runs/run/?decision__exact=deny"),
        (
            "filter trigger+status=error",
            "/admin/runs/run/?trigger=PRE_AUTHENTICATION&status__exact=error",
        ),
        ("filter function", f"/admin/runs/run/?function={functions[1][1]}"),
        ("filter one day 60 days ago", f"/admin/runs/run/?since={rare_day}&until={rare_day}"),
        ("search by email", f"/admin/runs/run/?q={sample.user_email}"),
        ("search by run id", f"/admin/runs/run/?q={sample.id}"),
        ("detail (denied run)", f"/admin/runs/run/{denied.id}/change/"),
        ("export CSV, one user", f"/admin/runs/run/export.csv?q={sample.user_email}"),
        ("export JSON, one day", f"/admin/runs/run/export.json?since={rare_day}&until={rare_day}"),
        ("dashboard 24h", "/admin/dashboard/?window=24h"),
        ("dashboard 7d", "/admin/dashboard/?window=7d"),
        ("dashboard 30d", "/admin/dashboard/?window=30d"),
    ]
    total = Run.objects.count()
    print(
        f"\n{connection.vendor}: {total:,} runs ({Run.objects.filter(tenant=tenant).count():,} in the tenant); median/max of {repeat}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'page':30} {'median ms':>10} {'max ms':>8} {'SQL ms':>7} {'queries':>8} {'bytes':>11}")
    for label, url in cases:
        median, worst, sql, queries, size = timed(client, url, repeat)
        print(
            f"{label:30} {median:10.1f} {worst:8.1f} {sql:7.1f} {queries:8d} {size:11,}", flush=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    configure(args.database)
    measure(seed(args.rows), args.repeat)


if __name__ == "__main__":
    main()
