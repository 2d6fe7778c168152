"""Text filters for console templates."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def breakable(value: object) -> SafeString:
    """A long identifier (``PRE_OIDC_ACCESS_TOKEN_ISSUED``) that may wrap after its
    underscores on a narrow screen instead of in the middle of a word."""
    return mark_safe(escape(str(value)).replace("_", "_<wbr>"))  # noqa: S308 - escaped above
