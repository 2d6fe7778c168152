"""The answer of an execution, typed, and the helpers that apply it to an IdP's data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "deny"]

# Claims a pipeline may never set or remove (the server refuses them too); applying a
# result leaves them alone even if an answer were tampered with on the way.
PROTECTED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "jti", "azp"}
)


@dataclass(frozen=True)
class ClaimsChange:
    """What the pipeline asked of one token: claims to set and claim names to remove."""

    set: dict[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, value: Any) -> ClaimsChange:
        if not isinstance(value, Mapping):
            return cls()
        claims = value.get("set")
        removed = value.get("remove")
        return cls(
            set=dict(claims) if isinstance(claims, Mapping) else {},
            remove=tuple(str(name) for name in removed) if isinstance(removed, list) else (),
        )

    def apply(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``claims`` with the removals made and then the claims set."""
        updated = dict(claims)
        for name in self.remove:
            if name not in PROTECTED_CLAIMS:
                updated.pop(name, None)
        for name, value in self.set.items():
            if name not in PROTECTED_CLAIMS:
                updated[name] = value
        return updated

    def __bool__(self) -> bool:
        return bool(self.set or self.remove)


@dataclass(frozen=True)
class DenyReason:
    """Why a run denied: the code for machines and the message the IdP may show."""

    code: str
    message: str
    function: str | None = None


@dataclass(frozen=True)
class ExecuteResult:
    """One answer of ``POST /api/v1/pipelines/{trigger}/execute``.

    ``degraded`` is set when the service gave no answer and the trigger's failure
    policy decided instead (``failure`` says why); ``queued`` when the run was accepted
    to run later (advisory triggers): its decision is then ``allow`` and the data unchanged.
    """

    trigger: str
    decision: Decision
    user: dict[str, Any]
    context: dict[str, Any]
    run_id: str | None = None
    error: DenyReason | None = None
    custom_data: dict[str, Any] = field(default_factory=dict)
    id_token_claims: ClaimsChange = field(default_factory=ClaimsChange)
    access_token_claims: ClaimsChange = field(default_factory=ClaimsChange)
    steps: tuple[dict[str, Any], ...] = ()
    duration_ms: float | None = None
    queued: bool = False
    degraded: bool = False
    failure: str | None = None

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def denied(self) -> bool:
        return self.decision == "deny"

    @property
    def message(self) -> str | None:
        """The message to show the end user when denied."""
        return self.error.message if self.error else None

    def apply_id_token_claims(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        return self.id_token_claims.apply(claims)

    def apply_access_token_claims(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        return self.access_token_claims.apply(claims)

    def apply_custom_data(
        self, profile: Mapping[str, Any], *, key: str | None = None
    ) -> dict[str, Any]:
        """A copy of ``profile`` with the custom data merged in (under ``key`` if given)."""
        updated = dict(profile)
        if key is None:
            updated.update(self.custom_data)
        else:
            nested = updated.get(key)
            updated[key] = {**(nested if isinstance(nested, Mapping) else {}), **self.custom_data}
        return updated

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ExecuteResult:
        """The result from a synchronous 200 answer."""
        error = body.get("error")
        return cls(
            trigger=str(body.get("trigger", "")),
            decision="deny" if body.get("decision") == "deny" else "allow",
            user=_object(body.get("user")),
            context=_object(body.get("context")),
            run_id=body.get("run_id"),
            error=_deny_reason(error) if isinstance(error, Mapping) else None,
            custom_data=_object(body.get("custom_data")),
            id_token_claims=ClaimsChange.from_json(body.get("id_token_claims")),
            access_token_claims=ClaimsChange.from_json(body.get("access_token_claims")),
            steps=tuple(step for step in body.get("steps") or () if isinstance(step, dict)),
            duration_ms=body.get("duration_ms"),
        )


def _object(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _deny_reason(error: Mapping[str, Any]) -> DenyReason:
    return DenyReason(
        code=str(error.get("code") or "access_denied"),
        message=str(error.get("message") or "Access denied."),
        function=error.get("function"),
    )
