"""Every gallery template proves its manifest's expected outcomes in the real sandbox.

Outcomes that call HTTP run against a loopback stub server, allow-listed for the
sandbox; they are skipped while the sandbox has no working outbound HTTP.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from apps.gallery.loader import CATEGORIES, TemplateSpec, load_all, outcome_input
from apps.runtime.flavour import detect_flavour
from tests.gallery.template_cases import StubServer, check_outcome

SPECS = load_all()
CASES = [
    pytest.param(spec, outcome, id=f"{spec.slug}: {outcome['name']}")
    for spec in SPECS
    for outcome in spec.outcomes
]
TENANT = "gallery-tests"


def runtime() -> Any:
    try:
        module = importlib.import_module("apps.runtime")
    except ImportError:
        return None
    return module if hasattr(module, "run_function") else None


needs_runtime = pytest.mark.skipif(runtime() is None, reason="apps.runtime is not available yet")


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    server = StubServer().start()
    yield server
    server.stop()


def _sandbox_settings(*, extra_http_allow: tuple[str, ...]) -> Any:
    """The sandbox configuration the settings describe, plus allow-listed ranges."""
    from django.conf import settings

    config = settings.SANDBOX
    return dataclasses.replace(config, http_allow=(*config.http_allow, *extra_http_allow))


@pytest.fixture(scope="module")
def outbound_http_enabled(stub: StubServer) -> Iterator[bool]:
    """Whether fetch from the sandbox reaches the loopback stub once it is allow-listed.

    Requested only by outcomes that call HTTP; the sandbox is put back to the
    settings' configuration afterwards.
    """
    module = runtime()
    if module is None:
        yield False
        return
    module.configure(_sandbox_settings(extra_http_allow=("127.0.0.0/8",)))
    try:
        yield _probe_http(module, stub)
    finally:
        module.configure(_sandbox_settings(extra_http_allow=()))


def _probe_http(module: Any, stub: StubServer) -> bool:
    stub.reset({"GET /probe": {"status": 200, "json": {"ok": True}}})
    code = """async function pipe(user, context, callback) {
      const response = await fetch(env.PROBE_URL);
      const body = await response.json();
      user.addCustomData("probe", body.ok === true);
      callback(null, user, context);
    }"""
    result = module.run_function(
        module.FunctionJob(code=code),
        tenant_id=TENANT,
        trigger="PRE_REGISTER",
        user={},
        context={},
        env={"PROBE_URL": f"{stub.base_url}/probe"},
    )
    return bool(result.decision == "allow" and result.custom_data.get("probe") is True)


def test_the_gallery_has_at_least_25_templates() -> None:
    assert len(SPECS) >= 25
    assert len({spec.slug for spec in SPECS}) == len(SPECS)


@needs_runtime
@pytest.mark.parametrize(("spec", "outcome"), CASES)
def test_the_template_behaves_as_its_manifest_says(
    spec: TemplateSpec, outcome: dict[str, Any], stub: StubServer, request: pytest.FixtureRequest
) -> None:
    if "http" in outcome and not request.getfixturevalue("outbound_http_enabled"):
        pytest.skip("outbound HTTP from the sandbox is not available yet")
    stub.reset(outcome.get("http"))
    given = outcome_input(spec.sample, outcome, server=stub.base_url)
    module = runtime()
    result = module.run_function(
        module.FunctionJob(code=spec.code, name=spec.slug),
        tenant_id=TENANT,
        trigger=outcome.get("trigger", spec.triggers[0]),
        user=given["user"],
        context=given["context"],
        env={name: str(value) for name, value in given["env"].items()},
    )
    check_outcome(result.to_wire(), outcome["expect"], stub.requests)


@needs_runtime
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_the_template_code_parses_in_the_sandbox(spec: TemplateSpec) -> None:
    assert runtime().validate_code(spec.code) is None


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_the_template_uses_the_three_argument_contract_or_auth0s_action_one(
    spec: TemplateSpec,
) -> None:
    if detect_flavour(spec.code) == "auth0_action":
        assert re.search(r"^exports\.onExecute\w+ = async \(event, api\) => \{$", spec.code, re.M)
    else:
        assert re.search(r"^async function pipe\(user, context, callback\) \{$", spec.code, re.M)
    assert "require(" not in spec.code  # globals only: nothing a tenant cannot see


def test_the_gallery_has_at_least_5_auth0_actions() -> None:
    actions = [spec for spec in SPECS if detect_flavour(spec.code) == "auth0_action"]
    assert len(actions) >= 5


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_token_helpers_appear_only_in_templates_for_their_trigger(spec: TemplateSpec) -> None:
    if re.search(r"\.(add|remove)IdToken\(", spec.code):
        assert spec.triggers == ["PRE_OIDC_ID_TOKEN_ISSUED"]
    if re.search(r"\.(add|remove)AccessToken\(", spec.code):
        assert spec.triggers == ["PRE_OIDC_ACCESS_TOKEN_ISSUED"]
    # An Action's claims apply on their token's trigger: it must list that trigger.
    if "api.idToken." in spec.code:
        assert "PRE_OIDC_ID_TOKEN_ISSUED" in spec.triggers
    if "api.accessToken." in spec.code:
        assert "PRE_OIDC_ACCESS_TOKEN_ISSUED" in spec.triggers


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_the_manifest_declares_exactly_the_env_names_the_code_reads(spec: TemplateSpec) -> None:
    used = set(re.findall(r"\b(?:env|event\.secrets)\.([A-Z][A-Z0-9_]*)", spec.code))
    assert used == {item["name"] for item in spec.env}


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_the_http_flag_matches_the_code(spec: TemplateSpec) -> None:
    assert spec.uses_http == bool(re.search(r"\b(fetch|axios\.\w+)\(", spec.code))


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_every_trigger_of_the_template_is_exercised_by_an_outcome(spec: TemplateSpec) -> None:
    exercised = {outcome.get("trigger", spec.triggers[0]) for outcome in spec.outcomes}
    assert exercised == set(spec.triggers)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_gatekeeping_templates_prove_both_allow_and_deny(spec: TemplateSpec) -> None:
    decisions = {outcome["expect"]["decision"] for outcome in spec.outcomes}
    assert "allow" in decisions
    if spec.category in ("access-control", "verification"):
        assert "deny" in decisions


def test_every_category_has_templates() -> None:
    assert {spec.category for spec in SPECS} == set(CATEGORIES)
