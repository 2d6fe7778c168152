"""The configuration history moved with its model; its old console address still leads there."""

from __future__ import annotations

from django.test import Client


def test_the_history_s_old_address_redirects_to_the_new_one() -> None:
    response = Client().get("/admin/runs/auditevent/evt_1/undo/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/audit/auditevent/evt_1/undo/?next=/admin/"
