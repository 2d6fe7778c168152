"""utils.ipRangeCheck reads a [start, end] pair of plain addresses as an inclusive range."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

Run = Callable[..., dict[str, Any]]


def check(run: Run, ip: str, ranges: Any) -> bool:
    result = run(
        "async function pipe(user, context, callback) {\n"
        f"  user.out = utils.ipRangeCheck({json.dumps(ip)}, {json.dumps(ranges)});\n"
        "  callback(null, user, context);\n"
        "}"
    )
    assert result["decision"] == "allow", result
    out: bool = result["user"]["out"]
    return out


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("110.53.254.100", True),  # Authing's ip-range-whitelist example
        ("110.53.254.1", True),  # the start is inside
        ("110.53.254.255", True),  # the end is inside
        ("110.53.254.0", False),
        ("110.53.255.0", False),
        ("::ffff:110.53.254.7", True),  # IPv4-mapped IPv6 matches an IPv4 range
    ],
)
def test_an_ipv4_pair_is_an_inclusive_range(run: Run, ip: str, expected: bool) -> None:
    assert check(run, ip, ["110.53.254.1", "110.53.254.255"]) is expected


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("2001:db8::10", True),
        ("2001:db8::1", True),
        ("2001:db8::ffff", True),
        ("2001:db8::1:0", False),
        ("2001:db8::", False),
        ("10.0.0.1", False),
    ],
)
def test_an_ipv6_pair_is_an_inclusive_range(run: Run, ip: str, expected: bool) -> None:
    assert check(run, ip, ["2001:db8::1", "2001:db8::ffff"]) is expected


def test_a_block_list_pair_no_longer_fails_open_between_its_ends(run: Run) -> None:
    assert check(run, "10.0.0.50", ["10.0.0.1", "10.0.0.100"]) is True


@pytest.mark.parametrize(
    ("ranges", "why"),
    [
        (["10.0.0.100", "10.0.0.1"], "start after end: two exact addresses"),
        (["10.0.0.1", "2001:db8::1"], "mixed families: two exact addresses"),
        (["10.0.1.0/24", "10.0.1.1"], "a CIDR keeps the list meaning"),
        (["10.0.0.1", "10.0.0.2", "10.0.0.100"], "three entries are a list"),
    ],
)
def test_other_shapes_keep_the_list_meaning(run: Run, ranges: list[str], why: str) -> None:
    assert check(run, "10.0.0.50", ranges) is False, why
    assert check(run, ranges[-1], ranges) is True, why


def test_bad_input_answers_false_without_failing_the_step(run: Run) -> None:
    assert check(run, "not-an-ip", ["10.0.0.1", "10.0.0.9"]) is False
    assert check(run, "10.0.0.5", [None, {"a": 1}]) is False
