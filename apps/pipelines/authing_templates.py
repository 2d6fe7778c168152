"""Authing's pipeline template metadata (``templates.json``) read as a configuration document
(config.FORMAT) for ``import_pipelines``.

Two shapes are read: the current one, ``{"templates": [{"name", "name_en", "templates": [...]}]}``
whose templates list their ``triggers``, and the older top-level list of categories whose
templates list ``types``. Each template becomes one function per trigger it names, as a draft
(a template is a starting point: nothing of it goes live until someone publishes it), named by
its id and described by its English title and overview where it has them (else the Chinese
ones). Older trigger names (``PRE_OIDCTOKENISSUED``) map to today's.

What cannot run here is listed instead: a trigger with no equivalent, code that needs Authing's
SDK (``authing.*``) or an npm package that require() does not serve, a template without code or
an id. The importer then imports nothing unless told to leave those out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apps.core.triggers import TRIGGERS, canonical_trigger
from apps.pipelines.auth0_folder import code_problems
from apps.pipelines.config import FORMAT
from apps.pipelines.models import DEFAULT_TIMEOUT_MS


@dataclass
class AuthingTemplates:
    """The document, what could not map (one line each) and notes for the operator."""

    document: dict[str, Any]
    unmappable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _categories(document: Any) -> list[Any] | None:
    if isinstance(document, dict) and set(document) == {"templates"}:
        document = document["templates"]
    if not isinstance(document, list) or not document:
        return None
    if all(isinstance(c, dict) and isinstance(c.get("templates"), list) for c in document):
        return document
    return None


def is_authing_templates(document: Any) -> bool:
    """Whether ``document`` has the shape of Authing's templates.json (either version)."""
    return _categories(document) is not None


def _text(template: dict[str, Any], key: str) -> str:
    value = template.get(f"{key}_en") or template.get(f"{key}_zh") or template.get(key) or ""
    return str(value).strip()


def _template_problems(where: str, template: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The template's triggers (canonical names) and what keeps it from mapping."""
    problems = []
    code = template.get("code")
    if not isinstance(code, str) or not code.strip():
        problems.append(f"{where}: has no code")
    given = template.get("triggers", template.get("types"))
    if not isinstance(given, list) or not given:
        problems.append(f"{where}: names no trigger")
        given = []
    triggers = []
    for name in given:
        trigger = canonical_trigger(str(name))
        if trigger in TRIGGERS:
            triggers.append(trigger)
        else:
            problems.append(f"{where}: runs at {name!r}, which has no equivalent here")
    if isinstance(code, str):
        problems += [f"{where}: {problem}" for problem in code_problems(code, [])]
    return list(dict.fromkeys(triggers)), problems


def authing_templates_document(document: Any) -> AuthingTemplates:
    """The configuration document for ``document`` (see ``is_authing_templates``)."""
    result = AuthingTemplates(document={"format": FORMAT, "env": [], "pipelines": {}})
    pipelines: dict[str, dict[str, Any]] = result.document["pipelines"]
    seen: set[str] = set()
    for category in _categories(document) or []:
        for index, template in enumerate(category["templates"]):
            if not isinstance(template, dict) or not str(template.get("id") or "").strip():
                result.unmappable.append(
                    f"{category.get('name', '?')} #{index + 1}: a template without an id"
                )
                continue
            name = str(template["id"]).strip()
            where = f"template {name}"
            if name in seen:
                result.notes.append(f"{where}: listed twice; the first one is imported.")
                continue
            seen.add(name)
            triggers, problems = _template_problems(where, template)
            if problems:
                result.unmappable += problems
                continue
            title, overview = _text(template, "title"), _text(template, "overview")
            description = f"{title}. {overview}" if title and overview else title or overview
            for trigger in triggers:
                pipelines.setdefault(trigger, {"functions": []})["functions"].append(
                    {
                        "name": name,
                        "draft": template["code"],
                        "description": description[:2000],
                        "enabled": True,
                        "is_async": template.get("async") is True,
                        "timeout_ms": DEFAULT_TIMEOUT_MS,
                    }
                )
    if not pipelines and not result.unmappable:
        result.unmappable.append("the file lists no templates")
    return result
