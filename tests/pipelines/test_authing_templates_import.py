"""import_pipelines SLUG templates.json: Authing's template metadata (either of its shapes)
becomes draft functions at the triggers each template names; what cannot map is listed and,
unless left out on purpose, nothing is imported."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.pipelines.models import Function
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db

DOMAIN_CHECK = """async function pipe(user, context, callback) {
  if (!String(user.email || "").endsWith("@example.com")) {
    return callback(new Error("Only example.com may register"));
  }
  callback(null, user, context);
}"""
ID_CLAIM = """async function pipe(user, context, callback) {
  user.addIdToken("team", "blue");
  callback(null, user, context);
}"""
NOTIFY = """async function pipe(user, context, callback) {
  const qs = require("querystring");
  log(qs.stringify({ id: user.id }));
  callback(null, user, context);
}"""
SDK_BOUND = """async function pipe(user, context, callback) {
  const orgs = await authing.users.listOrgs(user.id);
  user.addIdToken("orgs", orgs);
  callback(null, user, context);
}"""


def current_shape(*templates: dict[str, Any]) -> dict[str, Any]:
    return {
        "templates": [
            {"name": "访问控制", "name_en": "Access Control", "templates": list(templates)}
        ]
    }


def template(id: str, code: str, triggers: list[str], **more: Any) -> dict[str, Any]:
    return {
        "id": id,
        "title_zh": "标题",
        "title_en": f"{id} title",
        "overview_zh": "说明",
        "overview_en": f"What {id} does.",
        "categories": ["访问控制"],
        "triggers": triggers,
        "code": code,
        "async": False,
        **more,
    }


def run_import(tmp_path: Path, document: Any, *args: str) -> str:
    path = tmp_path / "templates.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    out = StringIO()
    call_command("import_pipelines", "acme", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def acme() -> Tenant:
    return Tenant.objects.create(slug="acme", name="Acme")


def test_each_template_becomes_a_draft_function_at_each_of_its_triggers(
    acme: Tenant, tmp_path: Path
) -> None:
    document = current_shape(
        template("domain-check", DOMAIN_CHECK, ["PRE_REGISTER"]),
        template("id-claim", ID_CLAIM, ["PRE_OIDCTOKENISSUED"]),
        template("notify", NOTIFY, ["POST_REGISTER", "POST_AUTHENTICATION"]),
    )
    output = run_import(tmp_path, document)
    assert "Applied:" in output
    functions = {(f.pipeline.trigger, f.name): f for f in Function.objects.filter(tenant=acme)}
    assert set(functions) == {
        ("PRE_REGISTER", "domain-check"),
        ("PRE_OIDC_ID_TOKEN_ISSUED", "id-claim"),  # the older name, mapped
        ("POST_REGISTER", "notify"),
        ("POST_AUTHENTICATION", "notify"),
    }
    check = functions[("PRE_REGISTER", "domain-check")]
    assert check.code == DOMAIN_CHECK
    assert check.live_release is None  # a draft: nothing goes live until it is published
    assert check.description == "domain-check title. What domain-check does."


def test_the_older_shape_with_types_is_read_too(acme: Tenant, tmp_path: Path) -> None:
    older = [
        {
            "name": "访问控制",
            "templates": [
                {
                    "id": "domain-check",
                    "title_zh": "注册邮箱后缀白名单",
                    "overview_zh": "只允许 example.com",
                    "categories": ["访问控制"],
                    "types": ["PRE_REGISTER"],
                    "code": DOMAIN_CHECK,
                }
            ],
        }
    ]
    run_import(tmp_path, older)
    function = Function.objects.get(tenant=acme, name="domain-check")
    assert function.pipeline.trigger == "PRE_REGISTER"
    assert function.description == "注册邮箱后缀白名单. 只允许 example.com"


def test_what_cannot_map_is_listed_and_nothing_is_imported(acme: Tenant, tmp_path: Path) -> None:
    document = current_shape(
        template("domain-check", DOMAIN_CHECK, ["PRE_REGISTER"]),
        template("org-list", SDK_BOUND, ["PRE_OIDCTOKENISSUED"]),
        template("mystery", DOMAIN_CHECK, ["PRE_SOMETHING_ELSE"]),
        template("empty", "", ["PRE_REGISTER"]),
    )
    with pytest.raises(CommandError) as refused:
        run_import(tmp_path, document)
    message = str(refused.value)
    assert "Nothing was imported" in message
    assert "template org-list: uses authing.users" in message
    assert "template mystery: runs at 'PRE_SOMETHING_ELSE'" in message
    assert "template empty: has no code" in message
    assert not Function.objects.filter(tenant=acme).exists()


def test_skip_unmappable_imports_the_rest_and_says_what_was_left_out(
    acme: Tenant, tmp_path: Path
) -> None:
    document = current_shape(
        template("domain-check", DOMAIN_CHECK, ["PRE_REGISTER"]),
        template("org-list", SDK_BOUND, ["PRE_OIDCTOKENISSUED"]),
    )
    output = run_import(tmp_path, document, "--skip-unmappable")
    assert "Left out (cannot map): template org-list" in output
    assert list(Function.objects.filter(tenant=acme).values_list("name", flat=True)) == [
        "domain-check"
    ]


def test_importing_the_same_templates_again_changes_nothing(acme: Tenant, tmp_path: Path) -> None:
    document = current_shape(template("domain-check", DOMAIN_CHECK, ["PRE_REGISTER"]))
    run_import(tmp_path, document)
    again = run_import(tmp_path, document)
    assert Function.objects.filter(tenant=acme).count() == 1
    assert "Applied:" not in again  # no step: the plan is empty


def test_a_file_that_is_neither_shape_is_refused_as_a_configuration_document(
    acme: Tenant, tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="Nothing was imported"):
        run_import(tmp_path, {"templates": "not a list"})
