"""PRE_OIDCTOKENISSUED (Authing's older name) is accepted on input and stored canonically."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.core.triggers import canonical_trigger
from apps.pipelines.models import Function
from apps.tenants.models import Tenant
from tests.conftest import Persona
from tests.pipelines.conftest import ALLOW

pytestmark = pytest.mark.django_db
OLD = "PRE_OIDCTOKENISSUED"
CANONICAL = "PRE_OIDC_ID_TOKEN_ISSUED"


def test_the_alias_maps_to_the_id_token_trigger_and_other_names_pass_through() -> None:
    assert canonical_trigger(OLD) == CANONICAL
    assert canonical_trigger("PRE_REGISTER") == "PRE_REGISTER"
    assert canonical_trigger("NOPE") == "NOPE"


def test_creating_a_function_with_the_alias_stores_the_canonical_name(alice: Persona) -> None:
    body = {"trigger": OLD, "name": "claims", "code": ALLOW, "publish": True}
    response = alice.api().post("/api/v1/functions", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["trigger"] == CANONICAL
    assert Function.objects.get(name="claims").pipeline.trigger == CANONICAL


def test_execute_and_pipeline_urls_accept_the_alias(alice: Persona) -> None:
    client = alice.api()
    client.post(
        "/api/v1/functions",
        {"trigger": CANONICAL, "name": "claims", "code": ALLOW, "publish": True},
        format="json",
    )
    run = client.post(
        f"/api/v1/pipelines/{OLD}/execute", {"user": {}, "context": {}}, format="json"
    )
    assert run.status_code == 200, run.content
    assert run.json()["trigger"] == CANONICAL and len(run.json()["steps"]) == 1
    pipeline = client.get(f"/api/v1/pipelines/{OLD}").json()
    assert pipeline["trigger"] == CANONICAL and len(pipeline["functions"]) == 1


def test_import_accepts_the_alias_as_a_pipeline_key(acme: Tenant, tmp_path: Path) -> None:
    document = {
        "format": "genauth-pipeline/1",
        "env": [],
        "pipelines": {
            OLD: {"settings": {"team": "id"}, "functions": [{"name": "claims", "code": ALLOW}]}
        },
    }
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))
    call_command("import_pipelines", "acme", str(path), stdout=StringIO())
    function = Function.objects.get(tenant=acme, name="claims")
    assert function.pipeline.trigger == CANONICAL and function.pipeline.settings == {"team": "id"}


def test_run_function_accepts_the_alias(tmp_path: Path) -> None:
    script = tmp_path / "f.js"
    script.write_text(ALLOW)
    out = StringIO()
    call_command("run_function", str(script), "--trigger", OLD, stdout=out)
    result = json.loads(out.getvalue())
    assert result["trigger"] == CANONICAL and result["decision"] == "allow"
