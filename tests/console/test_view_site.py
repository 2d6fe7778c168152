"""The admin's "View site" link leads to the console, not to a 404 at /."""

from typing import Any

from django.test import Client

from tests.conftest import Persona


def test_view_site_links_to_the_console(client: Client, alice: Persona) -> None:
    client.force_login(alice.user)
    page = client.get("/admin/").content.decode()
    assert '<a href="/admin/">View site</a>' in page


def test_the_view_site_target_answers(client: Client, alice: Persona) -> None:
    from apps.console.admin_site import GenAuthAdminSite

    client.force_login(alice.user)
    target: Any = GenAuthAdminSite.site_url
    assert client.get(target).status_code == 200


def test_the_servers_root_leads_to_the_console(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
