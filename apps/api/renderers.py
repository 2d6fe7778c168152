"""JSON rendering for the execution endpoints, through orjson.

A run's response is a few kilobytes of plain JSON data; DRF's renderer (the standard
library's encoder) costs several times more for it. Anything orjson refuses (a lazy
translation string, an integer beyond 64 bits) goes through DRF's renderer as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer

# DRF escapes these two for pages that embed JSON in a <script>; so do we.
_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()


class FastJSONRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is None:
            try:
                text = orjson.dumps(data)
            except TypeError:
                pass
            else:
                if b"\xe2\x80" in text:
                    text = text.replace(_LINE_SEPARATOR, b"\\u2028")
                    text = text.replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
                return text
        return super().render(data, accepted_media_type, renderer_context)
