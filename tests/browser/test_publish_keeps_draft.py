"""A refused publish in the editor leaves the saved draft as it was (Chromium)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.pipelines.models import Release
from tests.browser.conftest import login, screenshot
from tests.browser.test_function_editor import (
    SIMPLE_CODE,
    expect_status,
    make_function,
    open_editor,
    replace_code,
)
from tests.conftest import Persona

pytestmark = pytest.mark.browser

# Parses (so the editor lets it go), but defines no pipe: the server refuses to publish it.
NO_PIPE = (
    "const handler = async (user, context, callback) => {\n  callback(null, user, context);\n};\n"
)


def test_a_refused_publish_leaves_the_saved_draft_and_keeps_the_edits(
    alice: Persona, pages: Any
) -> None:
    function = make_function(alice.tenant, "gate")
    recording = pages()
    page = login(recording, "alice", f"/admin/functions/{function.id}/")
    open_editor(page, recording.base_url, function.id)
    replace_code(page, NO_PIPE)
    page.click("#publish-button")
    page.fill("#publish-comment", "Ship it")
    page.click("#publish-confirm")
    expect_status(page, "Not published: .*pipe")
    screenshot(page, "publish-refused.png")
    function.refresh_from_db()
    assert function.code == SIMPLE_CODE and function.live_release is None
    assert not Release.objects.filter(function=function).exists()
    # The edits are still in the editor, unsaved, for the author to fix.
    assert page.evaluate("window.genauthEditor.getValue()") == NO_PIPE
