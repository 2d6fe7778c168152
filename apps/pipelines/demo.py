"""Demo content for ``seed_demo``: two published functions for acme, one with history."""

from __future__ import annotations

from typing import Any

from apps.core.actor import Actor
from apps.pipelines import services
from apps.pipelines.models import Function
from apps.tenants.models import Tenant

DOMAIN_CHECK_V1 = """\
async function pipe(user, context, callback) {
  const domain = (user.email || "").split("@").pop().toLowerCase();
  if (domain !== "example.com") {
    return callback(new Error("Registration is open to example.com addresses only."));
  }
  callback(null, user, context);
}
"""

DOMAIN_CHECK_V2 = """\
const ALLOWED = ["example.com", "acme.test"];

async function pipe(user, context, callback) {
  const email = (user.email || "").toLowerCase();
  const domain = email.slice(email.lastIndexOf("@") + 1);
  if (!email.includes("@") || !ALLOWED.includes(domain)) {
    const error = new Error("Registration is open to " + ALLOWED.join(" and ") + " only.");
    error.code = "domain_not_allowed";
    return callback(error);
  }
  user.addCustomData("signup_domain", domain);
  callback(null, user, context);
}
"""

PLAN_CLAIM = """\
async function pipe(user, context, callback) {
  const plan = user.plan || "free";
  user.addIdToken("https://acme.test/plan", plan);
  log("plan claim set to", plan);
  callback(null, user, context);
}
"""


def seed(*, tenant: Tenant, actor: Actor, stdout: Any) -> None:
    names = {"allow-listed-email-domains", "plan-claim"}
    if Function.objects.filter(tenant=tenant, name__in=names).exists():
        return
    domain_check = services.function_create(
        tenant=tenant,
        trigger="PRE_REGISTER",
        name="allow-listed-email-domains",
        description="Only addresses from the listed domains may register.",
        code=DOMAIN_CHECK_V1,
        actor=actor,
        publish=True,
        comment="First version: example.com only",
    )
    services.function_update(
        function=domain_check,
        actor=actor,
        code=DOMAIN_CHECK_V2,
        comment="Allow acme.test too; exact domain match",
    )
    services.function_publish(
        function=domain_check, actor=actor, comment="Allow acme.test; machine code"
    )
    services.function_create(
        tenant=tenant,
        trigger="PRE_OIDC_ID_TOKEN_ISSUED",
        name="plan-claim",
        description="Adds the user's plan to the ID token.",
        code=PLAN_CLAIM,
        actor=actor,
        publish=True,
        comment="Plan claim",
    )
    stdout.write("Demo functions: allow-listed-email-domains (v2), plan-claim (v1).")
