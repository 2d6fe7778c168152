#!/usr/bin/env python3
"""Throughput and latency of POST /api/v1/pipelines/{trigger}/execute under gunicorn.

Starts gunicorn with the product's settings (genauth_pipeline/gunicorn.py: one worker per
core, a few threads each) on loopback against a fresh SQLite file and a fresh PostgreSQL
database, and drives it with ``wrk`` (installed with apt-get if missing) and the Lua script
beside this file, for a fixed number of requests per case:

- ``reference``: a minimal DRF view with the same API-key check, one select and one
  insert (benchmarks/bench_ref_urls.py; not part of the product), the baseline;
- ``empty``: the execute endpoint on a tenant whose pipeline is empty;
- ``3 functions``: the execute endpoint running three realistic functions (~20 lines
  each, ~1 KB of user and context) in the sandbox;

each at 1, 8 and 32 concurrent clients. With ``--kills N`` the 3-function case runs again at
each client count above one while N sandbox worker processes are SIGKILLed, spread over its
duration; its p99 is compared with the calm case's of the same round. It prints throughput, p50/p95/p99, errors,
whether every request sent produced exactly one run, the CPU share of the load generator
and of the server (gunicorn and its sandbox processes), the machine's idle share, and the
server's CPU per request on its web side (gunicorn's processes) and in its sandbox
processes, with what 3 functions add to each against the empty pipeline. The
cases of one client count run back to back in each round; the targets are judged on the
median over rounds of the ratios taken within a round (load from elsewhere on a shared
machine drifts between rounds more than within one).

    DEBUG=True .venv/bin/python benchmarks/execute.py [--requests 2000] [--db sqlite,postgres]
        [--clients 1,8,32] [--rounds 3] [--kills N]
        [--threads N]   (0: sync workers, for comparison)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
CORES = os.cpu_count() or 1
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "genauth_bench"
TRIGGER = "PRE_REGISTER"
CLK_TCK = os.sysconf("SC_CLK_TCK")

FUNCTIONS = {
    "email-domain-allow-list": """
const ALLOWED = ["example.com", "acme.test", "example.org"];

async function pipe(user, context, callback) {
  const email = String(user.email || "").trim().toLowerCase();
  const at = email.lastIndexOf("@");
  if (at < 1) {
    const error = new Error("A valid email address is required.");
    error.code = "invalid_email";
    return callback(error);
  }
  const domain = email.slice(at + 1);
  if (!ALLOWED.includes(domain)) {
    const error = new Error("Registration is open to " + ALLOWED.join(", ") + " only.");
    error.code = "domain_not_allowed";
    return callback(error);
  }
  user.email = email;
  user.addCustomData("signup_domain", domain);
  callback(null, user, context);
}
""",
    "normalize-profile": """
function titleCase(text) {
  return String(text || "")
    .trim()
    .split(/\\s+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1).toLowerCase())
    .join(" ");
}

async function pipe(user, context, callback) {
  user.given_name = titleCase(user.given_name);
  user.family_name = titleCase(user.family_name);
  if (!user.name) {
    user.name = [user.given_name, user.family_name].filter(Boolean).join(" ");
  }
  const locale = (user.locale || context.request?.language || "en").slice(0, 2);
  user.addCustomData("locale", locale);
  user.addCustomData("marketing_opt_in", Boolean(user.user_metadata?.newsletter));
  console.log("normalized", user.username, "locale", locale);
  callback(null, user, context);
}
""",
    "ip-risk-flag": """
const TRUSTED = ["10.0.0.0/8", "192.168.0.0/16", "203.0.113.0/24"];
const BLOCKED = ["198.51.100.0/24"];

async function pipe(user, context, callback) {
  const ip = context.ip || "";
  if (ip && utils.ipRangeCheck(ip, BLOCKED)) {
    const error = new Error("Registrations from this network are not accepted.");
    error.code = "network_blocked";
    return callback(error);
  }
  const trusted = ip ? utils.ipRangeCheck(ip, TRUSTED) : false;
  context.risk = {
    trusted_network: trusted,
    score: trusted ? 0 : 40,
    checked_at: new Date().toISOString(),
  };
  user.addCustomData("risk_score", context.risk.score);
  log("risk", context.risk.score, "for", ip);
  callback(null, user, context);
}
""",
}

BODY = {
    "user": {
        "id": "__ID__",  # unique per request (see execute.lua)
        "email": "Ada.Lovelace@Example.com",
        "username": "ada",
        "given_name": "ada",
        "family_name": "lovelace",
        "phone": "+44 20 7946 0958",
        "locale": "en-GB",
        "picture": "https://cdn.example.com/avatars/ada.png",
        "email_verified": False,
        "user_metadata": {"newsletter": True, "theme": "dark", "referrer": "conference-2026"},
        "app_metadata": {"roles": ["member"], "plan": "free", "tenant_ref": "acme-emea-01"},
    },
    "context": {
        "ip": "203.0.113.42",
        "protocol": "oidc",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Safari/537.36",
        "app": {"id": "app_01HZX3", "name": "Acme Portal", "client_id": "acme-portal-web"},
        "request": {
            "language": "en-GB,en;q=0.9",
            "geo": {"country": "GB", "city": "London"},
            "hostname": "login.acme.test",
            "query": {"redirect_uri": "https://portal.acme.test/callback", "state": "x1y2z3"},
        },
        "connection": {"name": "Username-Password", "strategy": "password"},
    },
}


# --- Set-up -----------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing it with apt-get (Debian package 'wrk')", flush=True)
    for command in (["apt-get", "install", "-y", "-qq", "wrk"], ["apt-get", "update", "-qq"]):
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
        if shutil.which("wrk"):
            break
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return str(shutil.which("wrk"))


def fresh_database(kind: str, folder: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder}/bench.sqlite3"
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    return f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"


def server_env(database_url: str, folder: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DEBUG="False",
        SECRET_KEY="benchmark-only-" + os.urandom(16).hex(),
        SECRETS_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        VAR_DIR=folder,
        ALLOWED_HOSTS="127.0.0.1",
        API_THROTTLE_RATE="100000000/min",
        PYTHONPATH=f"{ROOT}:{BENCH}",
    )
    return env


def seed(env: dict[str, str]) -> dict[str, str]:
    """Migrate and create the tenants, keys and functions (in a child with ``env``)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__)), "--seed"],
        env={**env, "DJANGO_SETTINGS_MODULE": "genauth_pipeline.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"seeding failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def seed_in_this_process() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from apps.core.actor import Actor
    from apps.pipelines.services import function_create
    from apps.tenants.models import ALL_SCOPES
    from apps.tenants.services import api_key_create, tenant_create

    call_command("migrate", verbosity=0)
    actor = Actor.system("benchmark")
    keys = {}
    for slug in ("reference", "empty", "three"):
        tenant = tenant_create(slug=slug, actor=actor)
        keys[slug] = api_key_create(tenant=tenant, name="bench", scopes=ALL_SCOPES, actor=actor)[1]
        if slug == "three":
            for name, code in FUNCTIONS.items():
                function_create(
                    tenant=tenant, trigger=TRIGGER, name=name, code=code, actor=actor, publish=True
                )
    from apps.runtime import shutdown

    shutdown()
    print(json.dumps(keys))


def runs_per_user_id(database_url: str, slug: str, tag: str) -> dict[str, int]:
    """How many runs each request (by its unique user id) of one case produced."""
    sql = (
        "SELECT r.user_id, count(*) FROM runs_run r JOIN tenants_tenant t ON r.tenant_id = t.id "
        "WHERE t.slug = %s AND r.user_id LIKE %s GROUP BY r.user_id"
    )
    params = (slug, f"{tag}-%")
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return dict(conn.execute(sql.replace("%s", "?"), params).fetchall())
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as conn:
        return dict(conn.execute(sql, params).fetchall())


def settled_runs(database_url: str, slug: str, tag: str) -> dict[str, int]:
    """Runs per request id once requests cut off by wrk's stop have finished server-side."""
    runs = runs_per_user_id(database_url, slug, tag)
    while True:
        time.sleep(0.3)
        again = runs_per_user_id(database_url, slug, tag)
        if again == runs:
            return runs
        runs = again


# --- The server and the load ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    env: dict[str, str], settings_module: str, port: int, threads: int | None
) -> subprocess.Popen[bytes]:
    """gunicorn with the product's settings (genauth_pipeline/gunicorn.py), one worker per
    core; ``threads`` overrides its threads per worker, 0 means sync workers."""
    if threads is None:
        worker_args: list[str] = []
    elif threads == 0:
        worker_args = ["-k", "sync"]
    else:
        worker_args = ["--threads", str(threads)]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:genauth_pipeline.gunicorn",
            "genauth_pipeline.wsgi",
            "-w",
            str(CORES),
            *worker_args,
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": settings_module},
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _process_tree(root_pid: int) -> dict[int, tuple[int, int, bytes]]:
    """A process and all its descendants (gunicorn workers, sandboxes): each one's parent,
    utime+stime ticks and command line."""
    procs: dict[int, tuple[int, int, bytes]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        procs[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), cmdline)
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        children = [child for child, (parent, _, _) in procs.items() if parent == pid]
        tree.update(children)
        frontier.extend(children)
    return {pid: procs[pid] for pid in tree if pid in procs}


def _cpu_ticks_by_process(root_pid: int) -> dict[int, tuple[int, str]]:
    """utime+stime of a process and each of its descendants, and what it is: a sandbox
    ``worker``, a pool's ``template`` (apps/runtime/forkserver.py; the workers forked from it
    carry its command line) or ``web`` (gunicorn's master and web workers)."""
    tree = _process_tree(root_pid)

    def kind(parent: int, cmdline: bytes) -> str:
        if b"apps.runtime.worker" in cmdline:
            return "worker"
        if b"apps.runtime.template" in cmdline:
            forked = b"apps.runtime.template" in tree.get(parent, (0, 0, b""))[2]
            return "worker" if forked else "template"
        return "web"

    return {pid: (ticks, kind(parent, cmdline)) for pid, (parent, ticks, cmdline) in tree.items()}


def _cpu_used(
    before: dict[int, tuple[int, str]], after: dict[int, tuple[int, str]]
) -> dict[str, float]:
    """Seconds of CPU the web side and the sandbox processes (workers and templates) used
    between two readings (a process started in between counts from zero; one that ended in
    between is missed)."""
    used = {"web": 0.0, "sandbox": 0.0}
    for pid, (ticks, kind) in after.items():
        earlier = before.get(pid, (0, kind))[0]
        used["web" if kind == "web" else "sandbox"] += (ticks - earlier) / CLK_TCK
    return used


def _sandbox_workers(root_pid: int) -> dict[int, int]:
    """The sandbox worker processes under the server, with their CPU ticks so far."""
    return {
        pid: ticks
        for pid, (ticks, kind) in _cpu_ticks_by_process(root_pid).items()
        if kind == "worker"
    }


def kill_sandbox_workers(
    root_pid: int, kills: int, duration_s: float, killed: list[int]
) -> threading.Thread:
    """SIGKILL ``kills`` sandbox workers of the server, spread evenly over ``duration_s``
    (after 1/(kills+1), 2/(kills+1), ... of it): each time the busiest over the last 0.1 s
    (a serving worker, not an idle spare). Each pid killed is appended to ``killed``."""

    def killer() -> None:
        started = time.monotonic()
        for k in range(kills):
            time.sleep(
                max(started + duration_s * (k + 1) / (kills + 1) - 0.1 - time.monotonic(), 0)
            )
            before = _sandbox_workers(root_pid)
            time.sleep(0.1)
            after = _sandbox_workers(root_pid)
            busy = sorted(after, key=lambda pid: after[pid] - before.get(pid, after[pid]))
            if busy:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(busy[-1], signal.SIGKILL)
                    killed.append(busy[-1])

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    return thread


def _idle_ticks() -> int:
    """Idle + iowait ticks of the whole machine (first line of /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[4]) + int(fields[5])


def run_wrk(
    wrk: str,
    port: int,
    key: str,
    body_file: str,
    clients: int,
    requests: int,
    server_pid: int,
    tag: str,
) -> dict[str, Any]:
    marker = Path(body_file).with_name(f"done-{tag}")
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_server = _cpu_ticks_by_process(server_pid)
    before_idle = _idle_ticks()
    started = time.monotonic()
    process = subprocess.Popen(
        [
            wrk,
            "-t1",
            f"-c{clients}",
            "-d3600s",
            "--timeout",
            "30s",
            "-s",
            str(BENCH / "execute.lua"),
            f"http://127.0.0.1:{port}/api/v1/pipelines/{TRIGGER}/execute",
            "--",
            body_file,
            key,
            str(requests),
            tag,
            str(marker),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    while not marker.exists() and process.poll() is None:
        time.sleep(0.002)
    elapsed = time.monotonic() - started
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)
    answered_ids = marker.read_text().split("\n") if marker.exists() else []
    marker.unlink(missing_ok=True)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_used = _cpu_used(before_server, _cpu_ticks_by_process(server_pid))
    server_cpu = server_used["web"] + server_used["sandbox"]
    idle = (_idle_ticks() - before_idle) / CLK_TCK
    line = next(x for x in stdout.splitlines() if x.startswith("WRK_JSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    wrk_cpu = (after_children.ru_utime - before_children.ru_utime) + (
        after_children.ru_stime - before_children.ru_stime
    )
    result["loadgen_cpu_share"] = wrk_cpu / (elapsed * CORES)
    result["server_cpu_share"] = server_cpu / (elapsed * CORES)
    result["idle_share"] = idle / (elapsed * CORES)
    # CPU per request, in ms: where the time goes between the server's two sides.
    result["web_cpu_ms"] = server_used["web"] / requests * 1000
    result["sandbox_cpu_ms"] = server_used["sandbox"] / requests * 1000
    result["rps"] = requests / elapsed
    result["answered_ids"] = answered_ids
    return result


# --- The benchmark --------------------------------------------------------------------

KILLED = "3 fn, kills"

HEADER = (
    f"{'db':<9}{'endpoint':<13}{'round':>6}{'clients':>8}{'reqs':>7}{'req/s':>9}{'p50 ms':>8}"
    f"{'p95 ms':>8}{'p99 ms':>8}{'errors':>7}{'runs=req':>9}{'wrk cpu':>8}{'srv cpu':>8}{'idle':>6}"
    f"{'web ms':>8}{'sbx ms':>8}"
)


def row(db: str, endpoint: str, clients: int, r: dict[str, Any], round_no: int | str) -> str:
    errors = r["non2xx"] + r["socket_errors"]
    return (
        f"{db:<9}{endpoint:<13}{round_no!s:>6}{clients:>8}{r['answered']:>7}{r['rps']:>9.0f}"
        f"{r['p50_us'] / 1000:>8.2f}{r['p95_us'] / 1000:>8.2f}{r['p99_us'] / 1000:>8.2f}"
        f"{errors:>7}{'yes' if r['exact'] else 'NO':>9}"
        f"{r['loadgen_cpu_share']:>8.0%}{r['server_cpu_share']:>8.0%}{r['idle_share']:>6.0%}"
        f"{r['web_cpu_ms']:>8.2f}{r['sandbox_cpu_ms']:>8.2f}"
    )


def exactly_one_run_each(
    answered: list[str], runs: dict[str, int], args: argparse.Namespace
) -> bool:
    """Every answered request has exactly one run, and no request has two."""
    return (
        len(answered) == args.requests
        and len(set(answered)) == len(answered)
        and all(runs.get(request_id) == 1 for request_id in answered)
        and all(count == 1 for count in runs.values())
    )


def measure(
    wrk: str,
    db: str,
    database_url: str,
    env: dict[str, str],
    keys: dict[str, str],
    args: argparse.Namespace,
    body_file: str,
) -> list[dict[tuple[str, int], dict[str, Any]]]:
    """Both servers up at once; the cases interleaved per client count, ``--rounds`` times.
    Returns each round's results: cases of one round and client count ran back to back, so
    their ratios are compared within a round (other load on a shared machine drifts)."""
    servers = {
        "reference": (free_port(), "bench_ref_settings"),
        "product": (free_port(), "genauth_pipeline.settings"),
    }
    cases = [("reference", "reference"), ("empty", "product"), ("3 functions", "product")]
    # With --kills: the 3-function case again while sandbox workers are SIGKILLed.
    slugs = {"reference": "reference", "empty": "empty", "3 functions": "three"}
    processes = {
        name: start_server(env, module, port, args.threads)
        for name, (port, module) in servers.items()
    }
    rounds: list[dict[tuple[str, int], dict[str, Any]]] = []
    try:
        for label, server in cases:  # warm every worker: imports, connections, sandboxes
            port, pid = servers[server][0], processes[server].pid
            run_wrk(
                wrk, port, keys[slugs[label]], body_file, 8, 40 * CORES, pid, f"w{slugs[label]}"
            )
        for round_no in range(1, args.rounds + 1):
            rounds.append({})
            for clients in args.clients:
                for label, server in cases:
                    slug, tag = slugs[label], f"{slugs[label]}{clients}r{round_no}"
                    port, pid = servers[server][0], processes[server].pid
                    result = run_wrk(
                        wrk, port, keys[slug], body_file, clients, args.requests, pid, tag
                    )
                    result["exact"] = exactly_one_run_each(
                        result.pop("answered_ids"), settled_runs(database_url, slug, tag), args
                    )
                    print(row(db, label, clients, result, round_no), flush=True)
                    rounds[-1][(label, clients)] = result
                if args.kills and clients > 1:
                    calm = rounds[-1][("3 functions", clients)]
                    port, pid = servers["product"][0], processes["product"].pid
                    tag = f"threek{clients}r{round_no}"
                    killed: list[int] = []
                    duration = args.requests / calm["rps"]
                    killer = kill_sandbox_workers(pid, args.kills, duration, killed)
                    result = run_wrk(
                        wrk, port, keys["three"], body_file, clients, args.requests, pid, tag
                    )
                    killer.join()
                    result["killed"] = len(killed)
                    result["exact"] = exactly_one_run_each(
                        result.pop("answered_ids"), settled_runs(database_url, "three", tag), args
                    )
                    print(row(db, KILLED, clients, result, round_no), flush=True)
                    rounds[-1][(KILLED, clients)] = result
    finally:
        for process in processes.values():
            stop_server(process)
    return rounds


def best_rounds(
    rounds: list[dict[tuple[str, int], dict[str, Any]]],
) -> dict[tuple[str, int], dict[str, Any]]:
    """Each case's round with the highest throughput."""
    best: dict[tuple[str, int], dict[str, Any]] = {}
    for results in rounds:
        for case, result in results.items():
            if case not in best or result["rps"] > best[case]["rps"]:
                best[case] = result
    return best


def _per_round(values: list[float], unit: str = "") -> str:
    listed = ", ".join(f"{v:.2f}" for v in values)
    return f"{statistics.median(values):.2f}{unit}  (rounds: {listed})"


def targets(
    db: str, rounds: list[dict[tuple[str, int], dict[str, Any]]], clients: list[int]
) -> None:
    """The targets as the median over rounds of ratios taken within each round."""
    print(f"\n{db}: targets (median of the per-round figures)")
    for n in clients:
        ratios = [r[("empty", n)]["rps"] / r[("reference", n)]["rps"] for r in rounds]
        print(f"  empty / reference throughput at {n:>2} clients: {_per_round(ratios)}  (>= 0.80)")
    for n in [c for c in clients if c > 1]:
        ratios = [r[("3 functions", n)]["rps"] / r[("empty", n)]["rps"] for r in rounds]
        print(
            f"  3 functions / empty throughput at {n:>2} clients: {_per_round(ratios)}  (>= 0.80)"
        )
    for n in [c for c in clients if c > 1]:
        for side in ("web", "sandbox"):
            added = [
                r[("3 functions", n)][f"{side}_cpu_ms"] - r[("empty", n)][f"{side}_cpu_ms"]
                for r in rounds
            ]
            print(
                f"  3 functions add CPU per request at {n:>2} clients, {side + ':':<8} "
                f"{_per_round(added, ' ms')}"
            )
    if 1 in clients:
        added = [
            (r[("3 functions", 1)]["p50_us"] - r[("empty", 1)]["p50_us"]) / 1000 for r in rounds
        ]
        print(f"  3 functions add to p50 at 1 client: {_per_round(added, ' ms')}  (<= 1.5 ms)")
    for n in [c for c in clients if c > 1]:
        if all((KILLED, n) in r for r in rounds):
            ratios = [r[(KILLED, n)]["p99_us"] / r[("3 functions", n)]["p99_us"] for r in rounds]
            killed = [r[(KILLED, n)]["killed"] for r in rounds]
            print(
                f"  p99 with sandbox workers killed / without at {n:>2} clients: "
                f"{_per_round(ratios)}  (<= 3.00); workers killed per round: {killed}"
            )
    every = [result for r in rounds for result in r.values()]
    errors = sum(r["non2xx"] + r["socket_errors"] for r in every)
    exact = all(r["exact"] for r in every)
    print(f"  errors in all rounds: {errors}  (target 0); exactly one run per request: {exact}")


def server_model(threads: int | None) -> str:
    if threads == 0:
        return "sync workers"
    if threads is None:
        from genauth_pipeline import gunicorn as config

        threads = config.threads
    return f"gthread workers with {threads} threads each, no keep-alive"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per case and client count")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per gunicorn worker (default: genauth_pipeline/gunicorn.py's; 0: sync)",
    )
    parser.add_argument(
        "--kills",
        type=int,
        default=0,
        help="also run the 3-function case while this many sandbox workers are SIGKILLed",
    )
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        seed_in_this_process()
        return
    args.clients = [int(n) for n in args.clients.split(",")]
    wrk = ensure_wrk()
    print(f"{CORES} cores, gunicorn: {CORES} workers, {server_model(args.threads)}")
    print(f"{args.requests} requests per case")
    print(f"load generator: {wrk} (1 thread), body {len(json.dumps(BODY))} bytes\n")
    print(HEADER)
    for db in args.db.split(","):
        with tempfile.TemporaryDirectory() as folder:
            body_file = f"{folder}/body.json"
            Path(body_file).write_text(json.dumps(BODY))
            database_url = fresh_database(db, folder)
            env = server_env(database_url, folder)
            keys = seed(env)
            rounds = measure(wrk, db, database_url, env, keys, args, body_file)
            best = best_rounds(rounds)
            print(f"\n{db}: best of {args.rounds} rounds\n{HEADER}")
            for (label, clients), result in sorted(best.items(), key=lambda item: item[0][1]):
                print(row(db, label, clients, result, "best"))
            targets(db, rounds, args.clients)
            print()


if __name__ == "__main__":
    main()
