"""Applying a result to an IdP's data, and the package's independence (no database)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from genauth_pipeline_client import ClaimsChange, ExecuteResult

CLIENT_ROOT = Path(__file__).resolve().parents[2] / "clients" / "python"


def test_claims_are_removed_then_set_and_protected_ones_never_change() -> None:
    change = ClaimsChange.from_json(
        {"set": {"role": "admin", "sub": "someone-else"}, "remove": ["nickname", "exp"]}
    )
    claims = {"sub": "u_1", "exp": 99, "nickname": "annie", "role": "user"}
    assert change.apply(claims) == {"sub": "u_1", "exp": 99, "role": "admin"}
    assert claims["nickname"] == "annie"  # the input is left as it was


def test_an_empty_or_odd_claims_answer_changes_nothing() -> None:
    for value in (None, {}, {"set": [], "remove": "x"}, "nonsense"):
        change = ClaimsChange.from_json(value)
        assert not change
        assert change.apply({"a": 1}) == {"a": 1}


def test_a_result_reads_the_services_answer() -> None:
    result = ExecuteResult.from_json(
        {
            "run_id": "run_1",
            "trigger": "PRE_OIDC_ACCESS_TOKEN_ISSUED",
            "decision": "deny",
            "error": {"code": "no_m2m", "message": "Not for machines.", "function": "gate"},
            "user": {},
            "context": {"accessTokenTarget": "programmaticAccount"},
            "custom_data": {},
            "id_token_claims": {"set": {}, "remove": []},
            "access_token_claims": {"set": {"scope": "read"}, "remove": []},
            "steps": [{"status": "denied"}],
            "duration_ms": 2.5,
        }
    )
    assert result.denied and result.message == "Not for machines."
    assert result.error is not None and result.error.function == "gate"
    assert result.apply_access_token_claims({}) == {"scope": "read"}
    assert result.steps == ({"status": "denied"},)


def test_the_package_needs_only_the_standard_library() -> None:
    # -S: no site-packages at all, so any third-party import fails.
    completed = subprocess.run(
        [sys.executable, "-S", "-c", "import genauth_pipeline_client as c; print(c.Client)"],
        env={"PYTHONPATH": str(CLIENT_ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Client" in completed.stdout
