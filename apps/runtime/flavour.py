"""What a function's code is, read from its text before it runs: its flavour (an Authing
``pipe``, an Auth0 Rule or an Auth0 Action), whether it names lodash, and which SDK globals
of other platforms it refers to.

These are static readings of the source with comments and string contents blanked out; the
driver (prelude.js) has the last word on what runs. No Django here.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

Flavour = Literal["pipe", "auth0_rule", "auth0_action"]

FLAVOUR_LABELS: dict[str, str] = {
    "pipe": "Authing pipe",
    "auth0_rule": "Auth0 Rule",
    "auth0_action": "Auth0 Action",
}

# Auth0 Action handlers and the triggers they run at (first: the natural one).
ACTION_TRIGGERS: dict[str, tuple[str, ...]] = {
    "onExecutePostLogin": (
        "POST_AUTHENTICATION",
        "PRE_AUTHENTICATION",
        "PRE_OIDC_ID_TOKEN_ISSUED",
        "PRE_OIDC_ACCESS_TOKEN_ISSUED",
    ),
    "onExecutePreUserRegistration": ("PRE_REGISTER",),
    "onExecutePostUserRegistration": ("POST_REGISTER",),
    "onExecuteCredentialsExchange": ("PRE_OIDC_ACCESS_TOKEN_ISSUED",),
}

_HANDLER = re.compile(
    r"\bonExecute(PostLogin|PreUserRegistration|PostUserRegistration|CredentialsExchange)\b"
)
_EXPORTS = re.compile(r"\b(?:module\.)?exports\b")
_PIPE = re.compile(
    r"\bfunction\s*+(?:\*\s*+)?pipe\s*+\(|\b(?:var|let|const)\s++pipe\s*+=|^[ \t]*+pipe\s*+=", re.M
)
# A script that is one function: Auth0's stored rule format, named or anonymous.
_LEADING_FUNCTION = re.compile(
    r"\s*+(?:async\s++)?function\b\s*+(?:\*\s*+)?(?:([A-Za-z_$][\w$]*+)\s*+)?\("
)
_LODASH = re.compile(r"(?<![\w$.])lodash(?![\w$])")
# Not a property (`user.authing`) nor an object key (`{ authing: 1 }`).
_AUTHING = re.compile(r"(?<![\w$.])authing(?![\w$])(?!\s*+:)(?:\s*+\.\s*+([A-Za-z_$][\w$]*+))?")
_AUTH0 = re.compile(
    r"(?<![\w$.])auth0\s*+\.\s*+([A-Za-z_$][\w$]*+)(?:\s*+\.\s*+([A-Za-z_$][\w$]*+))?"
)
# What a rule may use of Auth0's `auth0` object (see prelude.js, "Auth0 Rules").
AUTH0_RULE_METHODS = frozenset({"users.updateAppMetadata", "users.updateUserMetadata"})


# Comments and string/template literals, each as one token (the alternatives inside a literal
# exclude one another, so matching stays linear in the code's length). An unterminated one
# runs to the end.
_LITERALS = re.compile(
    r"//[^\n]*"
    r"|/\*[\s\S]*?(?:\*/|\Z)"
    r"|'(?:\\[\s\S]|[^'\\])*+'?"
    r'|"(?:\\[\s\S]|[^"\\])*+"?'
    r"|`(?:\\[\s\S]|[^`\\])*+`?"
)
_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank(match: re.Match[str]) -> str:
    token = match.group(0)
    if token.startswith("//"):
        return ""
    if token.startswith("/*"):
        return _NOT_NEWLINE.sub(" ", token)
    closed = len(token) > 1 and token[-1] == token[0]
    inner = token[1:-1] if closed else token[1:]
    return token[0] + _NOT_NEWLINE.sub(" ", inner) + (token[0] if closed else "")


@functools.lru_cache(maxsize=256)
def blank_comments_and_strings(code: str) -> str:
    """The code with comments removed and string/template contents replaced by spaces, so
    that names are only found where they are code (line breaks are kept). Memoised like
    engine.code_key: the same code is read for every run that compiles it."""
    return _LITERALS.sub(_blank, code)


def strip_rule_tail(code: str) -> str:
    """A rule's text as the expression it is: without the semicolons and blank space after it."""
    return code.rstrip().rstrip(";").rstrip()


def leading_function_name(code: str) -> str | None:
    """The name of the function the code starts with ('' if anonymous), or None."""
    match = _LEADING_FUNCTION.match(blank_comments_and_strings(code))
    if match is None:
        return None
    return match.group(1) or ""


def code_meta(code: str) -> dict[str, Any]:
    """What the driver needs to know about the code besides the code itself."""
    bare = blank_comments_and_strings(code)
    unavailable: list[str] = []
    for match in _AUTHING.finditer(bare):
        name = f"authing.{match.group(1)}" if match.group(1) else "authing"
        if name not in unavailable:
            unavailable.append(name)
    for match in _AUTH0.finditer(bare):
        name = ".".join(part for part in match.groups() if part)
        if name not in AUTH0_RULE_METHODS and f"auth0.{name}" not in unavailable:
            unavailable.append(f"auth0.{name}")
    # `lodash` is looked for in the raw text: the module name is a string.
    return {"lodash": bool(_LODASH.search(code)), "unavailable": unavailable}


def _one_function(bare: str) -> bool:
    """Whether the (blanked) code is one function and nothing after it: its parameters' and
    body's brackets close once, then only blank space and semicolons. The engine asks V8 the
    same question (engine._rule_name); this reading serves labels."""
    match = _LEADING_FUNCTION.match(bare)
    if match is None:
        return False
    depth, i = 1, match.end()
    for opening, closing in (("(", ")"), ("{", "}")):
        if opening == "{":
            i = bare.find("{", i)
            if i < 0:
                return False
            depth, i = 1, i + 1
        while i < len(bare) and depth:
            depth += {opening: 1, closing: -1}.get(bare[i], 0)
            i += 1
        if depth:
            return False
    return not bare[i:].strip().strip(";").strip()


def detect_flavour(code: str) -> Flavour:
    bare = blank_comments_and_strings(code)
    if _PIPE.search(bare):
        return "pipe"
    if _HANDLER.search(bare) and _EXPORTS.search(bare):
        return "auth0_action"
    if _one_function(bare):
        return "auth0_rule"
    return "pipe"


def action_handlers(code: str) -> list[str]:
    """The Auth0 Action handlers the code appears to export."""
    bare = blank_comments_and_strings(code)
    found = [f"onExecute{m.group(1)}" for m in _HANDLER.finditer(bare)]
    return sorted(set(found), key=list(ACTION_TRIGGERS).index)


def describe_flavour(code: str) -> dict[str, str]:
    """The flavour for people: {flavour, label, detail} (detail: where an Action runs)."""
    flavour = detect_flavour(code)
    detail = ""
    if flavour == "auth0_action":
        detail = "; ".join(
            f"{handler} runs at {' / '.join(ACTION_TRIGGERS[handler])}"
            for handler in action_handlers(code)
        )
    return {"flavour": flavour, "label": FLAVOUR_LABELS[flavour], "detail": detail}
