"""Outbound HTTP for functions (``fetch``/``axios``), performed by the sandbox worker's host.

Tenant code chooses the URL, method, headers and body, and may control the DNS answers and the
servers it talks to. The rules (SPEC section 5) are enforced here, never in JS:

- Only ``http`` and ``https``; no credentials in the URL (send an Authorization header).
- The host is resolved **once** and every address is checked: loopback, private, link-local,
  multicast, reserved, unspecified, shared (CGNAT) and other non-public ranges are refused, in
  IPv4 and IPv6, including IPv4 inside IPv6 (mapped, compatible, NAT64, 6to4, Teredo).
  Numeric hosts are read the way ``inet_aton`` reads them, so ``0x7f000001``, ``2130706433``
  and ``127.1`` are the loopback address they spell, never DNS names.
- The connection goes to the **checked address**; the Host header and TLS (SNI, certificate
  check) keep the name. A DNS answer cannot change between the check and the connection.
- The operator's allow-list (``http_allow``) names hosts (``api.internal``, ``*.corp.example``)
  or addresses/CIDR ranges (``10.1.0.0/16``), each optionally with a port (``127.0.0.1:8080``,
  ``[::1]:8080``, ``api.internal:443``); only what it names may reach non-public addresses.
- Redirects are followed by hand, at most ``MAX_REDIRECTS``, each hop checked like the first;
  Authorization, Cookie and Proxy-Authorization are dropped when a redirect leaves the origin.
- One deadline covers the whole request (DNS, connect, TLS, headers, body, redirects):
  ``min(REQUEST_TIMEOUT_S, the step's remaining time)``; a timer closes the socket at it, and a
  body cut that way (or ending short of its Content-Length) is an error, never a short 200.
- No IPv6 zone ids (``[fe80::1%25eth0]``) or other characters host names cannot have.
- Responses over ``MAX_RESPONSE_BYTES`` are an error (never silently truncated). Bodies are sent
  uncompressed (``Accept-Encoding: identity``), so the cap is the size of what the function gets.
- Each hop is logged as ``HTTP GET host/path → 200 (12 ms)``: never headers, bodies or query
  strings. When an env value (which may be a secret, e.g. a webhook URL) makes up part of the URL
  other than its host, the path is shown as ``/…``: the redaction of stored runs only finds whole
  secret values, and a URL without its scheme would not contain the whole value any more.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

REQUEST_TIMEOUT_S = 5.0
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_REQUEST_BODY_BYTES = 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = "genauth-pipeline"
# Below this there is no point in starting a request: the step's time is up.
MIN_TIME_S = 0.005
_READ_CHUNK = 65536

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_HEADER_VALUE = re.compile(r"[\r\n\x00]")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
# Host code points the URL standard forbids (``%`` too: no percent-encoded or scoped hosts).
_FORBIDDEN_HOST_CHAR = re.compile(r"[\x00-\x20\x7f%<>^|\\\[\]]")
_FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})
# Set by the host itself: framing, connection handling, the checked Host, no compression.
_HOST_MANAGED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "accept-encoding",
        "proxy-connection",
    }
)
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"),)
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Environment values shorter than this are not looked for in URLs (see redaction's minimum).
_MIN_ENV_VALUE = 4

_resolver = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="gp-dns")
_tls_lock = threading.Lock()
_tls_context: ssl.SSLContext | None = None


class HttpError(Exception):
    """A request that failed or was refused; ``reason`` is the short form for the log line."""

    def __init__(self, message: str, *, code: str, reason: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


# ---------------------------------------------------------------- the allow-list


@dataclass(frozen=True)
class AllowList:
    """What the operator lets functions reach although it is not public."""

    hosts: frozenset[tuple[str, int | None]] = frozenset()
    suffixes: tuple[tuple[str, int | None], ...] = ()
    networks: tuple[tuple[IPNetwork, int | None], ...] = ()

    def allows_host(self, host: str, port: int) -> bool:
        if (host, None) in self.hosts or (host, port) in self.hosts:
            return True
        return any(
            host.endswith(suffix) and allowed in (None, port) for suffix, allowed in self.suffixes
        )

    def allows_address(self, ip: IPAddress, port: int) -> bool:
        candidates = [ip] + ([inner] if (inner := embedded_ipv4(ip)) is not None else [])
        return any(
            allowed in (None, port) and addr.version == net.version and addr in net
            for net, allowed in self.networks
            for addr in candidates
        )


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{entry!r} is not a host, address or CIDR range")
        return host, _port(rest[1:], entry) if rest else None
    if "/" not in entry and entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, _port(port, entry)
    return entry, None


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r} has an invalid port")
    return int(text)


@lru_cache(maxsize=64)
def _parse_allow_list(entries: tuple[str, ...]) -> AllowList:
    hosts: set[tuple[str, int | None]] = set()
    suffixes: list[tuple[str, int | None]] = []
    networks: list[tuple[IPNetwork, int | None]] = []
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        host, port = _split_port(entry)
        try:
            networks.append((ipaddress.ip_network(host, strict=False), port))
            continue
        except ValueError:
            pass
        wildcard = host.startswith("*.")
        name = host[2:] if wildcard else host
        name = name.rstrip(".")
        if not name or not all(_HOST_LABEL.match(label) for label in name.split(".")):
            raise ValueError(f"{raw!r} is not a host, address or CIDR range")
        if wildcard:
            suffixes.append((f".{name}", port))
        else:
            hosts.add((name, port))
    return AllowList(frozenset(hosts), tuple(suffixes), tuple(networks))


def parse_allow_list(entries: Iterable[str]) -> AllowList:
    """The operator's ``http_allow`` entries; raises ``ValueError`` naming a bad one."""
    return _parse_allow_list(tuple(entries))


# ---------------------------------------------------------------- addresses


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to (mapped, compatible, NAT64, 6to4, Teredo)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    plain = ipaddress.IPv6Address(int(ip))  # without a scope id
    if (
        plain in _IPV4_TRANSLATED
        or plain in _IPV4_COMPATIBLE
        or any(plain in net for net in _NAT64)
    ):
        return ipaddress.IPv4Address(int(plain) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be reached without the operator's allow-list, or None if public."""
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    inner = embedded_ipv4(ip)
    if inner is not None:
        # Judged by where it leads: ::ffff:127.0.0.1 is loopback, 64:ff9b::808:808 is public.
        problem = address_problem(inner)
        return None if problem is None else f"{problem} ({inner})"
    checks = (
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "a shared (CGNAT) address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "a site-local address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for hit, why in checks if hit), None)


# ---------------------------------------------------------------- URLs


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str  # lower case ASCII (IDNA), no brackets, no trailing dot
    port: int
    path: str  # path and query, percent-encoded, as sent in the request line
    literal: IPAddress | None  # the host is an address, in whatever spelling
    path_span: tuple[int, int]  # where the path is in ``url`` (for ``describe``)

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _invalid(message: str) -> HttpError:
    return HttpError(message, code="http_invalid_url", reason="invalid URL")


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_LABEL.match(host.rstrip(".").rsplit(".", 1)[-1]):
        # A host ending in a number is an IPv4 address (as browsers read URLs), in any spelling
        # inet_aton accepts (127.1, 0x7f000001, 2130706433, 0177.0.0.1), and never a DNS name.
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            raise _invalid(f"{host!r} is not a valid IPv4 address") from None
    return None


def _check_host_text(host: str, netloc: str) -> None:
    """Refuse what ``urlsplit`` lets through but no browser would fetch."""
    if "%" in host and ":" in host:
        # The scope would pick a network interface of the sandbox's host; browsers refuse it too.
        raise _invalid(
            "IPv6 zone ids (a '%' in the address, as in [fe80::1%25eth0]) are not allowed"
        )
    if _FORBIDDEN_HOST_CHAR.search(host):
        raise _invalid("The URL's host contains a character that host names cannot have")
    _, bracket, after = netloc.rpartition("]")
    if bracket and after and not after.startswith(":"):
        raise _invalid("The URL has text after its [IPv6 address] that is not a :port")


def parse_url(url: str) -> Target:
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _invalid(f"The URL is not valid: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "a URL without a scheme"
        raise HttpError(
            f"Only http and https URLs can be fetched, not {shown}",
            code="http_unsupported_scheme",
            reason="unsupported scheme",
        )
    if parts.username is not None or parts.password is not None:
        raise _invalid(
            "URLs with credentials are not allowed: send an Authorization header instead"
        )
    raw_host = (parts.hostname or "").rstrip(".")
    if not raw_host:
        raise _invalid("The URL has no host")
    _check_host_text(raw_host, parts.netloc)
    try:
        host = raw_host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _invalid("The URL's host is not a valid host name") from None
    literal = _literal_address(host)
    if literal is not None:
        host = str(literal)
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    path_start = url.index("//") + 2 + len(parts.netloc)
    return Target(
        url=url,
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        path=path,
        literal=literal,
        path_span=(path_start, path_start + len(parts.path)),
    )


def describe(target: Target, env: Mapping[str, str]) -> str:
    """``host/path`` for logs and errors, never the query.

    The path is shown as ``/…`` when an env value overlaps it without lying wholly inside it
    (a webhook URL kept in a secret): redaction only finds whole values, so a partial one
    would leak. A value wholly inside the path is shown as is and redacted like any other.
    """
    start, end = target.path_span
    for value in env.values():
        if not isinstance(value, str) or len(value) < _MIN_ENV_VALUE:
            continue
        at = target.url.find(value)
        while at >= 0:
            stop = at + len(value)
            if at < end and stop > start and not (at >= start and stop <= end):
                return f"{target.authority}/…"
            at = target.url.find(value, at + 1)
    return target.authority + (target.url[start:end] or "/")


# ---------------------------------------------------------------- the request


@dataclass
class Request:
    url: str
    method: str
    headers: dict[str, str]
    body: bytes | None
    redirect: str = "follow"  # follow | manual | error
    timeout_s: float = REQUEST_TIMEOUT_S

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Request:
        method = str(payload.get("method") or "GET").upper()
        if not _TOKEN.match(method) or method in _FORBIDDEN_METHODS:
            raise HttpError(
                f"{method!r} is not an allowed HTTP method",
                code="http_invalid_request",
                reason="invalid method",
            )
        headers = _clean_headers(payload.get("headers") or {})
        body = _encode_body(payload.get("body"), method)
        redirect = str(payload.get("redirect") or "follow")
        if redirect not in ("follow", "manual", "error"):
            raise HttpError(
                f"redirect must be 'follow', 'manual' or 'error', not {redirect!r}",
                code="http_invalid_request",
                reason="invalid redirect mode",
            )
        timeout_s = REQUEST_TIMEOUT_S
        if isinstance(payload.get("timeout_ms"), int | float) and payload["timeout_ms"] > 0:
            timeout_s = min(REQUEST_TIMEOUT_S, payload["timeout_ms"] / 1000.0)
        return cls(str(payload.get("url") or ""), method, headers, body, redirect, timeout_s)

    def after_redirect(self, status: int, same_origin: bool) -> Request:
        """The next hop's request, as browsers make it."""
        method, body, headers = self.method, self.body, dict(self.headers)
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method, body = "GET", None
            headers = {k: v for k, v in headers.items() if k not in ("content-type",)}
        if not same_origin:
            headers = {k: v for k, v in headers.items() if k not in _CREDENTIAL_HEADERS}
        return Request(self.url, method, headers, body, self.redirect, self.timeout_s)


def _clean_headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise HttpError(
            "headers must be an object", code="http_invalid_request", reason="invalid headers"
        )
    headers: dict[str, str] = {}
    for name, value in raw.items():
        key = str(name).strip().lower()
        text = str(value)
        if not _TOKEN.match(key) or _BAD_HEADER_VALUE.search(text):
            raise HttpError(
                f"Invalid header {key!r}: names are tokens and values cannot hold line breaks",
                code="http_invalid_request",
                reason="invalid header",
            )
        if key not in _HOST_MANAGED_HEADERS:
            headers[key] = text
    headers.setdefault("user-agent", USER_AGENT)
    return headers


def _encode_body(body: Any, method: str) -> bytes | None:
    if body is None:
        return None
    if method in ("GET", "HEAD"):
        raise HttpError(
            f"A {method} request cannot have a body",
            code="http_invalid_request",
            reason="invalid body",
        )
    data = str(body).encode("utf-8", "surrogatepass")
    if len(data) > MAX_REQUEST_BODY_BYTES:
        raise HttpError(
            f"The request body is larger than the limit of {MAX_REQUEST_BODY_BYTES} bytes",
            code="http_request_too_large",
            reason="request body too large",
        )
    return data


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def fetch(
    payload: Mapping[str, Any],
    *,
    allow: AllowList,
    time_left_s: float,
    env: Mapping[str, str],
    log: list[dict[str, str]],
) -> dict[str, Any]:
    """Perform one request (following redirects); ``log`` gets a line per hop.

    Returns ``{status, status_text, headers, body, url, redirected}``; raises ``HttpError``.
    """
    started = time.monotonic()
    request = Request.from_payload(payload)
    budget = min(request.timeout_s, time_left_s)
    deadline = started + budget
    try:
        target = parse_url(request.url)
    except HttpError as exc:
        log.append(
            {"level": "warn", "message": f"HTTP {request.method} (invalid URL) → {exc.reason}"}
        )
        raise
    for hop in range(MAX_REDIRECTS + 1):
        label = f"HTTP {request.method} {describe(target, env)}"
        t0 = time.monotonic()
        try:
            if budget < MIN_TIME_S or t0 >= deadline:
                raise _timeout(target, env, budget)
            response = _exchange(target, request, allow, deadline, env, budget)
        except HttpError as exc:
            log.append(
                {
                    "level": "warn",
                    "message": f"{label} → {exc.reason} ({_ms(time.monotonic() - t0)} ms)",
                }
            )
            raise
        log.append(
            {
                "level": "info",
                "message": f"{label} → {response['status']} ({_ms(time.monotonic() - t0)} ms)",
            }
        )
        location = response["headers"].get("location")
        if (
            response["status"] not in _REDIRECT_STATUSES
            or not location
            or request.redirect == "manual"
        ):
            return {**response, "url": target.url, "redirected": hop > 0}
        if request.redirect == "error":
            raise HttpError(
                f"{describe(target, env)} redirected, and this request does not follow redirects",
                code="http_redirect",
                reason="redirect refused",
            )
        if hop == MAX_REDIRECTS:
            raise HttpError(
                f"Too many redirects (more than {MAX_REDIRECTS}) from {describe(target, env)}",
                code="http_too_many_redirects",
                reason="too many redirects",
            )
        try:
            following = parse_url(urljoin(target.url, location))
        except HttpError as exc:
            log.append(
                {"level": "warn", "message": f"HTTP {request.method} (redirect) → {exc.reason}"}
            )
            raise
        request = request.after_redirect(response["status"], following.origin == target.origin)
        target = following
    raise AssertionError("unreachable")  # pragma: no cover


def _timeout(target: Target, env: Mapping[str, str], budget: float) -> HttpError:
    return HttpError(
        f"The request to {describe(target, env)} timed out after {_ms(budget)} ms "
        f"(limit: {_ms(REQUEST_TIMEOUT_S)} ms or the function's remaining time)",
        code="http_timeout",
        reason="timed out",
    )


def _addresses(
    target: Target, deadline: float, env: Mapping[str, str], budget: float
) -> list[tuple[Any, IPAddress]]:
    """``(sockaddr, address)`` pairs for the host, resolved once."""
    if target.literal is not None:
        family = socket.AF_INET6 if target.literal.version == 6 else socket.AF_INET
        try:
            infos = socket.getaddrinfo(
                str(target.literal),
                target.port,
                family,
                socket.SOCK_STREAM,
                0,
                socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
        except OSError:
            raise _invalid(f"{target.literal} is not an address that can be connected to") from None
    else:
        future = _resolver.submit(
            socket.getaddrinfo,
            target.host,
            target.port,
            0,
            socket.SOCK_STREAM,
            0,
            socket.AI_NUMERICSERV,
        )
        try:
            infos = future.result(timeout=max(deadline - time.monotonic(), 0))
        except concurrent.futures.TimeoutError:
            raise _timeout(target, env, budget) from None
        except (OSError, UnicodeError):
            raise HttpError(
                f"The host {target.host} could not be resolved",
                code="http_dns_failed",
                reason="host not found",
            ) from None
    pairs = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            pairs.append((sockaddr, ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])))
    return pairs


def _checked_addresses(
    target: Target, allow: AllowList, deadline: float, env: Mapping[str, str], budget: float
) -> list[tuple[Any, IPAddress]]:
    pairs = _addresses(target, deadline, env, budget)
    if not pairs:
        raise HttpError(
            f"The host {target.host} has no address",
            code="http_dns_failed",
            reason="host not found",
        )
    if allow.allows_host(target.host, target.port):
        return pairs
    allowed = [
        p for p in pairs if address_problem(p[1]) is None or allow.allows_address(p[1], target.port)
    ]
    if not allowed:
        ip = pairs[0][1]
        problem = address_problem(ip)
        raise HttpError(
            f"The request to {describe(target, env)} was refused: {ip} is {problem}. Functions may only "
            "reach public addresses unless the operator allow-lists the host (SANDBOX_HTTP_ALLOW).",
            code="http_refused",
            reason=f"refused ({problem})",
        )
    return allowed


def _connect(
    target: Target,
    pairs: list[tuple[Any, IPAddress]],
    deadline: float,
    env: Mapping[str, str],
    budget: float,
) -> socket.socket:
    last: OSError | None = None
    for sockaddr, ip in pairs:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout(target, env, budget)
        sock = socket.socket(
            socket.AF_INET6 if ip.version == 6 else socket.AF_INET, socket.SOCK_STREAM
        )
        sock.settimeout(remaining)
        try:
            sock.connect(sockaddr)
        except TimeoutError:
            sock.close()
            raise _timeout(target, env, budget) from None
        except OSError as exc:
            sock.close()
            last = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    why = last.strerror if last is not None and last.strerror else "no address answered"
    raise HttpError(
        f"Could not connect to {target.authority}: {why}",
        code="http_connection_failed",
        reason="connection failed",
    )


def tls_context() -> ssl.SSLContext:
    global _tls_context
    with _tls_lock:
        if _tls_context is None:
            _tls_context = ssl.create_default_context()
        return _tls_context


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection over a socket we opened to the checked address (never reconnects)."""

    def __init__(self, target: Target, sock: socket.socket) -> None:
        super().__init__(target.host, target.port)
        self.default_port = 443 if target.scheme == "https" else 80
        self.sock = sock

    def connect(self) -> None:
        raise http.client.NotConnected("the connection to the checked address was closed")


def _exchange(
    target: Target,
    request: Request,
    allow: AllowList,
    deadline: float,
    env: Mapping[str, str],
    budget: float,
) -> dict[str, Any]:
    pairs = _checked_addresses(target, allow, deadline, env, budget)
    sock = _connect(target, pairs, deadline, env, budget)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(deadline - time.monotonic(), 0), cut)
    timer.daemon = True
    timer.start()
    conn: _PinnedConnection | None = None
    try:
        wire: socket.socket = sock
        if target.scheme == "https":
            wire = tls_context().wrap_socket(sock, server_hostname=target.host)
        conn = _PinnedConnection(target, wire)
        conn.request(request.method, target.path, body=request.body, headers=request.headers)
        response = conn.getresponse()
        answer = _read_response(target, response, request.method, env)
        if expired.is_set():
            # The cut ends a body without a length like its end would: it is not complete.
            raise _timeout(target, env, budget)
        return answer
    except HttpError:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise HttpError(
            f"The TLS certificate of {target.authority} is not valid: {exc.verify_message}",
            code="http_tls_error",
            reason="TLS error",
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set() or time.monotonic() >= deadline:
            raise _timeout(target, env, budget) from None
        kind = "TLS error" if isinstance(exc, ssl.SSLError) else "connection failed"
        raise HttpError(
            f"The request to {target.authority} failed: {_failure(exc)}",
            code="http_tls_error" if kind == "TLS error" else "http_connection_failed",
            reason=kind,
        ) from None
    finally:
        timer.cancel()
        if conn is not None:
            conn.close()
        with contextlib.suppress(OSError):
            sock.close()


def _failure(exc: OSError | http.client.HTTPException) -> str:
    """What went wrong, in words (never a Python class name)."""
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed before the whole response arrived"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason})" if exc.reason else "TLS error"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, http.client.HTTPException):
        return "the server's answer is not valid HTTP"
    return "the connection failed"


def _read_response(
    target: Target, response: http.client.HTTPResponse, method: str, env: Mapping[str, str]
) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    too_large = HttpError(
        f"The response from {describe(target, env)} is larger than the limit of {MAX_RESPONSE_BYTES} bytes",
        code="http_response_too_large",
        reason="response too large",
    )
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    if method != "HEAD":
        while chunk := response.read1(_READ_CHUNK):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise too_large
            chunks.append(chunk)
        if response.length:  # a Content-Length the body fell short of
            raise http.client.IncompleteRead(b"".join(chunks), response.length)
    return {
        "status": response.status,
        "status_text": response.reason or "",
        "headers": headers,
        "body": _decode(b"".join(chunks), headers.get("content-type", "")),
    }


def _decode(body: bytes, content_type: str) -> str:
    """The body as text in its declared charset, or UTF-8 if Python has no such text codec
    (``charset=base64`` names a codec, but not one that makes text)."""
    message = Message()
    message["content-type"] = content_type
    try:
        return body.decode(message.get_content_charset() or "utf-8", "replace")
    except (LookupError, UnicodeError):
        return body.decode("utf-8", "replace")
