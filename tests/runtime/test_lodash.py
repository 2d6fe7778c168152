"""require('lodash'): the real lodash (vendored from npm, pinned), loaded into an isolate when
the first function naming it is compiled there, deep-frozen, against lodash's documented
results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.runtime.test_globals import probe

Run = Callable[..., dict[str, Any]]
LODASH = Path(__file__).resolve().parents[2] / "apps" / "runtime" / "lodash.min.js"


def test_the_vendored_file_is_lodash_4_18_1_with_its_license_header() -> None:
    source = LODASH.read_text(encoding="utf-8")
    assert source.startswith("/**\n * @license\n * Lodash lodash.com/license")
    assert 'VERSION="4.18.1"' in source.replace(" ", "") or '"4.18.1"' in source
    assert (LODASH.parent / "lodash.LICENSE").is_file()


def test_get_and_set_follow_paths(run: Run) -> None:
    out = probe(
        run,
        "{ const _ = require('lodash'); const o = { a: [{ b: { c: 3 } }] };"
        " const s = {}; _.set(s, 'x[0].y.z', 5); _.set(s, ['p', 'q'], 1);"
        " return [_.get(o, 'a[0].b.c'), _.get(o, ['a', '0', 'b', 'c']), _.get(o, 'a.b.c', 'default'),"
        " s, _.VERSION]; }",
    )
    assert out == [3, 3, "default", {"x": [{"y": {"z": 5}}], "p": {"q": 1}}, "4.18.1"]


def test_pick_merge_uniq_and_group_by(run: Run) -> None:
    out = probe(
        run,
        "{ const _ = require('lodash');"
        " return [_.pick({ a: 1, b: '2', c: 3 }, ['a', 'c']),"
        " _.merge({ a: [{ b: 2 }, { d: 4 }] }, { a: [{ c: 3 }, { e: 5 }] }),"
        " _.uniq([2, 1, 2]), _.uniqBy([2.1, 1.2, 2.3], Math.floor),"
        " _.groupBy([6.1, 4.2, 6.3], Math.floor), _.groupBy(['one', 'two', 'three'], 'length'),"
        " _.chain([3, 1, 2]).sortBy().map((n) => n * 2).value()]; }",
    )
    assert out == [
        {"a": 1, "c": 3},
        {"a": [{"b": 2, "c": 3}, {"d": 4, "e": 5}]},
        [2, 1],
        [2.1, 1.2],
        {"4": [4.2], "6": [6.1, 6.3]},
        {"3": ["one", "two"], "5": ["three"]},
        [2, 4, 6],
    ]


def test_per_method_package_names_resolve_to_lodash_functions(run: Run) -> None:
    out = probe(
        run,
        "{ const _ = require('lodash'); return [require('lodash/get') === _.get,"
        " require('lodash.clonedeep') === _.cloneDeep, require('node:util') !== undefined]; }",
    )
    assert out == [True, True, True]


def test_lodash_is_frozen_so_a_run_cannot_change_it_for_the_next(run: Run) -> None:
    tamper = probe(
        run,
        "{ 'use strict'; const _ = require('lodash'); const r = [];"
        " try { _.get = () => 'evil'; r.push('assigned'); } catch (e) { r.push(e.name); }"
        " try { Object.getPrototypeOf(_.prototype).evil = 1; r.push('proto'); } catch (e) { r.push(e.name); }"
        " return r; }",
    )
    assert tamper == ["TypeError", "TypeError"]
    after = probe(run, "require('lodash').get({ a: 1 }, 'a')")
    assert after == 1


def test_a_function_whose_code_does_not_name_lodash_gets_a_clear_error(run: Run) -> None:
    result = run(
        "async function pipe(user, context, callback) {\n"
        "  const name = ['lo', 'dash'].join('');\n"
        "  require(name);\n"
        "}"
    )
    assert result["decision"] == "deny"
    error = result["steps"][0]["error"]
    assert "write require('lodash')" in error["message"]
    assert error["line"] == 3


def test_unknown_modules_list_lodash_among_the_allowed(run: Run) -> None:
    result = run("async function pipe(user, context, callback) { require('left-pad'); }")
    message = result["steps"][0]["error"]["message"]
    assert "Cannot find module 'left-pad'" in message
    assert "'lodash'" in message


def test_a_tenant_that_rebinds_built_ins_still_gets_a_working_lodash(run: Run) -> None:
    # The first run leaves its (warm) isolate with broken global bindings; lodash is loaded
    # there later, when a function naming it is first compiled.
    breaker = (
        "async function pipe(user, context, callback) {\n"
        "  globalThis.Object = null; globalThis.Array = null; globalThis.Function = null;\n"
        "  callback(null, user, context);\n}"
    )
    assert run(breaker, tenant_id="t_rebinds")["decision"] == "allow"
    out = probe(run, "require('lodash').get({ a: [1, 2] }, 'a[1]')", tenant_id="t_rebinds")
    assert out == 2
