"""Reading and validating the template files under ``templates_js/<slug>/``.

Each template is a folder with ``code.js`` (the function: an Authing pipe, SPEC §4, or an
Auth0 Action whose handlers run at the template's triggers) and
``manifest.json``::

    {
      "slug": "email-domain-allow-list",           # must equal the folder name
      "title": "...", "description": "...",
      "category": "access-control",                # one of CATEGORIES
      "triggers": ["PRE_REGISTER", ...],           # the first is the default
      "is_async": false,                           # suggested for notifications
      "uses_http": false,                          # calls fetch/axios
      "env": [{"name": "NAME", "description": "...", "required": true, "secret": false}],
      "sample": {"user": {...}, "context": {...}, "env": {...}},
      "outcomes": [                                # the template's behaviour tests
        {"name": "...", "trigger": "...",          # trigger optional (default: first)
         "user": {...}, "context": {...}, "env": {...},   # shallow overrides of sample;
                                                          # a null value removes the key
         "http": {"GET /path": {"status": 200, "json": ...}},  # local test server routes
         "expect": {"decision": "allow" | "deny", "error_code", "error_message_contains",
                    "user_subset", "user_absent", "custom_data", "custom_data_keys",
                    "id_token_claims", "access_token_claims", "requests"}}
      ]
    }

Env values in ``sample.env`` and outcome overrides may contain ``{server}``, which
the tests replace with the base URL of their local HTTP server.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.core.triggers import TRIGGERS
from apps.runtime.flavour import ACTION_TRIGGERS, action_handlers, detect_flavour

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates_js"

# Display order of the gallery, with the labels shown in the console.
CATEGORIES: dict[str, str] = {
    "access-control": "Access control",
    "verification": "Verification",
    "tokens": "Token claims",
    "profile": "Profile & metadata",
    "enrichment": "Enrichment",
    "notifications": "Notifications",
}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
EXPECT_KEYS = {
    "decision",
    "error_code",
    "error_message_contains",
    "user_subset",
    "user_absent",
    "custom_data",
    "custom_data_keys",
    "id_token_claims",
    "access_token_claims",
    "requests",
}
OUTCOME_KEYS = {"name", "trigger", "user", "context", "env", "http", "expect"}


class TemplateFileError(ValueError):
    """A template folder that cannot be loaded; the message names the file and field."""


@dataclass(frozen=True)
class TemplateSpec:
    slug: str
    title: str
    description: str
    category: str
    triggers: list[str]
    env: list[dict[str, Any]]
    sample: dict[str, Any]
    outcomes: list[dict[str, Any]]
    code: str
    is_async: bool = False
    uses_http: bool = False
    code_sha256: str = field(default="")

    def as_fields(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "triggers": self.triggers,
            "env": self.env,
            "sample": self.sample,
            "outcomes": self.outcomes,
            "is_async": self.is_async,
            "uses_http": self.uses_http,
            "code": self.code,
            "code_sha256": self.code_sha256,
        }


def load_all(directory: Path = TEMPLATES_DIR) -> list[TemplateSpec]:
    """Every template folder, validated, in gallery display order."""
    specs = [load_one(folder) for folder in sorted(directory.iterdir()) if folder.is_dir()]
    order = list(CATEGORIES)
    return sorted(specs, key=lambda spec: (order.index(spec.category), spec.title.lower()))


def load_one(folder: Path) -> TemplateSpec:
    manifest_path, code_path = folder / "manifest.json", folder / "code.js"
    if not manifest_path.is_file() or not code_path.is_file():
        raise TemplateFileError(f"{folder}: needs both manifest.json and code.js")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TemplateFileError(f"{manifest_path}: not valid JSON ({exc})") from None
    code = code_path.read_text(encoding="utf-8")
    return _spec_from(manifest, code, folder.name, str(manifest_path))


def _spec_from(manifest: Any, code: str, folder_name: str, where: str) -> TemplateSpec:
    def fail(message: str) -> TemplateFileError:
        return TemplateFileError(f"{where}: {message}")

    if not isinstance(manifest, dict):
        raise fail("the manifest must be a JSON object")
    slug = _text(manifest, "slug", fail)
    if slug != folder_name or not SLUG_RE.match(slug):
        raise fail(f"slug {slug!r} must be lowercase-with-hyphens and equal the folder name")
    category = _text(manifest, "category", fail)
    if category not in CATEGORIES:
        raise fail(f"category must be one of {', '.join(CATEGORIES)}")
    triggers = manifest.get("triggers")
    if not isinstance(triggers, list) or not triggers or any(t not in TRIGGERS for t in triggers):
        raise fail("triggers must be a non-empty list of SPEC trigger names")
    _check_flavour(code, triggers, fail)
    env = _env(manifest.get("env", []), fail)
    sample = _sample(manifest.get("sample"), fail)
    outcomes = _outcomes(manifest.get("outcomes"), triggers, fail)
    return TemplateSpec(
        slug=slug,
        title=_text(manifest, "title", fail),
        description=_text(manifest, "description", fail),
        category=category,
        triggers=list(triggers),
        env=env,
        sample=sample,
        outcomes=outcomes,
        code=code,
        is_async=bool(manifest.get("is_async", False)),
        uses_http=bool(manifest.get("uses_http", False)),
        code_sha256=hashlib.sha256(code.encode()).hexdigest(),
    )


def _check_flavour(code: str, triggers: list[str], fail: Any) -> None:
    """An Authing pipe, or an Auth0 Action whose handlers run at every trigger it lists."""
    flavour = detect_flavour(code)
    if flavour == "auth0_action":
        runs_at = {t for h in action_handlers(code) for t in ACTION_TRIGGERS[h]}
        if not set(triggers) <= runs_at:
            raise fail(f"the Action's handlers do not run at {sorted(set(triggers) - runs_at)}")
    elif "function pipe(" not in code:
        raise fail(
            "code.js must define `async function pipe(user, context, callback)` "
            "or export an Auth0 Action handler"
        )


def _text(manifest: dict[str, Any], key: str, fail: Any) -> str:
    value = manifest.get(key)
    if not isinstance(value, str) or not value.strip():
        raise fail(f"{key} must be a non-empty string")
    return value.strip()


def _env(env: Any, fail: Any) -> list[dict[str, Any]]:
    if not isinstance(env, list):
        raise fail("env must be a list")
    cleaned = []
    for item in env:
        if not isinstance(item, dict) or not ENV_NAME_RE.match(str(item.get("name", ""))):
            raise fail("each env entry needs a NAME in upper case")
        if not isinstance(item.get("description"), str):
            raise fail(f"env {item['name']} needs a description")
        cleaned.append(
            {
                "name": item["name"],
                "description": item["description"],
                "required": bool(item.get("required", True)),
                "secret": bool(item.get("secret", False)),
            }
        )
    return cleaned


def _sample(sample: Any, fail: Any) -> dict[str, Any]:
    if not isinstance(sample, dict):
        raise fail("sample must be an object with user and context")
    for key in ("user", "context"):
        if not isinstance(sample.get(key), dict):
            raise fail(f"sample.{key} must be an object")
    if not isinstance(sample.get("env", {}), dict):
        raise fail("sample.env must be an object")
    return {"user": sample["user"], "context": sample["context"], "env": sample.get("env", {})}


def _outcomes(outcomes: Any, triggers: list[str], fail: Any) -> list[dict[str, Any]]:
    if not isinstance(outcomes, list) or not outcomes:
        raise fail("outcomes must list at least one expected behaviour")
    names = set()
    for outcome in outcomes:
        if not isinstance(outcome, dict) or not isinstance(outcome.get("name"), str):
            raise fail("each outcome needs a name")
        name = outcome["name"]
        if name in names:
            raise fail(f"outcome {name!r} is listed twice")
        names.add(name)
        if set(outcome) - OUTCOME_KEYS:
            raise fail(f"outcome {name!r}: unknown keys {sorted(set(outcome) - OUTCOME_KEYS)}")
        if outcome.get("trigger", triggers[0]) not in triggers:
            raise fail(f"outcome {name!r}: trigger is not one of the template's triggers")
        expect = outcome.get("expect")
        if not isinstance(expect, dict) or expect.get("decision") not in ("allow", "deny"):
            raise fail(f"outcome {name!r}: expect.decision must be allow or deny")
        if set(expect) - EXPECT_KEYS:
            raise fail(f"outcome {name!r}: unknown expect keys {sorted(set(expect) - EXPECT_KEYS)}")
    return outcomes


def outcome_input(
    spec_sample: dict[str, Any], outcome: dict[str, Any], server: str = ""
) -> dict[str, Any]:
    """The user, context and env one outcome runs with (sample plus its overrides)."""
    merged = {}
    for key in ("user", "context", "env"):
        value = dict(spec_sample.get(key, {}))
        for name, override in outcome.get(key, {}).items():
            if override is None:
                value.pop(name, None)
            else:
                value[name] = override
        merged[key] = value
    merged["env"] = {
        name: value.replace("{server}", server) if isinstance(value, str) else value
        for name, value in merged["env"].items()
    }
    return merged
