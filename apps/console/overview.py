"""The tenant's pipelines at a glance: the home page and the pipelines page show it."""

from __future__ import annotations

from typing import Any

from apps.core.triggers import TRIGGERS
from apps.pipelines.selectors import pipelines_by_trigger, tenant_functions
from apps.runs.selectors import last_step_outcomes, run_sources
from apps.tenants.models import Tenant


def pipelines_overview(*, tenant: Tenant, include_tests: bool = False) -> list[dict[str, Any]]:
    pipelines = pipelines_by_trigger(tenant=tenant)
    functions = tenant_functions(tenant=tenant)
    outcomes = last_step_outcomes(
        tenant=tenant,
        function_ids={f.id for f in functions},
        sources=run_sources(include_tests=include_tests),
    )
    overview = []
    for trigger in TRIGGERS.values():
        pipeline = pipelines.get(trigger.name)
        members = [f for f in functions if pipeline is not None and f.pipeline_id == pipeline.pk]
        overview.append(
            {
                "trigger": trigger,
                "functions": [{"function": f, "last_run": outcomes.get(f.id)} for f in members],
            }
        )
    return overview
