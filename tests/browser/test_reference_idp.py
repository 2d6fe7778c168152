"""End to end: the reference IdP (examples/idp, its own venv and process) calls this
service, running in the live server, at sign-up and token issuance.

A new user is refused at sign-up with the pipeline's message; a permitted one signs up,
logs in, goes through the OIDC authorization-code flow, and the ID token (verified with the
provider's JWKS) carries the pipeline's claim; the runs are in the console.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse
from urllib.request import Request, urlopen

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.browser.conftest import PASSWORD
from tests.conftest import Persona
from tests.runs.helpers import add_function

IDP = Path(__file__).resolve().parents[2] / "examples" / "idp"
IDP_PYTHON = IDP / ".venv" / "bin" / "python"
CLIENT_SECRET = "rp-secret-0123456789"
NO_EVIL = """
async function pipe(user, context, callback) {
  if ((user.email || "").endsWith("@evil.test")) {
    const err = new Error("Sign-ups from evil.test are closed.");
    err.code = "domain_not_allowed";
    return callback(err);
  }
  user.addCustomData("plan", "free");
  callback(null, user, context);
}
"""
PLAN_CLAIM = """
async function pipe(user, context, callback) {
  user.addIdToken("https://acme.test/plan", user.customData.plan || "none");
  callback(null, user, context);
}
"""

pytestmark = pytest.mark.skipif(
    not IDP_PYTHON.exists(), reason="the reference IdP's venv is missing: run `make test-idp`"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(IDP_PYTHON), "manage.py", *args], cwd=IDP, env=env, check=True, timeout=120)


@pytest.fixture
def idp(alice: Persona, live_server: Any, tmp_path: Path) -> Iterator[str]:
    """The reference IdP on a free port, calling the live server with alice's key."""
    port = _free_port()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PIPELINE_URL": live_server.url,
        "PIPELINE_API_KEY": alice.key,
        "IDP_DATABASE": str(tmp_path / "idp.sqlite3"),
        "IDP_OIDC_RSA_PRIVATE_KEY": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    }
    base = f"http://127.0.0.1:{port}"
    _manage(env, "migrate", "-v0")
    _manage(
        env,
        "createapplication",
        "--name=relying party",
        "--client-id=rp",
        f"--client-secret={CLIENT_SECRET}",
        f"--redirect-uris={base}/callback",
        "--algorithm=RS256",
        "--skip-authorization",
        "confidential",
        "authorization-code",
    )
    server = subprocess.Popen(
        [str(IDP_PYTHON), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=IDP,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "idp.log", "w"),  # noqa: SIM115 (closed with the process)
    )
    try:
        _wait_for(f"{base}/accounts/login/")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _verified(token: str, jwks: dict[str, Any], audience: str) -> dict[str, Any]:
    """The claims of an RS256 JWT whose signature one of the JWKS keys verifies."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(_b64(header_b64))
    assert header["alg"] == "RS256"
    jwk = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    public_key = rsa.RSAPublicNumbers(
        int.from_bytes(_b64(jwk["e"])), int.from_bytes(_b64(jwk["n"]))
    ).public_key()
    public_key.verify(
        _b64(signature_b64),
        f"{header_b64}.{payload_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    claims: dict[str, Any] = json.loads(_b64(payload_b64))
    assert claims["aud"] in (audience, [audience]) and claims["exp"] > time.time()
    return claims


def _sign_up(page: Any, idp: str, username: str, email: str) -> None:
    page.goto(f"{idp}/accounts/signup/")
    page.fill("input[name=username]", username)
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("form button[type=submit], form input[type=submit]")
    page.wait_for_load_state("domcontentloaded")


def test_sign_up_login_and_tokens_go_through_the_pipeline(
    alice: Persona, idp: str, live_server: Any, browser: Any
) -> None:
    from playwright.sync_api import expect

    add_function(alice.tenant, "no-evil", NO_EVIL)
    add_function(alice.tenant, "plan-claim", PLAN_CLAIM, trigger="PRE_OIDC_ID_TOKEN_ISSUED")
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()

    _sign_up(page, idp, "eve", "eve@evil.test")
    expect(page.locator("body")).to_contain_text("Sign-ups from evil.test are closed.")

    _sign_up(page, idp, "ann", "ann@example.com")
    expect(page.locator("h1")).to_have_text("Signed in as ann")
    expect(page.locator("body")).to_contain_text("'plan': 'free'")
    page.click("text=Sign out")
    page.goto(f"{idp}/accounts/login/")
    page.fill("input[name=login]", "ann")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit], form input[type=submit]")
    expect(page.locator("h1")).to_have_text("Signed in as ann")

    verifier = base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = {
        "response_type": "code",
        "client_id": "rp",
        "redirect_uri": f"{idp}/callback",
        "scope": "openid email",
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
        "nonce": "n-0S6",
    }
    page.goto(f"{idp}/o/authorize/?{urlencode(query)}")
    code = parse_qs(urlparse(page.url).query)["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": f"{idp}/callback",
        "client_id": "rp",
        "client_secret": CLIENT_SECRET,
        "code_verifier": verifier,
    }
    with urlopen(Request(f"{idp}/o/token/", data=urlencode(exchange).encode()), timeout=30) as r:
        tokens = json.load(r)
    with urlopen(f"{idp}/o/.well-known/jwks.json", timeout=10) as response:
        jwks = json.load(response)
    id_token = _verified(tokens["id_token"], jwks, audience="rp")
    assert id_token["https://acme.test/plan"] == "free"
    assert id_token["nonce"] == "n-0S6"

    console = browser.new_context().new_page()
    console.goto(f"{live_server.url}/admin/login/?next=/admin/runs/run/")
    console.fill("#id_username", "alice")
    console.fill("#id_password", PASSWORD)
    console.click("input[type=submit]")
    runs = console.locator("#result_list")
    expect(runs).to_contain_text("eve@evil.test")
    expect(runs).to_contain_text("PRE_OIDC_ID_TOKEN_ISSUED")
    expect(runs).to_contain_text("PRE_AUTHENTICATION")
    context.close()
    console.context.close()
