"""sync_templates loads the template files idempotently; bad files are refused clearly."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.gallery.loader import TEMPLATES_DIR, TemplateFileError, load_all, load_one
from apps.gallery.models import GalleryTemplate
from apps.gallery.services import templates_sync

pytestmark = pytest.mark.django_db


def copy_of(slug: str, tmp_path: Path) -> Path:
    target = tmp_path / slug
    shutil.copytree(TEMPLATES_DIR / slug, target)
    return target


def test_migrate_already_loaded_every_template() -> None:
    assert GalleryTemplate.objects.count() == len(load_all())


def test_running_sync_twice_changes_nothing() -> None:
    templates_sync()
    before = list(GalleryTemplate.objects.values_list("slug", "updated_at"))
    report = templates_sync()
    assert report.created == report.updated == report.removed == []
    assert list(GalleryTemplate.objects.values_list("slug", "updated_at")) == before


def test_sync_restores_an_edited_template_and_removes_unknown_ones() -> None:
    GalleryTemplate.objects.filter(slug="ip-allow-list").update(code="tampered", title="x")
    GalleryTemplate.objects.create(
        slug="gone", title="Gone", description="d", category="profile", code="c", code_sha256="0"
    )
    report = templates_sync()
    assert report.updated == ["ip-allow-list"] and report.removed == ["gone"]
    restored = GalleryTemplate.objects.get(slug="ip-allow-list")
    assert restored.code == (TEMPLATES_DIR / "ip-allow-list" / "code.js").read_text()


def test_the_command_reports_what_it_did() -> None:
    out = StringIO()
    call_command("sync_templates", stdout=out)
    assert "0 created, 0 updated" in out.getvalue()


def test_a_manifest_whose_slug_differs_from_its_folder_is_refused(tmp_path: Path) -> None:
    folder = copy_of("ip-allow-list", tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["slug"] = "other"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TemplateFileError, match="slug"):
        load_one(folder)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("triggers", ["NOT_A_TRIGGER"], "triggers"),
        ("category", "misc", "category"),
        ("outcomes", [], "outcomes"),
        ("env", [{"name": "lower", "description": "x"}], "NAME"),
        ("outcomes", [{"name": "a", "expect": {"decision": "maybe"}}], "decision"),
        ("outcomes", [{"name": "a", "expect": {"decision": "allow", "bogus": 1}}], "bogus"),
    ],
)
def test_an_invalid_manifest_is_refused_naming_the_field(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    folder = copy_of("ip-allow-list", tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest[field] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TemplateFileError, match=message):
        load_one(folder)


def test_the_command_fails_cleanly_on_a_broken_template_and_keeps_the_gallery(
    tmp_path: Path,
) -> None:
    folder = copy_of("ip-allow-list", tmp_path)
    (folder / "manifest.json").write_text("{not json")
    count = GalleryTemplate.objects.count()
    with pytest.raises(TemplateFileError, match="not valid JSON"):
        templates_sync(directory=tmp_path)
    assert GalleryTemplate.objects.count() == count


def test_the_command_turns_a_broken_template_into_a_command_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_of("ip-allow-list", tmp_path)
    (folder / "code.js").write_text("function notPipe() {}")
    monkeypatch.setattr("apps.gallery.services.TEMPLATES_DIR", tmp_path)
    monkeypatch.setattr(templates_sync, "__kwdefaults__", {"directory": tmp_path})
    with pytest.raises(CommandError, match="pipe"):
        call_command("sync_templates")
