"""Outbound HTTP from functions: fetch and axios against a loopback server, and what is refused.

The sandbox is configured with only ``127.0.0.1:<port of the main server>`` allow-listed; a
second loopback server (``other``) is NOT allow-listed, so a request that reaches it would be
an escape: tests check it received nothing.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import apps.runtime as runtime
from apps.runtime import hostcalls, http
from tests.runtime.conftest import make_job
from tests.runtime.http_server import LoopbackServer, self_signed_tls

Run = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[LoopbackServer, LoopbackServer, LoopbackServer]]:
    main, other = LoopbackServer().start(), LoopbackServer().start()
    untrusted = LoopbackServer(tls=self_signed_tls()).start()
    runtime.configure(
        runtime.SandboxConfig(
            workers=2, http_allow=(f"127.0.0.1:{main.port}", f"127.0.0.1:{untrusted.port}")
        )
    )
    runtime.sandbox_ping()  # start the workers now, not inside a timed test
    yield main, other, untrusted
    runtime.configure(
        runtime.SandboxConfig(workers=2)
    )  # what tests/runtime/conftest.py set up for the session
    for server in (main, other, untrusted):
        server.stop()


@pytest.fixture
def server(servers: tuple[LoopbackServer, ...]) -> LoopbackServer:
    servers[0].reset()
    return servers[0]


@pytest.fixture
def other(servers: tuple[LoopbackServer, ...]) -> LoopbackServer:
    servers[1].reset()
    return servers[1]


def fn(body: str) -> str:
    """An async function that stores what ``body`` evaluates to in ``user.out``."""
    return (
        "async function pipe(user, context, callback) {\n"
        f"  user.out = await (async () => {{ {body} }})();\n"
        "  callback(null, user, context);\n}"
    )


def outcome(run: Run, body: str, **kwargs: Any) -> Any:
    result = run(fn(body), **kwargs)
    assert result["decision"] == "allow", result
    return result["user"]["out"]


CATCH = "catch (e) { return {rejected: true, code: e.code, message: e.message}; }"


def refused(run: Run, url: str, **kwargs: Any) -> dict[str, Any]:
    out = outcome(
        run, f"try {{ await fetch({url!r}); return {{rejected: false}}; }} {CATCH}", **kwargs
    )
    assert out["rejected"] is True, out
    return dict(out)


def http_logs(result: dict[str, Any]) -> list[str]:
    return [
        e["message"] for s in result["steps"] for e in s["logs"] if e["message"].startswith("HTTP ")
    ]


# ---------------------------------------------------------------- fetch


def test_fetch_gets_json_with_status_headers_and_body(run: Run, server: LoopbackServer) -> None:
    out = outcome(
        run,
        """
      const r = await fetch(env.BASE + '/json');
      return {status: r.status, ok: r.ok, statusText: r.statusText, type: r.headers.get('Content-Type'),
              has: r.headers.has('x-server'), missing: r.headers.get('x-nope'), url: r.url,
              redirected: r.redirected, json: await r.json(), used: r.bodyUsed};
    """,
        env={"BASE": server.base_url},
    )
    assert out == {
        "status": 200,
        "ok": True,
        "statusText": "OK",
        "type": "application/json",
        "has": True,
        "missing": None,
        "url": f"{server.base_url}/json",
        "redirected": False,
        "json": {"hello": "world"},
        "used": True,
    }


def test_fetch_reads_text_and_iterates_headers_like_the_fetch_api(
    run: Run, server: LoopbackServer
) -> None:
    out = outcome(
        run,
        """
      const r = await fetch(env.BASE + '/text');
      const seen = [];
      r.headers.forEach((value, name) => seen.push(name));
      const pairs = [...r.headers].map(([k]) => k);
      let again; try { await r.text(); again = await r.text(); } catch (e) { again = e.name; }
      return {seen: seen.includes('content-type'), pairs: pairs.includes('x-server'), again};
    """,
        env={"BASE": server.base_url},
    )
    assert out == {"seen": True, "pairs": True, "again": "TypeError"}
    text = outcome(
        run, "return await (await fetch(env.BASE + '/text')).text();", env={"BASE": server.base_url}
    )
    assert text == "plain words"


def test_fetch_posts_with_the_method_headers_and_body_it_was_given(
    run: Run, server: LoopbackServer
) -> None:
    out = outcome(
        run,
        """
      const r = await fetch(env.BASE + '/echo?x=1', {method: 'post',
        headers: {'Content-Type': 'application/json', 'X-Trace': 'abc'}, body: JSON.stringify({a: 1})});
      return await r.json();
    """,
        env={"BASE": server.base_url},
    )
    assert out["method"] == "POST"
    assert out["path"] == "/echo?x=1"
    assert out["body"] == '{"a":1}'
    assert out["headers"]["content-type"] == "application/json"
    assert out["headers"]["x-trace"] == "abc"
    assert out["headers"]["host"] == f"127.0.0.1:{server.port}"
    assert out["headers"]["accept-encoding"] == "identity"


def test_fetch_refuses_to_override_host_and_framing_headers(
    run: Run, server: LoopbackServer
) -> None:
    out = outcome(
        run,
        """
      const r = await fetch(env.BASE + '/echo', {method: 'PUT', headers: {Host: 'evil.example', 'Content-Length': '1'}, body: 'abc'});
      return await r.json();
    """,
        env={"BASE": server.base_url},
    )
    assert out["headers"]["host"] == f"127.0.0.1:{server.port}"
    assert out["headers"]["content-length"] == "3"
    assert out["body"] == "abc"


def test_fetch_resolves_with_ok_false_on_error_statuses(run: Run, server: LoopbackServer) -> None:
    out = outcome(
        run,
        """
      const results = [];
      for (const code of [404, 500, 204]) {
        const r = await fetch(env.BASE + '/status/' + code);
        results.push([r.status, r.ok]);
      }
      return results;
    """,
        env={"BASE": server.base_url},
    )
    assert out == [[404, False], [500, False], [204, True]]


def test_fetch_rejects_a_body_on_get_and_bad_headers_without_sending(
    run: Run, server: LoopbackServer
) -> None:
    out = outcome(
        run,
        """
      const out = [];
      try { await fetch(env.BASE + '/echo', {body: 'x'}); } catch (e) { out.push(e.name); }
      try { await fetch(env.BASE + '/echo', {headers: {'X-A': 'a\\r\\nInjected: 1'}}); } catch (e) { out.push(e.code); }
      try { await fetch(env.BASE + '/echo', {method: 'CONNECT'}); } catch (e) { out.push(e.code); }
      return out;
    """,
        env={"BASE": server.base_url},
    )
    assert out == ["TypeError", "http_invalid_request", "http_invalid_request"]
    assert server.requests == []


def test_callback_style_functions_can_use_fetch_with_then(run: Run, server: LoopbackServer) -> None:
    code = """function pipe(user, context, callback) {
      fetch(env.BASE + '/json').then((r) => r.json()).then((body) => {
        user.hello = body.hello;
        callback(null, user, context);
      }).catch((e) => callback(e));
    }"""
    result = run(code, env={"BASE": server.base_url})
    assert result["decision"] == "allow", result
    assert result["user"]["hello"] == "world"


def test_a_request_made_after_callback_is_not_sent_and_says_so(
    run: Run, server: LoopbackServer
) -> None:
    code = """function pipe(user, context, callback) {
      fetch(env.BASE + '/echo');
      callback(null, user, context);
    }"""
    result = run(code, env={"BASE": server.base_url})
    assert result["decision"] == "allow"
    assert any("was not sent" in e["message"] for e in result["steps"][0]["logs"])
    assert server.requests == []


# ---------------------------------------------------------------- axios


def test_axios_get_parses_json_responses(run: Run, server: LoopbackServer) -> None:
    out = outcome(
        run,
        """
      const r = await axios.get(env.BASE + '/json', {params: {q: 'a b', n: 2}});
      return {status: r.status, data: r.data, type: r.headers['content-type']};
    """,
        env={"BASE": server.base_url},
    )
    assert out == {"status": 200, "data": {"hello": "world"}, "type": "application/json"}
    assert server.requests[-1]["path"] == "/json?q=a+b&n=2"


def test_axios_post_serialises_json_bodies(run: Run, server: LoopbackServer) -> None:
    out = outcome(
        run,
        """
      const r = await axios.post(env.BASE + '/echo', {user: 'ann', n: [1, 2]}, {headers: {'X-Trace': 't'}});
      return r.data;
    """,
        env={"BASE": server.base_url},
    )
    assert out["method"] == "POST"
    assert out["body"] == '{"user":"ann","n":[1,2]}'
    assert out["headers"]["content-type"] == "application/json"
    assert out["headers"]["x-trace"] == "t"


def test_axios_put_patch_delete_request_and_create_use_their_methods(
    run: Run, server: LoopbackServer
) -> None:
    out = outcome(
        run,
        """
      const methods = [];
      methods.push((await axios.put(env.BASE + '/echo', {a: 1})).data.method);
      methods.push((await axios.patch(env.BASE + '/echo', 'raw text')).data.method);
      methods.push((await axios.delete(env.BASE + '/echo')).data.method);
      methods.push((await axios.request({url: env.BASE + '/echo', method: 'post', data: {b: 2}})).data.method);
      methods.push((await axios({url: env.BASE + '/echo'})).data.method);
      const api = axios.create({baseURL: env.BASE, headers: {'X-Api': 'k'}});
      const r = await api.get('/echo');
      methods.push(r.data.path, r.data.headers['x-api']);
      return methods;
    """,
        env={"BASE": server.base_url},
    )
    assert out == ["PUT", "PATCH", "DELETE", "POST", "GET", "/echo", "k"]
    assert server.requests[1]["body"] == "raw text"


def test_a_body_is_read_in_its_declared_charset_or_else_as_utf_8(
    run: Run, server: LoopbackServer
) -> None:
    out = outcome(
        run,
        """
      const names = ['latin-1', 'utf-8', 'base64', 'idna', 'no-such-charset'];
      const texts = [];
      for (const name of names) texts.push(await (await fetch(env.BASE + '/charset?name=' + name)).text());
      return texts;
    """,
        env={"BASE": server.base_url},
    )
    assert out == ["café"] * 5


def test_axios_leaves_non_json_responses_as_text(run: Run, server: LoopbackServer) -> None:
    out = outcome(
        run,
        "const r = await axios.get(env.BASE + '/text'); return [typeof r.data, r.data];",
        env={"BASE": server.base_url},
    )
    assert out == ["string", "plain words"]


def test_axios_rejects_non_2xx_with_the_response_attached(run: Run, server: LoopbackServer) -> None:
    out = outcome(
        run,
        """
      const out = [];
      for (const code of [404, 503]) {
        try { await axios.get(env.BASE + '/status/' + code); out.push('resolved'); }
        catch (e) { out.push({message: e.message, code: e.code, isAxios: axios.isAxiosError(e),
                              status: e.response.status, data: e.response.data}); }
      }
      const lenient = await axios.get(env.BASE + '/status/404', {validateStatus: () => true});
      out.push(lenient.status);
      return out;
    """,
        env={"BASE": server.base_url},
    )
    assert out == [
        {
            "message": "Request failed with status code 404",
            "code": "ERR_BAD_REQUEST",
            "isAxios": True,
            "status": 404,
            "data": {"status": 404},
        },
        {
            "message": "Request failed with status code 503",
            "code": "ERR_BAD_RESPONSE",
            "isAxios": True,
            "status": 503,
            "data": {"status": 503},
        },
        404,
    ]


def test_an_uncaught_axios_rejection_fails_the_step_with_its_message(
    run: Run, server: LoopbackServer, assert_sandbox_healthy: Callable[[], None]
) -> None:
    code = """async function pipe(user, context, callback) {
      await axios.get(env.BASE + '/status/500');
      callback(null, user, context);
    }"""
    result = run(code, env={"BASE": server.base_url})
    assert result["decision"] == "deny"
    assert result["steps"][0]["status"] == "error"
    assert result["steps"][0]["error"]["message"] == "Request failed with status code 500"
    assert_sandbox_healthy()


# ---------------------------------------------------------------- time and size


def test_an_axios_timeout_rejects_the_request_in_time(run: Run, server: LoopbackServer) -> None:
    started = time.monotonic()
    out = outcome(
        run,
        f"try {{ await axios.get(env.BASE + '/slow?ms=2000', {{timeout: 200}}); }} {CATCH}",
        env={"BASE": server.base_url},
        timeout_ms=3000,
    )
    assert out["code"] == "http_timeout"
    assert "timed out" in out["message"]
    assert time.monotonic() - started < 1.5


def test_a_slow_server_is_bounded_by_the_function_timeout(
    run: Run, server: LoopbackServer, assert_sandbox_healthy: Callable[[], None]
) -> None:
    code = """async function pipe(user, context, callback) {
      try { await fetch(env.BASE + '/slow?ms=3000'); } catch (e) { user.caught = e.code; }
      callback(null, user, context);
    }"""
    started = time.monotonic()
    result = run(code, env={"BASE": server.base_url}, timeout_ms=500)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, elapsed
    step = result["steps"][0]
    assert step["status"] == "timeout" or result["user"].get("caught") == "http_timeout", result
    assert_sandbox_healthy()


@pytest.mark.parametrize("framing", ["", "&stream=1"])
def test_a_body_not_complete_by_the_deadline_is_a_timeout_never_a_short_200(
    run: Run, server: LoopbackServer, framing: str
) -> None:
    # 100,000 bytes over ~2 s: the headers come at once, the body is still arriving when the
    # request's time is up (axios' own 300 ms, then what is left of the function's 1,200 ms).
    slow = f"env.BASE + '/drip?n=100000&ms=20{framing}'"
    started = time.monotonic()
    out = outcome(
        run,
        f"""
      const out = [];
      try {{ const r = await axios.get({slow}, {{timeout: 300}}); out.push([r.status, r.data.length]); }}
      catch (e) {{ out.push([e.code, e.message]); }}
      try {{ const r = await fetch({slow}); out.push([r.status, (await r.text()).length]); }}
      catch (e) {{ out.push([e.code, e.message]); }}
      return out;
    """,
        env={"BASE": server.base_url},
        timeout_ms=1200,
    )
    assert [code for code, _ in out] == ["http_timeout", "http_timeout"], out
    assert all("timed out" in message for _, message in out), out
    assert time.monotonic() - started < 1.8


def test_a_body_shorter_than_its_content_length_is_an_error_never_a_short_200(
    run: Run, server: LoopbackServer
) -> None:
    out = outcome(
        run,
        f"try {{ await fetch(env.BASE + '/short'); return {{rejected: false}}; }} {CATCH}",
        env={"BASE": server.base_url},
    )
    assert out["code"] == "http_connection_failed", out
    assert out["message"].endswith("closed before the whole response arrived"), out


def test_an_unexpected_failure_in_a_host_call_names_no_python_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(call: hostcalls.Call) -> None:
        raise socket.gaierror(-9, "Address family for hostname not supported")

    monkeypatch.setitem(hostcalls.HANDLERS, "http", broken)
    answer = hostcalls.perform(
        {"id": 3, "op": "http", "payload": {}}, hostcalls.RunCalls(), lambda: 1.0
    )
    assert answer["error"]["code"] == "host_call_failed"
    assert "gaierror" not in answer["error"]["message"]
    assert "Address family" not in answer["error"]["message"]


def test_a_response_over_1_mib_is_an_error_and_1_mib_is_fine(
    run: Run, server: LoopbackServer, assert_sandbox_healthy: Callable[[], None]
) -> None:
    cap = http.MAX_RESPONSE_BYTES
    out = outcome(
        run,
        f"""
      const out = [];
      for (const q of ['n={cap + 1}', 'n={cap + 1}&stream=1', 'n={cap * 8}&stream=1']) {{
        try {{ await fetch(env.BASE + '/bytes?' + q); out.push('resolved'); }} catch (e) {{ out.push(e.code); }}
      }}
      const ok = await fetch(env.BASE + '/bytes?n={cap}&stream=1');
      out.push((await ok.text()).length);
      return out;
    """,
        env={"BASE": server.base_url},
        timeout_ms=5000,
    )
    assert out == ["http_response_too_large"] * 3 + [cap]
    assert_sandbox_healthy()


# ---------------------------------------------------------------- refused destinations


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{other}/",
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{other}/",
        "http://0x7f000001:{other}/",
        "http://2130706433:{other}/",
        "http://127.1:{other}/",
        "http://0177.0.0.1:{other}/",
        "http://[::ffff:127.0.0.1]:{other}/",
        "http://[::ffff:7f00:1]:{other}/",
        "http://[64:ff9b::7f00:1]/",
        "http://localhost:{other}/",
        "http://LOCALHOST.:{other}/",
        "http://0.0.0.0:{other}/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
    ],
)
def test_private_and_special_addresses_are_refused_without_an_allow_list(
    run: Run, other: LoopbackServer, assert_sandbox_healthy: Callable[[], None], url: str
) -> None:
    result = refused(run, url.format(other=other.port))
    assert result["code"] == "http_refused", result
    assert "was refused" in result["message"]
    assert other.requests == []
    assert_sandbox_healthy()


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("file:///etc/passwd", "http_unsupported_scheme"),
        ("ftp://127.0.0.1/", "http_unsupported_scheme"),
        ("gopher://127.0.0.1:70/", "http_unsupported_scheme"),
        ("data:text/plain,hi", "http_unsupported_scheme"),
        ("/relative/path", "http_unsupported_scheme"),
        ("http://user:pw@127.0.0.1:{main}/echo", "http_invalid_url"),
        ("http://1.2.3.4.5/", "http_invalid_url"),
        ("http://[::1/", "http_invalid_url"),
        ("http://[fe80::1%25eth0]/", "http_invalid_url"),
        ("http://[fe80::1%25eth0]:{main}/echo", "http_invalid_url"),
        ("http://[::ffff:127.0.0.1%25lo]:{main}/echo", "http_invalid_url"),
        ("http://127.0.0.1%25lo:{main}/echo", "http_invalid_url"),
        ("http://[::1]x/", "http_invalid_url"),
        ("http://exa mple.com/", "http_invalid_url"),
    ],
)
def test_other_schemes_and_malformed_urls_are_refused(
    run: Run, server: LoopbackServer, url: str, code: str
) -> None:
    result = refused(run, url.format(main=server.port))
    assert result["code"] == code, result
    assert "Error" not in result["message"], result  # no Python class name (gaierror, ...)
    assert server.requests == []


def test_an_allow_listed_redirect_to_a_private_address_is_refused(
    run: Run,
    server: LoopbackServer,
    other: LoopbackServer,
    assert_sandbox_healthy: Callable[[], None],
) -> None:
    for target in (
        "http://169.254.169.254/",
        f"http://127.0.0.1:{other.port}/echo",
        f"http://localhost:{other.port}/echo",
        "file:///etc/passwd",
    ):
        server.reset()
        result = run(
            fn(
                f"try {{ await fetch(env.BASE + '/redirect?to=' + encodeURIComponent({target!r})); }} {CATCH}"
            ),
            env={"BASE": server.base_url},
        )
        out = result["user"]["out"]
        assert out["code"] in ("http_refused", "http_unsupported_scheme"), (target, out)
        assert len(server.requests) == 1
        logs = http_logs(result)
        assert logs[0].startswith(f"HTTP GET 127.0.0.1:{server.port}/redirect → 302")
        assert "refused" in logs[1] or "unsupported scheme" in logs[1]
    assert other.requests == []
    assert_sandbox_healthy()


def test_redirects_are_followed_and_checked_up_to_five_hops(
    run: Run, server: LoopbackServer
) -> None:
    out = outcome(
        run,
        """
      const r = await fetch(env.BASE + '/hops/5');
      let tooMany; try { await fetch(env.BASE + '/hops/6'); } catch (e) { tooMany = e.code; }
      const manual = await fetch(env.BASE + '/hops/1', {redirect: 'manual'});
      let refused; try { await fetch(env.BASE + '/hops/1', {redirect: 'error'}); } catch (e) { refused = e.code; }
      const post = await fetch(env.BASE + '/redirect?code=303&to=/echo', {method: 'POST', body: 'x'});
      const kept = await fetch(env.BASE + '/redirect?code=307&to=/echo', {method: 'POST', body: 'y'});
      return {status: r.status, redirected: r.redirected, url: r.url, text: await r.text(), tooMany,
              manual: [manual.status, manual.headers.get('location')], refused,
              post: (await post.json()).method, kept: (await kept.json()).body};
    """,
        env={"BASE": server.base_url},
    )
    assert out == {
        "status": 200,
        "redirected": True,
        "url": f"{server.base_url}/hops/0",
        "text": "arrived",
        "tooMany": "http_too_many_redirects",
        "manual": [302, "/hops/0"],
        "refused": "http_redirect",
        "post": "GET",
        "kept": "y",
    }


def test_a_redirect_to_another_origin_drops_credentials(run: Run, server: LoopbackServer) -> None:
    # localhost resolves to the allow-listed 127.0.0.1 address, but it is another origin.
    out = outcome(
        run,
        """
      const to = encodeURIComponent(env.BASE.replace('127.0.0.1', 'localhost') + '/echo');
      const r = await fetch(env.BASE + '/redirect?to=' + to, {headers: {Authorization: 'Bearer abcd', Cookie: 'a=b', 'X-Keep': '1'}});
      return (await r.json()).headers;
    """,
        env={"BASE": server.base_url},
    )
    assert "authorization" not in out
    assert "cookie" not in out
    assert out["x-keep"] == "1"
    assert out["host"] == f"localhost:{server.port}"


# ---------------------------------------------------------------- limits per run


def test_the_eleventh_request_in_a_run_is_refused(
    run: Run, server: LoopbackServer, assert_sandbox_healthy: Callable[[], None]
) -> None:
    out = outcome(
        run,
        """
      const out = [];
      for (let i = 0; i < 11; i++) {
        try { out.push((await fetch(env.BASE + '/json')).status); }
        catch (e) { out.push({code: e.code, message: e.message}); }
      }
      return out;
    """,
        env={"BASE": server.base_url},
    )
    assert out[:10] == [200] * 10
    assert out[10]["code"] == "http_request_limit"
    assert "10 HTTP requests" in out[10]["message"]
    assert len(server.requests) == 10
    assert_sandbox_healthy()


def test_the_request_limit_counts_the_whole_run_and_refused_requests(
    run: Run, server: LoopbackServer
) -> None:
    first = fn(
        "for (let i = 0; i < 5; i++) await fetch(env.BASE + '/json'); "
        "try { await fetch('http://10.0.0.1/'); } catch (e) {} return 'done';"
    )
    second = fn(
        f"try {{ for (let i = 0; i < 5; i++) await fetch(env.BASE + '/json'); return 'all sent'; }} {CATCH}"
    )
    result = run(first, second, env={"BASE": server.base_url})
    assert result["user"]["out"]["code"] == "http_request_limit"
    assert len(server.requests) == 9


def test_the_request_limit_follows_the_run_limits(run: Run, server: LoopbackServer) -> None:
    out = outcome(
        run,
        f"try {{ await fetch(env.BASE + '/json'); await fetch(env.BASE + '/json'); }} {CATCH}",
        env={"BASE": server.base_url},
        limits={"max_http_requests": 1},
    )
    assert out["code"] == "http_request_limit"


# ---------------------------------------------------------------- logs


def test_logs_show_method_host_path_status_and_time_but_no_headers_bodies_or_query(
    run: Run, server: LoopbackServer
) -> None:
    secret = "sk_live_5f3b9c2a7e1d"
    result = run(
        fn(f"""
      await fetch(env.BASE + '/echo?token=query-secret-1', {{method: 'POST',
        headers: {{Authorization: 'Bearer {secret}'}}, body: 'body-secret-2'}});
      await axios.post(env.BASE + '/status/404', {{pin: 'body-secret-3'}}, {{validateStatus: () => true}});
      return 'ok';
    """),
        env={"BASE": server.base_url},
    )
    assert server.requests[0]["headers"]["authorization"] == f"Bearer {secret}"
    logs = result["steps"][0]["logs"]
    lines = [e["message"] for e in logs]
    assert [e["level"] for e in logs] == ["info", "info"]
    assert lines[0].startswith(f"HTTP POST 127.0.0.1:{server.port}/echo → 200 (")
    assert lines[0].endswith(" ms)")
    assert lines[1].startswith(f"HTTP POST 127.0.0.1:{server.port}/status/404 → 404 (")
    text = repr(result)
    for hidden in (secret, "query-secret-1", "body-secret-2", "body-secret-3", "Authorization"):
        assert hidden not in text


def test_a_url_kept_in_env_is_logged_without_its_path(run: Run, server: LoopbackServer) -> None:
    hook = f"{server.base_url}/services/T0001/B0002/XyZsecretPart"
    result = run(
        fn("""
      try { await axios.post(env.HOOK, {text: 'hi'}); } catch (e) { return e.message; }
      return 'sent';
    """),
        env={"HOOK": hook},
    )
    assert result["user"]["out"].startswith("Request failed with status code 404")
    logs = http_logs(result)
    assert len(logs) == 1
    assert logs[0].startswith(f"HTTP POST 127.0.0.1:{server.port}/… → 404")
    assert "XyZsecretPart" not in repr(result)


def test_refused_requests_are_logged_as_warnings(run: Run) -> None:
    result = run(fn(f"try {{ await fetch('http://169.254.169.254/latest'); }} {CATCH}"))
    assert result["steps"][0]["logs"][0]["level"] == "warn"
    logs = http_logs(result)
    assert len(logs) == 1
    assert logs[0].startswith("HTTP GET 169.254.169.254/latest → refused (a link-local address) (")


# ---------------------------------------------------------------- other tenants


def test_a_slow_request_does_not_hold_up_another_tenants_run(
    run: Run, server: LoopbackServer
) -> None:
    slow_result: dict[str, Any] = {}

    def slow() -> None:
        job = make_job(
            fn("return (await fetch(env.BASE + '/slow?ms=1200')).status;"),
            tenant_id="t_slow",
            timeout_ms=3000,
            env={"BASE": server.base_url},
        )
        slow_result.update(runtime.run_pipeline(job).to_wire())

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.2)  # the slow run holds one worker
    started = time.monotonic()
    fast = run(fn("return 'quick';"), tenant_id="t_fast")
    fast_elapsed = time.monotonic() - started
    thread.join()
    assert fast["user"]["out"] == "quick"
    assert fast_elapsed < 0.8, fast_elapsed
    assert slow_result["user"]["out"] == 200


# ---------------------------------------------------------------- the host side, directly


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.0.8",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo for client 127.0.0.1
    ],
)
def test_non_public_addresses_are_named_as_such(address: str) -> None:
    assert http.address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address: str) -> None:
    assert http.address_problem(ipaddress.ip_address(address)) is None


def test_the_allow_list_matches_hosts_suffixes_ranges_and_ports() -> None:
    allow = http.parse_allow_list(
        [
            "api.internal",
            "*.corp.example",
            "10.1.0.0/16",
            "127.0.0.1:8080",
            "[::1]:9000",
            "svc.local:443",
        ]
    )
    assert allow.allows_host("api.internal", 1234)
    assert allow.allows_host("a.b.corp.example", 80)
    assert not allow.allows_host("corp.example", 80)
    assert allow.allows_host("svc.local", 443)
    assert not allow.allows_host("svc.local", 80)
    assert allow.allows_address(ipaddress.ip_address("10.1.200.3"), 80)
    assert not allow.allows_address(ipaddress.ip_address("10.2.0.1"), 80)
    assert allow.allows_address(ipaddress.ip_address("127.0.0.1"), 8080)
    assert allow.allows_address(ipaddress.ip_address("::ffff:127.0.0.1"), 8080)
    assert not allow.allows_address(ipaddress.ip_address("127.0.0.1"), 8081)
    assert allow.allows_address(ipaddress.ip_address("::1"), 9000)


@pytest.mark.parametrize(
    "entry", ["not a host", "10.0.0.0/33", "host:port", "[::1", "-bad-.example", "a..b"]
)
def test_a_bad_allow_list_entry_is_named(entry: str) -> None:
    with pytest.raises(ValueError, match=r"is not|invalid port"):
        http.parse_allow_list([entry])


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:127.0.0.1"),
    ],
)
def test_odd_ipv4_spellings_are_read_as_the_address_they_spell(spelling: str, address: str) -> None:
    target = http.parse_url(f"http://{spelling}/x")
    assert str(target.literal) == address
    assert target.host == address


def test_a_bad_allow_list_refuses_every_request_and_says_so() -> None:
    calls = hostcalls.RunCalls(http_allow=["not a host"], env={})
    answer = hostcalls.perform(
        {"id": 1, "op": "http", "payload": {"url": "http://example.com/"}}, calls, lambda: 1.0
    )
    assert answer["error"]["code"] == "http_misconfigured"
    assert "not a host" in answer["error"]["message"]


def test_a_request_without_time_left_is_not_started() -> None:
    calls = hostcalls.RunCalls(http_allow=[], env={})
    answer = hostcalls.perform(
        {"id": 7, "op": "http", "payload": {"url": "http://127.0.0.1:9/"}}, calls, lambda: 0.01
    )
    assert answer["id"] == 7
    assert answer["error"]["code"] == "http_timeout"
    assert answer["log"][0]["message"] == "HTTP GET 127.0.0.1:9/ → timed out (0 ms)"


@pytest.mark.parametrize(
    ("url", "env", "shown"),
    [
        ("https://api.example.com/users/42?key=k", {}, "api.example.com/users/42"),
        (
            "https://hooks.example.com/services/T1/B2/abcdef",
            {"HOOK": "https://hooks.example.com/services/T1/B2/abcdef"},
            "hooks.example.com/…",
        ),
        (
            "https://api.example.com/v1/users",
            {"BASE": "https://api.example.com"},
            "api.example.com/v1/users",
        ),
        (
            "https://api.example.com/t/tok-123456/x",
            {"TOKEN": "tok-123456"},
            "api.example.com/t/tok-123456/x",
        ),
        ("https://api.example.com/v1/x?sig=abcd", {"SIG": "abcd"}, "api.example.com/v1/x"),
        ("http://[::1]:8080/a", {}, "[::1]:8080/a"),
    ],
)
def test_requests_are_described_without_query_or_partial_env_values(
    url: str, env: dict[str, str], shown: str
) -> None:
    assert http.describe(http.parse_url(url), env) == shown


def test_https_checks_the_certificate_of_the_name_while_connecting_to_the_checked_address(
    run: Run, servers: tuple[LoopbackServer, ...], assert_sandbox_healthy: Callable[[], None]
) -> None:
    untrusted = servers[2]
    untrusted.reset()
    for url in (
        f"https://127.0.0.1:{untrusted.port}/json",
        f"https://localhost:{untrusted.port}/json",
    ):
        result = refused(run, url)
        assert result["code"] == "http_tls_error", result
        assert "certificate" in result["message"]
    assert untrusted.requests == []
    assert_sandbox_healthy()
