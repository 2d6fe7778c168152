"""Console pages of the template gallery: browse, read a template, use it.

Filtering works without JavaScript (a GET form, filtered on the server);
``static/js/gallery.js`` filters the same cards as one types.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from apps.console.admin_site import admin_site
from apps.console.pages import console_page
from apps.core.errors import ServiceError
from apps.core.triggers import TRIGGERS
from apps.gallery.loader import CATEGORIES
from apps.gallery.selectors import template_by_slug, template_list, tenant_env_names
from apps.gallery.services import MAX_NAME_LENGTH, template_instantiate
from apps.tenants.access import Principal
from apps.tenants.models import Role

MAX_QUERY_LENGTH = 200


def _context(
    request: HttpRequest, principal: Principal, title: str, **extra: Any
) -> dict[str, Any]:
    return {
        **admin_site.each_context(request),
        "title": title,
        "can_write": principal.can_write_config,
        "categories": CATEGORIES,
        **extra,
    }


def _filters(request: HttpRequest) -> dict[str, str]:
    """The GET filters, with unknown values dropped rather than erroring on a page."""
    trigger = request.GET.get("trigger", "")
    category = request.GET.get("category", "")
    return {
        "trigger": trigger if trigger in TRIGGERS else "",
        "category": category if category in CATEGORIES else "",
        "q": request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH],
    }


@require_GET
@console_page()
def gallery_page(request: HttpRequest, principal: Principal) -> HttpResponse:
    filters = _filters(request)
    matching = {t.slug for t in template_list(**{k: v or None for k, v in filters.items()})}
    # Every card is rendered (non-matching ones hidden) so the script can filter
    # instantly; without the script the page still shows exactly the matches.
    cards = [(template, template.slug in matching) for template in template_list()]
    context = _context(
        request,
        principal,
        "Template gallery",
        cards=cards,
        shown=len(matching),
        total=len(cards),
        filters=filters,
        triggers=list(TRIGGERS),
    )
    return render(request, "console/gallery.html", context)


@require_GET
@console_page()
def gallery_detail(request: HttpRequest, principal: Principal, slug: str) -> HttpResponse:
    template = _template_or_404(slug)
    present = tenant_env_names(tenant=principal.tenant)
    env = [{**item, "is_set": item["name"] in present} for item in template.env]
    context = _context(
        request,
        principal,
        template.title,
        template=template,
        env=env,
        category_label=CATEGORIES.get(template.category, template.category),
        chosen_trigger=request.GET.get("trigger", ""),
        max_name_length=MAX_NAME_LENGTH,
        env_url=_optional_url("console-env"),
        sample_user=_pretty(template.sample.get("user", {})),
        sample_context=_pretty(template.sample.get("context", {})),
    )
    return render(request, "console/gallery_detail.html", context)


@require_POST
@console_page(role=Role.DEVELOPER)
def gallery_use(request: HttpRequest, principal: Principal, slug: str) -> HttpResponse:
    template = _template_or_404(slug)
    detail_url = reverse("console-gallery-detail", args=[template.slug])
    try:
        created = template_instantiate(
            tenant=principal.tenant,
            slug=template.slug,
            trigger=request.POST.get("trigger") or None,
            name=request.POST.get("name", "").strip() or None,
            actor=principal.actor,
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(detail_url)
    _announce(request, created.function.name, created.missing_env)
    return HttpResponseRedirect(reverse("console-function-editor", args=[created.function.pk]))


def _announce(request: HttpRequest, name: str, missing_env: list[str]) -> None:
    messages.success(
        request, f"Created the draft “{name}” from the template. Test it, then publish."
    )
    if missing_env:
        messages.warning(
            request,
            "Set these env vars before publishing: " + ", ".join(missing_env) + ".",
        )


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _optional_url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:  # a page of another area that is not installed
        return ""


def _template_or_404(slug: str) -> Any:
    try:
        return template_by_slug(slug=slug)
    except ServiceError:
        raise Http404("No such template.") from None
