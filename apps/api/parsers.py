"""The API's JSON parser: DRF's, with the checks of ``apps.core.json_input``."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from apps.core.json_input import UnstorableJSON, loads_storable


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return loads_storable(stream.read() if stream is not None else b"")
        except UnstorableJSON as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
