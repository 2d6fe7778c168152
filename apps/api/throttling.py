from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from apps.tenants.access import Principal


class PrincipalRateThrottle(SimpleRateThrottle):
    """One bucket per API key (or console user); anonymous requests per client IP."""

    scope = "principal"

    def get_cache_key(self, request: Request, view: Any) -> str:
        principal = request.auth
        if isinstance(principal, Principal):
            ident = principal.caller
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class HookRateThrottle(PrincipalRateThrottle):
    """Signed hooks carry no key: one bucket per tenant and client IP, so one tenant's IdP
    never spends another's allowance from a shared egress address."""

    def get_cache_key(self, request: Request, view: Any) -> str:
        ident = f"hook:{view.kwargs.get('tenant_slug', '')}:ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
