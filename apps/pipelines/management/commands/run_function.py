"""Run one function locally, with no database: the local runner for function authors.

Exit status: 0 when the function allows, 1 when it denies (including errors and
terminated timeouts), 2 when the command itself is used wrongly (unreadable file,
bad JSON, unknown trigger).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.json_input import UnstorableJSON, loads_storable
from apps.core.triggers import TRIGGERS, canonical_trigger
from apps.pipelines.models import DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS

USAGE_ERROR = 2


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_ERROR)


def _read_object(path: str | None, what: str) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        value = loads_storable(Path(path).read_bytes())
    except OSError as exc:
        raise _usage_error(f"Cannot read {what} file {path}: {exc.strerror}.") from None
    except UnstorableJSON as exc:
        raise _usage_error(f"The {what} file {path} cannot be used: {exc}.") from None
    if not isinstance(value, dict):
        raise _usage_error(f"The {what} file {path} must hold a JSON object.")
    return value


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise _usage_error(f"--env takes NAME=VALUE, got {pair!r}.")
        env[name] = value
    return env


class Command(BaseCommand):
    help = (
        "Run FILE.js's pipe() for a trigger in the local sandbox (no database) and print the "
        "result as the execute API would. Exit status 0 allow, 1 deny, 2 usage error."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the function's JavaScript source")
        parser.add_argument("--trigger", required=True, help=", ".join(TRIGGERS))
        parser.add_argument("--user", help="a JSON file with the user object (default {})")
        parser.add_argument("--context", help="a JSON file with the context object (default {})")
        parser.add_argument(
            "--env", action="append", default=[], metavar="NAME=VALUE", help="repeatable"
        )
        parser.add_argument("--timeout-ms", type=int, default=DEFAULT_TIMEOUT_MS)
        parser.add_argument("--terminate-on-timeout", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        trigger = canonical_trigger(options["trigger"])
        if trigger not in TRIGGERS:
            raise _usage_error(f"Unknown trigger {trigger!r}; use one of {', '.join(TRIGGERS)}.")
        if not MIN_TIMEOUT_MS <= options["timeout_ms"] <= MAX_TIMEOUT_MS:
            raise _usage_error(f"--timeout-ms must be {MIN_TIMEOUT_MS}-{MAX_TIMEOUT_MS}.")
        path = Path(options["file"])
        try:
            code = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _usage_error(f"Cannot read {path}: {exc}.") from None
        from apps.runtime import FunctionJob, run_function

        function = FunctionJob(
            code=code,
            name=path.stem,
            timeout_ms=options["timeout_ms"],
            terminate_on_timeout=options["terminate_on_timeout"],
        )
        result = run_function(
            function,
            tenant_id="local",
            trigger=trigger,
            user=_read_object(options["user"], "user"),
            context=_read_object(options["context"], "context"),
            env=_parse_env(options["env"]),
        )
        # The execute API's shape; nothing is recorded locally, so there is no run id.
        output = {"run_id": None, "trigger": trigger, **result.to_wire()}
        self.stdout.write(json.dumps(output, indent=2, ensure_ascii=False))
        if output.get("decision") != "allow":
            raise SystemExit(1)
