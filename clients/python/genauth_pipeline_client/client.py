"""A client for the execute API: timeouts, safe retries and a failure policy per trigger."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from genauth_pipeline_client.result import DenyReason, ExecuteResult

FailurePolicy = Literal["open", "closed"]

# SPEC §3: a deny on these refuses the flow, so without an answer they refuse too.
BLOCKING_TRIGGERS = frozenset(
    {
        "PRE_REGISTER",
        "PRE_AUTHENTICATION",
        "PRE_OIDC_ID_TOKEN_ISSUED",
        "PRE_OIDC_ACCESS_TOKEN_ISSUED",
        "PRE_COMPLETE_USER_INFO",
        "PRE_MFA_VERIFY",
    }
)
USER_AGENT = "genauth-pipeline-client/0.1.0"
# Answers that may succeed if asked again. 429 is refused before anything runs, so it is
# retried always; 5xx and a 409 ``conflict`` (the same idempotency key still running
# elsewhere) only with an idempotency key, since the run may have happened.
_THROTTLED = 429
_STILL_RUNNING = (409, "conflict")
_MAX_RETRY_AFTER = 5.0


class PipelineRequestError(Exception):
    """The service refused the request itself (bad key, scope, body or trigger).

    Never covered by the failure policy: it is a configuration error to fix, not an
    outage to ride out.
    """

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True)
class _Attempt:
    """One try: the parsed answer, or why there was none and whether to try again."""

    status: int | None
    body: dict[str, Any] | None
    failure: str | None = None
    retryable: bool = False
    wait: float | None = None


class Client:
    """``Client("https://pipeline.example", "gp_...").execute("PRE_REGISTER", user, context)``.

    ``timeout`` bounds each attempt (seconds); ``retries`` is how many more attempts a
    retryable failure gets. A request is only sent again when that cannot run the
    pipeline twice: with an idempotency key, after a 429, or when the connection failed
    before the request was sent. When no answer comes, the trigger's policy decides:
    ``"closed"`` denies (the default for blocking triggers), ``"open"`` allows with the
    data unchanged (the default for advisory ones); ``policies`` overrides it per trigger.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        policies: Mapping[str, FailurePolicy] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise ValueError("timeout must be positive; retries and backoff not negative")
        for trigger, policy in (policies or {}).items():
            if policy not in ("open", "closed"):
                raise ValueError(f"policy for {trigger} must be 'open' or 'closed'")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.policies = dict(policies or {})
        self._api_key = api_key
        self._sleep = sleep

    def policy_for(self, trigger: str) -> FailurePolicy:
        default: FailurePolicy = "closed" if trigger in BLOCKING_TRIGGERS else "open"
        return self.policies.get(trigger, default)

    def execute(
        self,
        trigger: str,
        user: Mapping[str, Any],
        context: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        mode: Literal["sync", "async"] | None = None,
    ) -> ExecuteResult:
        """Runs the tenant's live pipeline for ``trigger`` and returns its answer."""
        context = dict(context or {})
        body: dict[str, Any] = {"user": dict(user), "context": context}
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        if mode is not None:
            body["mode"] = mode
        attempt = self._send(trigger, body, idempotent=idempotency_key is not None)
        if attempt.body is not None and attempt.status == 200:
            return ExecuteResult.from_json(attempt.body)
        if attempt.body is not None and attempt.status == 202:
            return ExecuteResult(
                trigger=trigger,
                decision="allow",
                user=dict(user),
                context=context,
                run_id=attempt.body.get("run_id"),
                queued=True,
            )
        return self._by_policy(trigger, dict(user), context, attempt.failure or "no answer")

    def _by_policy(
        self, trigger: str, user: dict[str, Any], context: dict[str, Any], failure: str
    ) -> ExecuteResult:
        if self.policy_for(trigger) == "open":
            return ExecuteResult(trigger, "allow", user, context, degraded=True, failure=failure)
        reason = DenyReason("pipeline_unavailable", "This request cannot be completed right now.")
        return ExecuteResult(
            trigger, "deny", user, context, error=reason, degraded=True, failure=failure
        )

    def _send(self, trigger: str, body: dict[str, Any], *, idempotent: bool) -> _Attempt:
        data = json.dumps(body).encode()
        attempt = self._attempt(trigger, data, idempotent=idempotent)
        for number in range(self.retries):
            if not attempt.retryable:
                break
            delay = self.backoff * (2**number)
            self._sleep(min(max(delay, attempt.wait or 0.0), _MAX_RETRY_AFTER))
            attempt = self._attempt(trigger, data, idempotent=idempotent)
        return attempt

    def _attempt(self, trigger: str, data: bytes, *, idempotent: bool) -> _Attempt:
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            f"{self.base_url}/api/v1/pipelines/{trigger}/execute",
            data=data,
            method="POST",
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return _answer(response.status, response.read())
        except urllib.error.HTTPError as error:
            return _refusal(error, idempotent=idempotent)
        except urllib.error.URLError as error:
            # urllib wraps only what fails while connecting or sending: nothing has run.
            return _Attempt(None, None, f"connection failed: {error.reason}", retryable=True)
        except (OSError, ValueError) as error:
            # The request went out and the answer did not come back: it may have run.
            return _Attempt(None, None, f"no answer: {error!r}", retryable=idempotent)


def _answer(status: int, raw: bytes) -> _Attempt:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _Attempt(status, None, f"HTTP {status} with a body that is not a JSON object")
    return _Attempt(status, body)


def _refusal(error: urllib.error.HTTPError, *, idempotent: bool) -> _Attempt:
    status = error.code
    raw = error.read() if error.fp is not None else b""
    if status == _THROTTLED:
        return _Attempt(status, None, "HTTP 429", retryable=True, wait=_retry_after(error))
    code, message, details = _error_shape(raw)
    if status >= 500 or (status, code) == _STILL_RUNNING:
        return _Attempt(status, None, f"HTTP {status}", retryable=idempotent)
    raise PipelineRequestError(status, code, message, details) from None


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    try:
        return float(error.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _error_shape(raw: bytes) -> tuple[str, str, dict[str, Any]]:
    """SPEC §6: ``{"error": {"code", "message", "details"}}``, tolerating anything else."""
    try:
        error = json.loads(raw).get("error", {})
        return str(error["code"]), str(error["message"]), dict(error.get("details") or {})
    except (ValueError, AttributeError, KeyError, TypeError):
        return "http_error", raw[:200].decode(errors="replace"), {}
