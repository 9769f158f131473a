"""Stock Keycloak 26.7 accepting ID-JAGs, driven from the Python binding (`idjag.Client`).

The same realm (tests/keycloak/realm.json) and the same chain as the Rust test
core/tests/keycloak.rs: leg 1 at the testkit IdP (RFC 8693, audience = the realm issuer),
Keycloak's metadata through idjag's discovery (RFC 8414 path insert, exact issuer), leg 2 at
Keycloak (RFC 7523 jwt-bearer, SPEC §2.E/§2.F), then a replay (`invalid_grant`) and a wrong
client secret (Keycloak answers `unauthorized_client`, action `reconfigure`).

Run by tests/keycloak/run.sh, which starts Keycloak and sets IDJAG_KEYCLOAK_URL; the test
fails (it does not skip) when that is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import idjag

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bindings-python" / "tests"))
from conftest import Kit, record_matrix, start_kit  # noqa: E402

TEMPLATE = ROOT / "tests" / "keycloak" / "realm.json"
MCP_AUDIENCE = "http://127.0.0.1:8000/mcp"


def keycloak_url() -> str:
    url = os.environ.get("IDJAG_KEYCLOAK_URL", "").rstrip("/")
    if not url:
        pytest.fail("IDJAG_KEYCLOAK_URL is not set: run tests/keycloak/run.sh (it starts Keycloak)")
    return url


class Admin:
    """Keycloak's admin REST API (a fresh master-realm token per call: they live 60 s)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def token(self) -> str:
        form = urllib.parse.urlencode(
            {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": os.environ.get("IDJAG_KEYCLOAK_ADMIN", "admin"),
                "password": os.environ.get("IDJAG_KEYCLOAK_ADMIN_PASSWORD", "admin"),
            }
        ).encode()
        url = f"{self.base}/realms/master/protocol/openid-connect/token"
        with urllib.request.urlopen(urllib.request.Request(url, data=form), timeout=60) as r:
            return str(json.loads(r.read())["access_token"])

    def call(self, method: str, path: str, body: Any = None) -> int:
        req = urllib.request.Request(
            f"{self.base}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"authorization": f"Bearer {self.token()}", "content-type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            return int(r.status)


@pytest.fixture(scope="module")
def realm() -> Iterator[tuple[Kit, str]]:
    base = keycloak_url()
    admin = Admin(base)
    name = f"idjag-py-{uuid.uuid4().hex[:8]}"
    issuer = f"{base}/realms/{name}"
    # The kit's MCP server names the realm as its authorization server (RFC 9728), so the
    # Session-based clients below discover Keycloak as they would in production.
    with start_kit("--mcp-authorization-server", issuer) as kit:
        doc = (
            TEMPLATE.read_text()
            .replace("{{REALM}}", name)
            .replace("{{IDP_ISSUER}}", kit.idp_issuer)
            .replace("{{IDP_JWKS_URL}}", kit.info["idp_jwks_uri"])
        )
        assert admin.call("POST", "/admin/realms", json.loads(doc)) == 201
        try:
            yield kit, issuer
        finally:
            admin.call("DELETE", f"/admin/realms/{name}")


def client_json(secret: str | None = None) -> dict[str, Any]:
    c = json.loads(TEMPLATE.read_text())["clients"][0]
    return {"client_id": c["clientId"], "client_secret": secret or c["secret"]}


def test_keycloak_redeems_an_id_jag_from_python(realm: tuple[Kit, str]) -> None:
    kit, issuer = realm
    client = idjag.Client(timeout_ms=30000)
    meta = client.authorization_server_metadata(issuer)
    assert meta["issuer"] == issuer
    assert "urn:ietf:params:oauth:grant-type:jwt-bearer" in meta["grant_types_supported"]

    jag = client.request_id_jag(
        kit.idp_token_endpoint,
        issuer,
        kit.id_token("alice"),
        kit.idp_client,
        resource=kit.mcp_url,
        scope="mcp:read",
        idp_issuer=kit.idp_issuer,
    )
    assert jag.issued_token_type == "urn:ietf:params:oauth:token-type:id-jag"
    assert idjag.inspect(jag.assertion).claims["aud"] == issuer

    def redeem(assertion: str, secret: str | None = None) -> idjag.AccessToken:
        return client.redeem_id_jag(
            meta["token_endpoint"],
            assertion,
            client_json(secret),
            issuer=issuer,
            auth_methods_supported=meta.get("token_endpoint_auth_methods_supported"),
        )

    at = redeem(jag.assertion)
    assert at.token_type == "Bearer"
    claims = idjag.inspect(at.access_token).claims
    assert claims["iss"] == issuer
    assert claims["azp"] == "mcp-client"
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert MCP_AUDIENCE in aud

    # The same ID-JAG again: Keycloak enforces single use of its jti.
    with pytest.raises(idjag.OAuthServerError) as replay:
        redeem(jag.assertion)
    assert replay.value.error == "invalid_grant"
    assert replay.value.step == "as_grant"

    # A wrong client secret: client authentication fails, the error names no secret.
    fresh = client.request_id_jag(
        kit.idp_token_endpoint,
        issuer,
        kit.id_token("alice"),
        kit.idp_client,
        resource=kit.mcp_url,
        scope="mcp:read",
        idp_issuer=kit.idp_issuer,
    )
    wrong = "wrong-secret-0123456789"
    with pytest.raises(idjag.OAuthServerError) as bad:
        redeem(fresh.assertion, wrong)
    assert bad.value.error in ("invalid_client", "unauthorized_client")
    assert bad.value.action == "reconfigure"
    text = f"{bad.value!s} {bad.value!r}"
    for secret in (wrong, fresh.assertion, client_json()["client_secret"]):
        assert secret not in text

    record_matrix("python", "keycloak", f"tests/keycloak/test_keycloak.py::{test_keycloak_redeems_an_id_jag_from_python.__name__}")


def session_config(kit: Kit, issuer: str) -> dict[str, Any]:
    """A Session configuration whose AS credentials go to the realm (and only there).

    Keycloak refuses scopes it does not know (`invalid_scope`, "Invalid scopes: mcp:read
    mcp:write") on the jwt-bearer request, and the realm defines none: the session asks the IdP
    for the challenged scope in leg 1 and sends no `scope` in leg 2 (`jwt_bearer_scope` "omit",
    the setting idjag's own error names)."""
    return kit.config(client=client_json(), client_issuers=[issuer], jwt_bearer_scope={issuer: "omit"})


def expect_keycloak_token(access_token: str, issuer: str) -> None:
    claims = idjag.inspect(access_token).claims
    assert claims["iss"] == issuer
    assert claims["azp"] == "mcp-client"
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert MCP_AUDIENCE in aud


def test_session_discovers_keycloak_through_the_mcp_servers_metadata(realm: tuple[Kit, str]) -> None:
    """The whole client chain: PRM → Keycloak metadata → leg 1 at the IdP → leg 2 at Keycloak,
    from `idjag.Session`, the `idjag` CLI and libidjag's `idjag_session_access_token`."""
    kit, issuer = realm
    session = idjag.Session(session_config(kit, issuer))
    d = session.discover(kit.mcp_url)
    assert d.authorization_server == issuer
    token = session.access_token(kit.mcp_url)
    assert token.authorization_server == issuer
    expect_keycloak_token(token.access_token, issuer)
    assert session.access_token(kit.mcp_url).access_token == token.access_token  # cached
    record_matrix("python", "keycloak", "tests/keycloak/test_keycloak.py::test_session_discovers_keycloak_through_the_mcp_servers_metadata")

    # The CLI reads the same configuration from stdin and prints the token alone.
    cli = os.environ.get("IDJAG_CLI")
    assert cli, "IDJAG_CLI (the idjag binary) is set by tests/keycloak/run.sh"
    out = subprocess.run(
        [cli, "token", "--server", kit.mcp_url],
        input=json.dumps(session_config(kit, issuer)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    expect_keycloak_token(out.stdout.strip(), issuer)
    record_matrix("cli", "keycloak", "tests/keycloak/test_keycloak.py::test_session_discovers_keycloak_through_the_mcp_servers_metadata[cli]")

    # The C ABI: examples/clients/idjag_session.c (built by run.sh against the installed libidjag).
    c_client = os.environ.get("IDJAG_KEYCLOAK_C_CLIENT")
    assert c_client, "IDJAG_KEYCLOAK_C_CLIENT is set by tests/keycloak/run.sh"
    out = subprocess.run(
        [c_client, kit.mcp_url],
        input=json.dumps(session_config(kit, issuer)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["authorization_server"] == issuer
    expect_keycloak_token(doc["access_token"], issuer)
    record_matrix("c", "keycloak", "tests/keycloak/test_keycloak.py::test_session_discovers_keycloak_through_the_mcp_servers_metadata[c]")
