"""Who may open a console page outside the generated admin, decided in one place.

The rule, the same for every page:

- not logged in as a console member: a redirect to the login page;
- logged in, but no tenant to work on, or a role below what the page (or, for a
  POST, what the change) needs: 403 -- the page exists, this member may not use it;
- an object that is not the current tenant's: 404, exactly as for an id that does
  not exist, so a page never tells whether another tenant has something.

The role is checked before any object is looked up, so the 403 says nothing about
the object either.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from apps.console.scoping import console_principal, role_reaches
from apps.core.errors import NotFound
from apps.tenants.access import Principal
from apps.tenants.models import Role

View = Callable[..., HttpResponse]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


def page_principal(request: HttpRequest, *, role: str = Role.VIEWER) -> Principal:
    """The member's principal on the current tenant, if their role reaches ``role``."""
    principal = console_principal(request)
    if principal is None:
        raise PermissionDenied("You are not a member of any tenant.")
    if not role_reaches(principal, role):
        raise PermissionDenied("Your role may not use this page.")
    return principal


def tenant_object_or_404[T](lookup: Callable[..., T], **scope: Any) -> T:
    """``lookup(**scope)`` (a tenant-scoped selector); its NotFound becomes a 404."""
    try:
        return lookup(**scope)
    except NotFound as exc:
        raise Http404(exc.message) from None


def console_page(
    *, role: str = Role.VIEWER, change_role: str | None = None, json: bool = False
) -> Callable[[View], View]:
    """A console view: ``view(request, principal, **url_kwargs)``.

    ``role`` is what opening the page takes; ``change_role``, when given, what any method
    but GET, HEAD and OPTIONS takes (a page that viewers read and developers submit).
    ``json`` answers the 403 and 404 as the API's JSON errors, for endpoints that page
    scripts call.
    """

    def decorate(view: View) -> View:
        @member_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            needed = role if request.method in SAFE_METHODS else (change_role or role)
            try:
                principal = page_principal(request, role=needed)
                return view(request, principal, *args, **kwargs)
            except PermissionDenied as exc:
                if json:
                    return json_error(403, "permission_denied", str(exc))
                raise
            except Http404 as exc:
                if json:
                    return json_error(404, "not_found", str(exc))
                raise

        return wrapped

    return decorate


def json_error(status: int, code: str, message: str, **details: Any) -> JsonResponse:
    """An error in the API's shape (SPEC §6), for the console's JSON endpoints."""
    return JsonResponse(
        {"error": {"code": code, "message": message, "details": details}}, status=status
    )
