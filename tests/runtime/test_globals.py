"""Every global SPEC §4 promises works, and what it forbids is absent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

Run = Callable[..., dict[str, Any]]


def probe(run: Run, expression: str, **kwargs: Any) -> Any:
    """Evaluate ``expression`` inside pipe() and return its JSON value."""
    result = run(
        "async function pipe(user, context, callback) {\n"
        f"  user.out = await (async () => {expression})();\n"
        "  callback(null, user, context);\n"
        "}",
        **kwargs,
    )
    assert result["decision"] == "allow", result
    return result["user"]["out"]


def test_env_is_a_frozen_object_of_the_tenants_vars(run: Run) -> None:
    out = probe(
        run,
        "{ let threw = false; try { 'use strict'; env.API = 'x'; } catch (e) { threw = true; }"
        " return [env.API, Object.isFrozen(env), env.API === 'k1']; }",
        env={"API": "k1"},
    )
    assert out == ["k1", True, True]


def test_console_and_log_are_captured_with_levels(run: Run) -> None:
    result = run(
        "async function pipe(u, c, cb) { console.log('a', 1); console.info('b'); console.warn('c');"
        " console.error('d'); console.debug('e'); log('f', {x: 1}); cb(null, u, c); }"
    )
    logs = result["steps"][0]["logs"]
    assert [(entry["level"], entry["message"]) for entry in logs] == [
        ("log", "a 1"),
        ("info", "b"),
        ("warn", "c"),
        ("error", "d"),
        ("debug", "e"),
        ("log", 'f {"x":1}'),
    ]
    assert all(isinstance(entry["t_ms"], int | float) for entry in logs)


def test_set_timeout_with_zero_ms_and_clear_timeout_work(run: Run) -> None:
    out = probe(
        run,
        "{ const order = []; const t = setTimeout(() => order.push('cleared'), 0); clearTimeout(t);"
        " await new Promise(r => setTimeout(() => { order.push('zero'); r(); }, 0));"
        " queueMicrotask(() => order.push('micro')); await null; return order; }",
    )
    assert out == ["zero", "micro"]


def test_structured_clone_url_and_text_codecs(run: Run) -> None:
    out = probe(
        run,
        "{ const o = {a: [1, {b: 2}]}; const c = structuredClone(o); c.a[1].b = 3;"
        " const u = new URL('https://example.com:8443/p/a?x=1&y=two#h');"
        " const bytes = new TextEncoder().encode('héllo');"
        " return [o.a[1].b, u.hostname, u.port, u.pathname, u.searchParams.get('y'),"
        " bytes.length, new TextDecoder().decode(bytes)]; }",
    )
    assert out == [2, "example.com", "8443", "/p/a", "two", 6, "héllo"]


# JS source of a string, and the same text with each lone surrogate as U+FFFD.
ENCODE_CASES = [
    ("''", ""),
    ("'plain ascii'", "plain ascii"),
    ("'a'.repeat(5000) + 'é€'", "a" * 5000 + "é€"),
    ("'é€😀'", "é€😀"),
    ("'x\\uD800y'", "x\ufffdy"),  # a lone high surrogate
    ("'x\\uDC00'", "x\ufffd"),  # a lone low surrogate
    ("'😀'.repeat(300) + '\\uD83D'", "😀" * 300 + "\ufffd"),  # a high surrogate at the end
    ("'\\u0080\\u07ff\\u0800\\uffff'", "\u0080\u07ff\u0800\uffff"),
]


@pytest.mark.parametrize(("source", "text"), ENCODE_CASES)
def test_text_encoder_writes_utf8_with_lone_surrogates_replaced(
    run: Run, source: str, text: str
) -> None:
    out = probe(run, f"Array.from(new TextEncoder().encode({source}))")
    assert bytes(out) == text.encode("utf-8")


def test_encode_into_stops_before_a_code_point_that_does_not_fit(run: Run) -> None:
    out = probe(
        run,
        "{ const e = new TextEncoder(), d = new Uint8Array(8);"
        " const r = e.encodeInto('aé€😀', d.subarray(0, 4));"
        " const all = e.encodeInto('aé€😀', d);"
        " let threw = null; try { e.encodeInto('a', [0]); } catch (x) { threw = x.name; }"
        " return [r.read, r.written, all.read, all.written, Array.from(d.subarray(0, 6)), threw]; }",
    )
    assert out[:4] == [2, 3, 3, 6]  # '😀' (2 units, 4 bytes) fits neither
    assert bytes(out[4]) == "aé€".encode()
    assert out[5] == "TypeError"


def test_base64_and_random_uuids(run: Run) -> None:
    out = probe(
        run,
        "{ const a = crypto.randomUUID(), b = crypto.randomUUID();"
        " return [btoa('hello'), atob('aGVsbG8='), a !== b,"
        " /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(a)]; }",
    )
    assert out == ["aGVsbG8=", "hello", True, True]


@pytest.mark.parametrize(
    ("ip", "ranges", "expected"),
    [
        ("10.1.2.3", ["10.0.0.0/8"], True),
        ("11.1.2.3", ["10.0.0.0/8", "192.168.0.0/16"], False),
        ("192.168.1.7", ["192.168.1.7"], True),
        ("2001:db8::1", ["2001:db8::/32"], True),
        ("2001:db9::1", ["2001:db8::/32"], False),
        ("::1", ["10.0.0.0/8"], False),
    ],
)
def test_ip_range_check_handles_ipv4_and_ipv6(
    run: Run, ip: str, ranges: list[str], expected: bool
) -> None:
    assert probe(run, f"utils.ipRangeCheck({ip!r}, {ranges!r})".replace("'", '"')) is expected


def test_require_gives_utils_and_a_clear_error_for_anything_else(run: Run) -> None:
    out = probe(
        run,
        "{ const same = require('./utils') === utils;"
        " let message = ''; try { require('fs'); } catch (e) { message = e.message; }"
        " return [same, message]; }",
    )
    assert out[0] is True
    assert "fs" in out[1] and "./utils" in out[1]


def test_forbidden_globals_are_absent(run: Run) -> None:
    out = probe(
        run,
        "[typeof process, typeof WebAssembly, typeof SharedArrayBuffer, typeof Atomics]",
    )
    assert out == ["undefined"] * 4


def test_built_ins_are_frozen(run: Run) -> None:
    out = probe(
        run,
        "[Object.isFrozen(Object.prototype), Object.isFrozen(Array.prototype),"
        " Object.isFrozen(JSON), Object.isFrozen(Promise.prototype)]",
    )
    assert out == [True, True, True, True]


# Walks everything a function can reach from the global object and from the intrinsics that
# only syntax reaches (generators, async functions, iterators): prototypes, property values,
# getters and setters. Lists what is not frozen, by the path it was reached on. The global
# object itself and its prototype are the tenant's own (README: a tenant's globals stay in its
# warm isolate); lodash is loaded (and frozen) when a function first names it.
DEEP_FREEZE_WALK = """(() => {
  const _ = require('lodash');
  const seen = new Set([globalThis, Object.getPrototypeOf(globalThis)]);
  const roots = [
    [_, 'lodash'],
    [Object.getPrototypeOf(async function () {}), 'AsyncFunction.prototype'],
    [Object.getPrototypeOf(function* () {}), 'GeneratorFunction.prototype'],
    [Object.getPrototypeOf(async function* () {}), 'AsyncGeneratorFunction.prototype'],
    [Object.getPrototypeOf([][Symbol.iterator]()), 'ArrayIterator.prototype'],
    [Object.getPrototypeOf(new Map()[Symbol.iterator]()), 'MapIterator.prototype'],
    [Object.getPrototypeOf(new Set()[Symbol.iterator]()), 'SetIterator.prototype'],
    [Object.getPrototypeOf(''[Symbol.iterator]()), 'StringIterator.prototype'],
    [Object.getPrototypeOf(/x/[Symbol.matchAll]('')), 'RegExpStringIterator.prototype'],
  ];
  for (const k of Reflect.ownKeys(globalThis)) {
    const d = Object.getOwnPropertyDescriptor(globalThis, k);
    if (d && 'value' in d) roots.push([d.value, String(k)]);
    else if (d) roots.push([d.get, 'get ' + String(k)], [d.set, 'set ' + String(k)]);
  }
  const stack = roots.slice();
  const open = [];
  let walked = 0;
  while (stack.length) {
    const [o, path] = stack.pop();
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) continue;
    seen.add(o);
    walked++;
    if (!Object.isFrozen(o)) open.push(path);
    stack.push([Object.getPrototypeOf(o), path + '.__proto__']);
    for (const k of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (!d) continue;
      if ('value' in d) stack.push([d.value, path + '.' + String(k)]);
      else { stack.push([d.get, path + '.get ' + String(k)]); stack.push([d.set, path + '.set ' + String(k)]); }
    }
  }
  return [walked, open];
})()"""


def test_everything_reachable_from_the_globals_is_frozen(run: Run) -> None:
    walked, still_open = probe(run, DEEP_FREEZE_WALK)
    assert walked > 1000  # the built-ins, the driver's globals and lodash were walked
    assert still_open == []
    # Nor is anything left under a global name that is no property of the global object (a
    # script's top-level class: mini-racer's timer shim declared one).
    assert probe(run, "typeof __TimerManager") == "undefined"
