"""The live server the browser tests drive answers parallel requests, as a browser sends them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.request import Request, urlopen

from tests.conftest import Persona
from tests.runs.helpers import add_function, allow


def test_parallel_requests_each_get_a_correct_answer(alice: Persona, live_server: Any) -> None:
    for name in ("first", "second", "third"):
        add_function(alice.tenant, name, allow(name))

    def get(_: int) -> tuple[int, bytes]:
        request = Request(
            f"{live_server.url}/api/v1/pipelines/PRE_REGISTER",
            headers={"Authorization": f"Bearer {alice.key}"},
        )
        with urlopen(request, timeout=30) as response:
            return response.status, response.read()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(get, range(160)))
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1  # every answer lists the same three
    assert b'"third"' in answers[0][1]
