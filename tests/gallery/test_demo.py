"""seed_demo puts three gallery templates to work for acme, once."""

from __future__ import annotations

from io import StringIO

import pytest

from apps.core.actor import Actor
from apps.gallery import demo
from apps.gallery.models import GalleryTemplate
from apps.pipelines.models import Function
from apps.tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_the_demo_publishes_gallery_templates_once(acme: Tenant) -> None:
    out = StringIO()
    demo.seed(tenant=acme, actor=Actor.system("seed_demo"), stdout=out)
    demo.seed(tenant=acme, actor=Actor.system("seed_demo"), stdout=out)
    functions = Function.objects.filter(tenant=acme).select_related("pipeline", "live_release")
    assert sorted((f.name, f.pipeline.trigger) for f in functions) == sorted(demo.DEMO_TEMPLATES)
    for function in functions:
        template = GalleryTemplate.objects.get(slug=function.name)
        assert function.code == template.code
        assert function.live_release is not None or "left as a draft" in out.getvalue()
