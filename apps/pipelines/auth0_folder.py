"""An Auth0 Deploy CLI directory (``rules/``, ``rules-configs/``, ``actions/``, ``triggers/``)
read as a configuration document (config.FORMAT) for ``import_pipelines``.

What runs here unmodified becomes functions; what cannot map (a rule stage or an Action trigger
without an equivalent, an npm package or an Auth0 API the sandbox does not provide) is listed
instead, and the importer then imports nothing unless told to leave those out.

Where login-flow code lands: Auth0 runs a rule or a post-login Action once per login, before
tokens are issued, and a deny there refuses the login. Here that is PRE_AUTHENTICATION, unless
the code sets token claims: then it runs at the trigger of each token it changes
(PRE_OIDC_ID_TOKEN_ISSUED, PRE_OIDC_ACCESS_TOKEN_ISSUED), where a deny refuses the token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.pipelines.config import FORMAT
from apps.pipelines.models import DEFAULT_TIMEOUT_MS
from apps.runtime.flavour import blank_comments_and_strings, code_meta, detect_flavour

ACTION_TRIGGERS: dict[str, tuple[str, ...] | None] = {
    "post-login": None,  # by what the code changes, see login_triggers
    "pre-user-registration": ("PRE_REGISTER",),
    "post-user-registration": ("POST_REGISTER",),
    "credentials-exchange": ("PRE_OIDC_ACCESS_TOKEN_ISSUED",),
}
RULE_STAGE = "login_success"
# What require() serves in the sandbox (prelude.js), as npm package names.
AVAILABLE_PACKAGES = frozenset(
    {"lodash", "axios", "querystring", "url", "util", "crypto", "buffer", "./utils", "utils"}
)
_REQUIRE = re.compile(r"""\brequire\(\s*['"]([^'"]+)['"]\s*\)""")
_UNSUPPORTED_API = re.compile(
    r"\bapi\s*\.\s*(authentication|multifactor|prompt|redirect|refreshToken|samlResponse|session|transaction)\b"
)
_RULE_UNSUPPORTED = re.compile(r"\bcontext\s*\.\s*(redirect|multifactor|samlConfiguration|sso)\b")


@dataclass
class Auth0Folder:
    """The document, what could not map (one line each) and notes for the operator."""

    document: dict[str, Any]
    unmappable: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_auth0_folder(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_dir() for name in ("rules", "actions"))


def login_triggers(code: str) -> tuple[str, ...]:
    """Where a rule or a post-login Action runs (see the module's docstring)."""
    bare = blank_comments_and_strings(code)
    triggers = []
    if re.search(r"\bidToken\b", bare):
        triggers.append("PRE_OIDC_ID_TOKEN_ISSUED")
    if re.search(r"\baccessToken\b", bare):
        triggers.append("PRE_OIDC_ACCESS_TOKEN_ISSUED")
    return tuple(triggers) or ("PRE_AUTHENTICATION",)


def code_problems(code: str, dependencies: list[str]) -> list[str]:
    """What in the code needs something the sandbox does not provide."""
    problems = []
    required = [match.group(1) for match in _REQUIRE.finditer(code)]
    for name in dict.fromkeys([*dependencies, *required]):
        package = name.removeprefix("node:")
        base = package.split("/")[0] if not package.startswith("@") else package
        if package not in AVAILABLE_PACKAGES and not re.match(r"^lodash(?:[/.]\w+)?$", base):
            problems.append(f"needs the npm package {name!r}, which require() does not serve")
    bare = blank_comments_and_strings(code)
    for match in dict.fromkeys(m.group(1) for m in _UNSUPPORTED_API.finditer(bare)):
        problems.append(f"uses api.{match}, which has no equivalent here")
    for match in dict.fromkeys(m.group(1) for m in _RULE_UNSUPPORTED.finditer(bare)):
        problems.append(f"sets context.{match}, which has no equivalent here")
    for name in code_meta(code)["unavailable"]:
        problems.append(f"uses {name}, which this sandbox does not provide")
    return problems


def _load_json(path: Path, result: Auth0Folder) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        result.unmappable.append(f"{path.name}: cannot be read ({exc})")
        return None
    if not isinstance(value, dict):
        result.unmappable.append(f"{path.name}: is not a JSON object")
        return None
    return value


def _read_code(root: Path, candidates: list[Path], where: str, result: Auth0Folder) -> str | None:
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_relative_to(root.resolve()) and resolved.is_file():
            return resolved.read_text(encoding="utf-8")
    result.unmappable.append(f"{where}: its code file was not found inside the folder")
    return None


def _add(pipelines: dict[str, list[dict[str, Any]]], trigger: str, entry: dict[str, Any]) -> None:
    pipelines.setdefault(trigger, []).append(entry)


def _entry(name: str, code: str, description: str, *, enabled: bool, live: bool) -> dict[str, Any]:
    """A function of the document. Auth0 fails the login when a rule or an Action times out:
    so does the function (terminate_on_timeout)."""
    return {
        "name": name,
        "code" if live else "draft": code,
        "description": description,
        "enabled": enabled,
        "is_async": False,
        "timeout_ms": DEFAULT_TIMEOUT_MS,
        "terminate_on_timeout": True,
    }


def _described(
    root: Path,
    folder: Path,
    code_files: Callable[[Path, dict[str, Any]], list[Path]],
    result: Auth0Folder,
) -> Iterator[tuple[Path, dict[str, Any], str, str, str]]:
    """Each item of a folder: its JSON file, the JSON, its name, how to cite it, its code."""
    for path in sorted(folder.glob("*.json")):
        meta = _load_json(path, result)
        if meta is None:
            continue
        name = str(meta.get("name") or path.stem)
        where = f"{folder.name}/{path.name} ({name})"
        code = _read_code(root, code_files(path, meta), where, result)
        if code is not None:
            yield path, meta, name, where, code


def _rules(root: Path, result: Auth0Folder, pipelines: dict[str, list[dict[str, Any]]]) -> None:
    folder = root / "rules"
    if not folder.is_dir():
        return
    rules = []

    def script(path: Path, meta: dict[str, Any]) -> list[Path]:
        name = str(meta.get("script") or f"./{path.stem}.js")
        return [folder / name, root / name]

    for _path, meta, name, where, code in _described(root, folder, script, result):
        stage = meta.get("stage", RULE_STAGE)
        problems = (
            []
            if stage == RULE_STAGE
            else [f"runs at stage {stage!r}, which has no equivalent here"]
        )
        if detect_flavour(code) != "auth0_rule":
            problems.append("is not a function (user, context, callback)")
        problems += code_problems(code, [])
        if problems:
            result.unmappable += [f"{where}: {problem}" for problem in problems]
            continue
        order = meta.get("order")
        rules.append((order if isinstance(order, (int, float)) else float("inf"), name, code, meta))
    for _order, name, code, meta in sorted(rules, key=lambda rule: (rule[0], rule[1])):
        entry = _entry(
            name,
            code,
            f"Auth0 rule {name}, imported from rules/",
            enabled=meta.get("enabled", True) is not False,
            live=True,
        )
        for trigger in login_triggers(code):
            _add(pipelines, trigger, entry)
    configs = root / "rules-configs"
    if configs.is_dir():
        for path in sorted(configs.glob("*.json")):
            config = _load_json(path, result)
            if config and isinstance(config.get("key"), str):
                result.document["env"].append(config["key"])


def _bindings(root: Path, result: Auth0Folder) -> dict[str, list[str]]:
    """Action names bound to each Auth0 trigger, in flow order (triggers/triggers.json)."""
    path = root / "triggers" / "triggers.json"
    if not path.is_file():
        return {}
    meta = _load_json(path, result) or {}
    bound: dict[str, list[str]] = {}
    for trigger, bindings in meta.items():
        if isinstance(bindings, list):
            bound[trigger] = [
                str(b.get("action_name") or b.get("display_name"))
                for b in bindings
                if isinstance(b, dict)
            ]
    return bound


def _actions(root: Path, result: Auth0Folder, pipelines: dict[str, list[dict[str, Any]]]) -> None:
    folder = root / "actions"
    if not folder.is_dir():
        return
    bound = _bindings(root, result)
    actions = []

    def code_file(path: Path, meta: dict[str, Any]) -> list[Path]:
        name = str(meta.get("code") or "")
        return [*([root / name, folder / name] if name else []), folder / path.stem / "code.js"]

    for _path, meta, name, where, code in _described(root, folder, code_file, result):
        supported = [
            str(t.get("id")) for t in meta.get("supported_triggers") or [] if isinstance(t, dict)
        ]
        problems = [
            f"runs at Auth0's {trigger!r} trigger, which has no equivalent here"
            for trigger in supported
            if trigger not in ACTION_TRIGGERS
        ]
        if not supported:
            problems.append("names no supported trigger")
        if detect_flavour(code) != "auth0_action":
            problems.append("exports no onExecute... handler")
        dependencies = [
            str(d.get("name")) for d in meta.get("dependencies") or [] if isinstance(d, dict)
        ]
        problems += code_problems(code, dependencies)
        if problems:
            result.unmappable += [f"{where}: {problem}" for problem in problems]
            continue
        result.document["env"] += [
            str(s["name"])
            for s in meta.get("secrets") or []
            if isinstance(s, dict) and s.get("name")
        ]
        for trigger in supported:
            order = bound[trigger].index(name) if name in bound.get(trigger, []) else None
            actions.append((trigger, order, name, code, meta))
    for auth0_trigger, order, name, code, meta in sorted(
        actions, key=lambda a: (a[1] is None, a[1] if a[1] is not None else 0, a[2])
    ):
        if order is None and bound:
            result.notes.append(
                f"actions/{name}: not bound to {auth0_trigger} in triggers.json; imported disabled."
            )
        entry = _entry(
            name,
            code,
            f"Auth0 Action {name} ({auth0_trigger}), imported from actions/",
            enabled=order is not None or not bound,
            live=meta.get("deployed", True) is not False,
        )
        for trigger in ACTION_TRIGGERS[auth0_trigger] or login_triggers(code):
            _add(pipelines, trigger, entry)


def auth0_folder_document(path: Path) -> Auth0Folder:
    """Read the folder; ``document`` holds what maps, ``unmappable`` the rest."""
    result = Auth0Folder(document={"format": FORMAT, "env": [], "pipelines": {}})
    pipelines: dict[str, list[dict[str, Any]]] = {}
    _rules(path, result, pipelines)
    _actions(path, result, pipelines)
    if (path / "hooks").is_dir():
        result.unmappable.append(
            "hooks/: Auth0 Hooks are not imported (move them to Actions first)"
        )
    result.document["env"] = sorted(set(result.document["env"]))
    result.document["pipelines"] = {
        trigger: {"functions": functions} for trigger, functions in pipelines.items()
    }
    return result
