"""Sandbox latency and throughput: `python benchmarks/sandbox.py` (about a minute).

A realistic 3-function pipeline (~20 lines each, ~1 KB user and context) through the worker
pool: warm (1 and 2 workers), fresh-isolate-per-run mode, and `node -e` per run as the naive
baseline. Prints one table.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import apps.runtime as runtime

ALLOW_LIST = """async function pipe(user, context, callback) {
  // Only some e-mail domains may register.
  const allowed = (env.ALLOWED_DOMAINS || "example.com").split(",").map((d) => d.trim());
  const email = String(user.email || "").toLowerCase();
  const domain = email.slice(email.lastIndexOf("@") + 1);
  if (!email.includes("@") || !allowed.includes(domain)) {
    const err = new Error("This e-mail domain may not register");
    err.code = "email_domain_blocked";
    return callback(err);
  }
  log("domain ok", domain);
  if (context.request && context.request.ip) {
    const internal = utils.ipRangeCheck(context.request.ip, ["10.0.0.0/8", "192.168.0.0/16"]);
    context.internal = internal;
  }
  user.email = email;
  user.domain = domain;
  callback(null, user, context);
}"""

ENRICH = """async function pipe(user, context, callback) {
  // Derive a plan and a few profile fields.
  const plan = user.domain === "example.com" ? "enterprise" : "free";
  user.addCustomData("plan", plan);
  const tags = new Set(user.tags || []);
  tags.add("registered");
  if (context.internal) tags.add("internal");
  user.tags = Array.from(tags).sort();
  const name = [user.given_name, user.family_name].filter(Boolean).join(" ");
  if (name) user.name = name;
  const locale = (context.request && context.request.headers && context.request.headers["accept-language"]) || "en";
  user.locale = locale.split(",")[0].split(";")[0];
  const metadata = Object.assign({}, user.metadata || {});
  metadata.signup_source = context.app && context.app.name ? context.app.name : "unknown";
  metadata.signup_at = new Date(0).toISOString();
  user.metadata = metadata;
  console.info("enriched", user.id, plan);
  await null;
  callback(null, user, context);
}"""

RISK = """async function pipe(user, context, callback) {
  // A simple risk score from the request.
  let score = 0;
  const ua = (context.request && context.request.headers && context.request.headers["user-agent"]) || "";
  if (!ua) score += 30;
  if (/curl|python|bot/i.test(ua)) score += 40;
  const geo = context.geo || {};
  if (geo.country && !["DE", "FR", "US"].includes(geo.country)) score += 10;
  if (user.email && user.email.length > 60) score += 10;
  context.risk = { score, level: score >= 50 ? "high" : score >= 20 ? "medium" : "low" };
  if (score >= 80) {
    return callback(new Error("Registration refused"));
  }
  const id = crypto.randomUUID();
  context.trace_id = id;
  log("risk", score);
  callback(null, user, context);
}"""

USER = {
    "id": "u_01J8Z",
    "email": "Ann.Lee@example.com",
    "given_name": "Ann",
    "family_name": "Lee",
    "phone": "+49 30 1234567",
    "tags": ["beta", "newsletter"],
    "metadata": {
        "referrer": "https://partner.example.org/landing?campaign=spring",
        "utm": {"source": "mail", "medium": "email", "campaign": "spring-2026"},
    },
    "address": {"street": "Unter den Linden 1", "city": "Berlin", "zip": "10117", "country": "DE"},
    "preferences": {
        "language": "de",
        "timezone": "Europe/Berlin",
        "marketing": False,
        "theme": "dark",
    },
    "identities": [{"provider": "password", "user_id": "u_01J8Z", "is_social": False}],
    "note": "x" * 300,
}
CONTEXT = {
    "request": {
        "ip": "10.1.2.3",
        "headers": {
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
            "accept-language": "de-DE,de;q=0.9,en;q=0.8",
        },
        "query": {"client_id": "app_123", "state": "s" * 40},
    },
    "app": {"id": "app_123", "name": "Web shop"},
    "geo": {"country": "DE", "city": "Berlin"},
    "protocol": "oidc-basic-profile",
    "connection": {"name": "Username-Password", "strategy": "auth0"},
    "session": {"id": "sess_" + "a" * 40},
    "stats": {"loginsCount": 12},
    "authorization": {"roles": ["customer", "beta-tester"]},
    "note": "y" * 250,
}
ENV = {"ALLOWED_DOMAINS": "example.com, example.org"}


def job(tenant: str = "t_bench") -> runtime.PipelineJob:
    return runtime.PipelineJob(
        tenant_id=tenant,
        trigger="PRE_REGISTER",
        user=USER,
        context=CONTEXT,
        env=ENV,
        functions=tuple(
            runtime.FunctionJob(id=f"fn_{i}", name=n, version=1, code=c, timeout_ms=3000)
            for i, (n, c) in enumerate(
                [("allow-list", ALLOW_LIST), ("enrich", ENRICH), ("risk", RISK)]
            )
        ),
    )


def latencies(n: int, gap_s: float = 0.0) -> list[float]:
    """Back to back, or with ``gap_s`` between runs (a login rate below saturation)."""
    j = job()
    assert runtime.run_pipeline(j).decision == "allow", runtime.run_pipeline(j)
    for _ in range(min(200, n)):
        runtime.run_pipeline(j)
    out = []
    for _ in range(n):
        time.sleep(gap_s)
        t0 = time.perf_counter()
        runtime.run_pipeline(j)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def throughput(threads: int, seconds: float) -> float:
    j = job()
    stop = time.perf_counter() + seconds

    def loop() -> int:
        count = 0
        while time.perf_counter() < stop:
            runtime.run_pipeline(j)
            count += 1
        return count

    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: loop(), range(threads)))
    return total / seconds


NODE_SCRIPT = """
const env = Object.freeze(%(env)s); const utils = {ipRangeCheck: () => false}; const log = () => {};
const crypto = require('crypto');
const fns = [%(fns)s];
let user = %(user)s, context = %(context)s;
(async () => { for (const pipe of fns) { await new Promise((res, rej) => {
  user.addCustomData = () => {};
  pipe(user, context, (err, u, c) => { if (err) rej(err); user = u || user; context = c || context; res(); }); }); }
  process.stdout.write(JSON.stringify({user, context})); })();
"""


def node_latencies(n: int) -> list[float]:
    script = NODE_SCRIPT % {
        "env": json.dumps(ENV),
        "user": json.dumps(USER),
        "context": json.dumps(CONTEXT),
        "fns": ",".join(
            f"(function(){{ {c}; return pipe; }})()" for c in (ALLOW_LIST, ENRICH, RISK)
        ),
    }
    script = script.replace("console.info", "(()=>{})")
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(["node", "-e", script], check=True, capture_output=True)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main() -> None:
    rows = []
    runtime.configure(runtime.SandboxConfig(workers=1))
    warm1 = latencies(3000)
    tput1 = throughput(2, 5.0)
    runtime.configure(runtime.SandboxConfig(workers=2))
    warm2 = latencies(3000)
    tput2 = throughput(4, 5.0)
    runtime.configure(runtime.SandboxConfig(workers=1, fresh_isolate_per_run=True))
    fresh = latencies(300)
    # With time between runs the worker builds the next isolate while idle, off the request.
    fresh_paced = latencies(100, gap_s=0.05)
    tput_fresh = throughput(2, 3.0)
    runtime.shutdown()
    node = node_latencies(20)
    rows.append(("warm, 1 worker", warm1, tput1))
    rows.append(("warm, 2 workers", warm2, tput2))
    rows.append(("fresh isolate per run, 1 worker", fresh, tput_fresh))
    rows.append(("fresh, 20 runs/s (spare ready)", fresh_paced, 1000 / 50))
    rows.append(("node -e per run (baseline)", node, 1000 / statistics.mean(node)))
    print(
        f"3-function pipeline, ~1 KB user/context; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}"
    )
    print(f"{'mode':34} {'p50 ms':>8} {'p99 ms':>8} {'runs/s':>9}  (paced rows: offered rate)")
    for name, lat, tput in rows:
        print(f"{name:34} {pct(lat, 0.5):8.3f} {pct(lat, 0.99):8.3f} {tput:9.0f}")
    print(f"2 workers / 1 worker throughput: {tput2 / tput1:.2f}x")
    print(f"node -e p50 / warm p50: {pct(node, 0.5) / pct(warm1, 0.5):.0f}x")


if __name__ == "__main__":
    main()
