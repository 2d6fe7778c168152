"""export_pipelines / import_pipelines: deterministic, idempotent, exact round trips."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.audit.models import AuditEvent, AuditKind
from apps.core.actor import Actor
from apps.pipelines import services
from apps.pipelines.models import Function, Release
from apps.tenants.models import Tenant
from apps.tenants.services import tenant_create
from tests.pipelines.conftest import ALLOW, DENY, tagging

pytestmark = pytest.mark.django_db


def export(slug: str) -> str:
    out = StringIO()
    call_command("export_pipelines", slug, stdout=out)
    return out.getvalue()


def import_(slug: str, path: Path, *flags: str) -> str:
    out = StringIO()
    call_command("import_pipelines", slug, str(path), *flags, stdout=out)
    return out.getvalue()


@pytest.fixture
def configured(acme: Tenant, make_function: Any, system: Actor) -> Tenant:
    """acme with published, edited, disabled, async and never-published functions."""
    gate = make_function(acme, "gate", code=tagging("v1"), publish=True, description="Gate")
    services.function_update(function=gate, actor=system, code=tagging("v2"))
    services.function_publish(function=gate, actor=system)
    services.function_update(function=gate, actor=system, code=tagging("unpublished work"))
    make_function(acme, "second", code=DENY, publish=True, enabled=False, timeout_ms=250)
    make_function(acme, "notify", trigger="POST_REGISTER", code=ALLOW, publish=True, is_async=True)
    make_function(acme, "idea", trigger="POST_REGISTER", code=tagging("draft only"))
    services.pipeline_reorder(
        tenant=acme,
        trigger="PRE_REGISTER",
        function_ids=list(
            Function.objects.filter(tenant=acme, pipeline__trigger="PRE_REGISTER")
            .order_by("-position")
            .values_list("pk", flat=True)
        ),
        actor=system,
    )
    services.pipeline_update_settings(
        tenant=acme, trigger="PRE_REGISTER", settings={"owner": "identity-team"}, actor=system
    )
    return acme


def test_the_export_is_deterministic_json_with_live_code_in_order(configured: Tenant) -> None:
    text = export("acme")
    assert text == export("acme")
    document = json.loads(text)
    assert text == json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert document["format"] == "genauth-pipeline/1"
    pre = document["pipelines"]["PRE_REGISTER"]
    assert pre["settings"] == {"owner": "identity-team"}
    assert [f["name"] for f in pre["functions"]] == ["second", "gate"]
    gate = pre["functions"][1]
    assert gate["code"] == tagging("v2")  # the live code, not the unpublished draft
    assert "draft" not in gate and gate["description"] == "Gate"
    second = pre["functions"][0]
    assert (second["enabled"], second["timeout_ms"]) == (False, 250)
    idea = document["pipelines"]["POST_REGISTER"]["functions"][1]
    assert idea["code"] is None and idea["draft"] == tagging("draft only")
    assert "id" not in gate and "version" not in gate
    assert set(document["pipelines"]) == {"PRE_REGISTER", "POST_REGISTER"}


def test_export_import_into_an_empty_tenant_export_is_identical(
    configured: Tenant, tmp_path: Path
) -> None:
    tenant_create(slug="staging", name="Staging")
    path = tmp_path / "acme.json"
    path.write_text(export("acme"))
    output = import_("staging", path)
    assert 'create and publish "gate"' in output
    assert 'create (draft) "idea"' in output
    assert export("staging") == export("acme")
    staging = Tenant.objects.get(slug="staging")
    gate = Function.objects.get(tenant=staging, name="gate")
    assert (
        gate.live_release.version == 1
        and gate.live_release.comment == "Imported from configuration"
    )
    assert AuditEvent.objects.filter(tenant=staging, kind=AuditKind.CONFIG_IMPORTED).count() == 1


def test_importing_the_same_document_twice_changes_nothing(
    configured: Tenant, tmp_path: Path
) -> None:
    tenant_create(slug="staging", name="Staging")
    path = tmp_path / "acme.json"
    path.write_text(export("acme"))
    import_("staging", path)
    releases, events = Release.objects.count(), AuditEvent.objects.count()
    assert import_("staging", path).strip() == "No changes."
    assert import_("acme", path).strip() == "No changes."  # its own export, drafts untouched
    assert (Release.objects.count(), AuditEvent.objects.count()) == (releases, events)


def test_changed_code_is_published_and_settings_order_follow(
    configured: Tenant, tmp_path: Path
) -> None:
    document = json.loads(export("acme"))
    functions = document["pipelines"]["PRE_REGISTER"]["functions"]
    functions[1]["code"] = tagging("v3")
    functions[0]["timeout_ms"] = 900
    functions.reverse()
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(document))
    output = import_("acme", path)
    assert 'publish "gate" (code changed)' in output
    assert 'update "second" (timeout_ms)' in output
    assert "order gate, second" in output
    gate = Function.objects.get(tenant=configured, name="gate")
    assert gate.live_release.code == tagging("v3") and gate.live_release.version == 3
    assert (
        export("acme") == json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    )


def test_a_dry_run_prints_the_plan_and_changes_nothing(configured: Tenant, tmp_path: Path) -> None:
    tenant_create(slug="staging", name="Staging")
    path = tmp_path / "acme.json"
    path.write_text(export("acme"))
    events = AuditEvent.objects.count()
    output = import_("staging", path, "--dry-run")
    assert output.startswith("Plan (dry run, nothing changed):")
    assert 'create and publish "gate"' in output
    assert not Function.objects.filter(tenant__slug="staging").exists()
    assert AuditEvent.objects.count() == events


def test_functions_missing_from_the_document_are_kept_unless_pruned(
    configured: Tenant, tmp_path: Path, make_function: Any
) -> None:
    path = tmp_path / "acme.json"
    path.write_text(export("acme"))
    make_function(configured, "local-only")
    import_("acme", path)
    assert Function.objects.filter(tenant=configured, name="local-only").exists()
    output = import_("acme", path, "--prune")
    assert 'delete "local-only"' in output
    assert export("acme") == path.read_text()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d["pipelines"].update(NOPE={"functions": []}), "pipelines.NOPE"),
        (
            lambda d: d["pipelines"]["PRE_REGISTER"]["functions"][0].update(timeout_ms=5),
            "timeout_ms",
        ),
        (lambda d: d["pipelines"]["PRE_REGISTER"]["functions"][0].update(code="pipe("), "code"),
        (lambda d: d["pipelines"]["PRE_REGISTER"]["functions"][0].update(colour="red"), "colour"),
        (
            lambda d: d["pipelines"]["PRE_REGISTER"]["functions"].append(
                dict(d["pipelines"]["PRE_REGISTER"]["functions"][0])
            ),
            "duplicate",
        ),
    ],
)
def test_an_invalid_document_imports_nothing(
    configured: Tenant, tmp_path: Path, mutate: Any, message: str
) -> None:
    tenant_create(slug="staging", name="Staging")
    document = json.loads(export("acme"))
    mutate(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CommandError) as refused:
        import_("staging", path)
    assert message in str(refused.value) and "Nothing was imported" in str(refused.value)
    assert not Function.objects.filter(tenant__slug="staging").exists()


def test_unreadable_files_and_unknown_tenants_are_clear_errors(
    acme: Tenant, tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match=r"x\.json cannot be imported: Expecting"):
        (tmp_path / "x.json").write_text("{nope")
        import_("acme", tmp_path / "x.json")
    with pytest.raises(CommandError, match="Cannot read"):
        import_("acme", tmp_path / "missing.json")
    with pytest.raises(CommandError, match="No tenant"):
        export("nobody")


def test_env_var_names_are_exported_without_values(configured: Tenant, tmp_path: Path) -> None:
    secrets = pytest.importorskip("apps.secrets.services")
    secrets.env_set(
        tenant=configured, name="API_TOKEN", value="s3cr3t-value", secret=True, actor=Actor.system()
    )
    secrets.env_set(
        tenant=configured, name="ALLOWED", value="example.com", secret=False, actor=Actor.system()
    )
    text = export("acme")
    assert json.loads(text)["env"] == ["ALLOWED", "API_TOKEN"]
    assert "s3cr3t-value" not in text and "example.com" not in text
    tenant_create(slug="staging", name="Staging")
    path = tmp_path / "acme.json"
    path.write_text(text)
    output = import_("staging", path, "--dry-run")
    assert "env: API_TOKEN is not set in this tenant" in output


def test_a_hand_written_document_may_leave_settings_out(acme: Tenant, tmp_path: Path) -> None:
    """New functions take the create defaults (a gate on a blocking trigger denies on
    timeout); on a second import the settings left out are kept, not a crash."""
    document = {
        "format": "genauth-pipeline/1",
        "pipelines": {
            "PRE_REGISTER": {"functions": [{"name": "gate", "code": ALLOW}]},
            "POST_REGISTER": {"functions": [{"name": "notify", "code": ALLOW}]},
        },
    }
    path = tmp_path / "handwritten.json"
    path.write_text(json.dumps(document))
    import_("acme", path)
    gate = Function.objects.get(tenant=acme, name="gate")
    notify = Function.objects.get(tenant=acme, name="notify")
    assert (gate.terminate_on_timeout, notify.terminate_on_timeout) == (True, False)
    services.function_update(function=gate, actor=Actor.system(), timeout_ms=500)
    assert import_("acme", path).strip() == "No changes."
    gate.refresh_from_db()
    assert gate.timeout_ms == 500
