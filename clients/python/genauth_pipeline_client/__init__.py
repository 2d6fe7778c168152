"""Call GenAuth Pipeline from an identity provider and apply its answer.

Only the standard library is needed::

    from genauth_pipeline_client import Client

    client = Client("https://pipeline.example", "gp_...", timeout=3, retries=2)
    result = client.execute("PRE_REGISTER", {"email": email}, {"ip": ip},
                            idempotency_key=f"signup-{request_id}")
    if result.denied:
        refuse(result.message)
    profile = result.apply_custom_data(profile)
"""

from genauth_pipeline_client.client import (
    BLOCKING_TRIGGERS,
    Client,
    FailurePolicy,
    PipelineRequestError,
)
from genauth_pipeline_client.result import (
    PROTECTED_CLAIMS,
    ClaimsChange,
    Decision,
    DenyReason,
    ExecuteResult,
)

__all__ = [
    "BLOCKING_TRIGGERS",
    "PROTECTED_CLAIMS",
    "ClaimsChange",
    "Client",
    "Decision",
    "DenyReason",
    "ExecuteResult",
    "FailurePolicy",
    "PipelineRequestError",
]
