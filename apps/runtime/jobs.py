"""What callers hand the sandbox and what they get back: typed, immutable objects.

Inside the sandbox (the worker process, the JSON between it and the pool) the same data travels
as plain dicts; ``to_wire``/``from_wire`` convert at the pool's edge. The objects hold references
to the caller's dicts (``user``, ``context``, ``env``) rather than copies: a job is built once
per run and read, never changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_TIMEOUT_MS = 3000


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionJob:
    """One function of a job, at the version to run."""

    code: str
    id: str = ""
    name: str = "function"
    version: int | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    # A timeout denies the run instead of skipping the function.
    terminate_on_timeout: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "code": self.code,
            "timeout_ms": self.timeout_ms,
            "terminate_on_timeout": self.terminate_on_timeout,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineJob:
    """Run ``functions`` in order for one trigger of one tenant."""

    tenant_id: str
    trigger: str
    functions: tuple[FunctionJob, ...]
    user: dict[str, Any]
    context: dict[str, Any]
    env: Mapping[str, str] = field(default_factory=dict)
    # Overrides of results.DEFAULT_LIMITS (run_timeout_ms, max_output_bytes, ...).
    limits: Mapping[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "trigger": self.trigger,
            "functions": [fn.to_wire() for fn in self.functions],
            "user": self.user,
            "context": self.context,
            "env": self.env,
            "limits": self.limits,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """What one function did (SPEC §6 ``steps[]``)."""

    function_id: str
    name: str
    version: int | None
    status: str  # ok, deny, error, timeout (services add queued and skipped)
    duration_ms: float
    logs: list[Any]
    error: dict[str, Any] | None

    @classmethod
    def from_wire(cls, step: dict[str, Any]) -> StepResult:
        return cls(**step)  # the keys results._step writes, no more: a mismatch fails here

    def to_wire(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in STEP_KEYS}


# The keys of a step in the execute API's response, in order.
STEP_KEYS = tuple(f.name for f in fields(StepResult))


def _no_claims() -> dict[str, Any]:
    return {"set": {}, "remove": []}


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineResult:
    """A run's outcome (SPEC §6): the decision, the objects as the functions left them, and
    the steps that ran (none after a deny, an error or a terminating timeout)."""

    decision: str  # allow or deny
    error: dict[str, Any] | None  # {code, message, function} when denied
    user: dict[str, Any]
    context: dict[str, Any]
    custom_data: dict[str, Any] = field(default_factory=dict)
    id_token_claims: dict[str, Any] = field(default_factory=_no_claims)
    access_token_claims: dict[str, Any] = field(default_factory=_no_claims)
    steps: tuple[StepResult, ...] = ()
    duration_ms: float = 0.0

    @classmethod
    def from_wire(cls, result: dict[str, Any]) -> PipelineResult:
        steps = tuple(StepResult.from_wire(step) for step in result["steps"])
        return cls(**{**result, "steps": steps})

    def to_wire(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "error": self.error,
            **self.output(),
            "steps": [step.to_wire() for step in self.steps],
            "duration_ms": self.duration_ms,
        }

    def output(self) -> dict[str, Any]:
        """What the functions produced: the objects, custom data and token claims."""
        return {
            "user": self.user,
            "context": self.context,
            "custom_data": self.custom_data,
            "id_token_claims": self.id_token_claims,
            "access_token_claims": self.access_token_claims,
        }

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"
