"""Decorators for the console's own views (outside the generated admin)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

View = Callable[..., HttpResponse]


def member_required(view: View) -> View:
    """Logged-in console member (or superuser); others go to the login page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from apps.console.admin_site import admin_site

        if not admin_site.has_permission(request):
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse('admin:login')}?{query}")
        return view(request, *args, **kwargs)

    return wrapped
