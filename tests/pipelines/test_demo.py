"""The seed_demo hook: acme gets published functions, once."""

from __future__ import annotations

from io import StringIO

import pytest

from apps.core.actor import Actor
from apps.pipelines.demo import seed
from apps.pipelines.models import Function
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_published_functions_with_history_once(acme: Tenant) -> None:
    for _ in range(2):
        seed(tenant=acme, actor=Actor.system("seed_demo"), stdout=StringIO())
    functions = {f.name: f for f in Function.objects.filter(tenant=acme)}
    assert set(functions) == {"allow-listed-email-domains", "plan-claim"}
    assert functions["allow-listed-email-domains"].live_release.version == 2
    assert functions["plan-claim"].live_release.version == 1
    assert not any(f.has_unpublished_changes for f in functions.values())
