"""Styled 403 and 404 pages for the console (the API answers JSON itself)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.console.admin_site import admin_site

MESSAGES = {
    403: ("You may not open this page", "Your role in this tenant does not allow it."),
    404: ("Page not found", "There is no such page, or it belongs to another tenant."),
}


def console_error_page(request: HttpRequest, status: int) -> HttpResponse:
    title, message = MESSAGES[status]
    context: dict[str, Any] = {
        **admin_site.each_context(request),
        "title": title,
        "message": message,
        "status": status,
    }
    return render(request, "console/error.html", context, status=status)
