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
import urllib.error
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
    # Session-based clients and the SDK below discover Keycloak as they would in production,
    # and accepts the realm's access tokens (their `aud` is the kit's MCP URL, by the realm's
    # audience mapper). The realm defines no scopes and Keycloak refuses unknown ones, so the
    # MCP server has none either (no `scope` in its challenges or metadata).
    with start_kit("--mcp-authorization-server", issuer, "--mcp-scopes", "") as kit:
        doc = (
            TEMPLATE.read_text()
            .replace("{{REALM}}", name)
            .replace("{{IDP_ISSUER}}", kit.idp_issuer)
            .replace("{{IDP_JWKS_URL}}", kit.info["idp_jwks_uri"])
            .replace("{{MCP_AUDIENCE}}", kit.mcp_url)
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
    assert kit.mcp_url in aud

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


def expect_keycloak_token(kit: Kit, access_token: str, issuer: str) -> None:
    """A realm token for the kit's MCP server, which accepts it: `whoami` answers."""
    claims = idjag.inspect(access_token).claims
    assert claims["iss"] == issuer
    assert claims["azp"] == "mcp-client"
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert kit.mcp_url in aud
    who = whoami(kit, access_token)
    assert (who["sub"], who["client_id"]) == ("alice", "mcp-client"), who
    # The kit checks Keycloak's signature: the same token with another signature is refused.
    head, payload, sig = access_token.split(".")
    forged = f"{head}.{payload}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        whoami(kit, forged)
    assert refused.value.code == 401


def whoami(kit: Kit, access_token: str) -> dict[str, Any]:
    """The kit MCP server's `whoami` tool with this token (one JSON-RPC POST)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
    req = urllib.request.Request(
        kit.mcp_url,
        data=json.dumps(body).encode(),
        headers={
            "authorization": f"Bearer {access_token}",
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
        },
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        answer = json.loads(r.read())
    return dict(json.loads(answer["result"]["content"][0]["text"]))


def test_session_discovers_keycloak_through_the_mcp_servers_metadata(realm: tuple[Kit, str]) -> None:
    """The whole client chain: PRM → Keycloak metadata → leg 1 at the IdP → leg 2 at Keycloak,
    from `idjag.Session`, the `idjag` CLI and libidjag's `idjag_session_access_token`."""
    kit, issuer = realm
    session = idjag.Session(session_config(kit, issuer))
    d = session.discover(kit.mcp_url)
    assert d.authorization_server == issuer
    token = session.access_token(kit.mcp_url)
    assert token.authorization_server == issuer
    expect_keycloak_token(kit, token.access_token, issuer)
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
    expect_keycloak_token(kit, out.stdout.strip(), issuer)
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
    expect_keycloak_token(kit, doc["access_token"], issuer)
    record_matrix("c", "keycloak", "tests/keycloak/test_keycloak.py::test_session_discovers_keycloak_through_the_mcp_servers_metadata[c]")


def test_python_sdk_provider_gets_a_keycloak_token_and_calls_a_tool(realm: tuple[Kit, str]) -> None:
    """The MCP Python SDK's `IdentityAssertionOAuthProvider` (the pinned `mcp`), unmodified,
    as its docstring shows it: the kit's MCP server answers 401, its PRM names the realm, the
    SDK redeems the ID-JAG at Keycloak (leg 2, client_secret_post) and calls `whoami` with
    Keycloak's token. Leg 1 is the caller's job in this SDK: a plain RFC 8693 exchange at the
    testkit IdP, as the SDK's own conformance fixture does it."""
    import asyncio

    import httpx2
    from mcp import Client
    from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
    from mcp.client.streamable_http import streamable_http_client

    kit, issuer = realm

    class Storage:
        tokens: Any = None

        async def get_tokens(self) -> Any:
            return self.tokens

        async def set_tokens(self, tokens: Any) -> None:
            self.tokens = tokens

        async def get_client_info(self) -> Any:
            return None

        async def set_client_info(self, info: Any) -> None:
            pass

    async def leg1(audience: str, resource: str) -> str:
        assert audience == issuer
        async with httpx2.AsyncClient(timeout=30) as http:
            r = await http.post(kit.idp_token_endpoint, data={
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "requested_token_type": "urn:ietf:params:oauth:token-type:id-jag",
                "audience": audience,
                "resource": resource,
                "subject_token": kit.id_token("alice"),
                "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
                "client_id": kit.idp_client["client_id"],
                "client_secret": kit.idp_client["client_secret"],
            })
        r.raise_for_status()
        return str(r.json()["access_token"])

    storage = Storage()
    provider = IdentityAssertionOAuthProvider(
        server_url=kit.mcp_url,
        storage=storage,
        client_id=client_json()["client_id"],
        client_secret=client_json()["client_secret"],
        issuer=issuer,
        assertion_provider=leg1,
    )

    async def main() -> dict[str, Any]:
        async with httpx2.AsyncClient(auth=provider, timeout=60) as http:
            async with Client(streamable_http_client(kit.mcp_url, http_client=http), mode="legacy") as client:
                r = await client.call_tool("whoami", {})
                assert r.is_error is False
                return dict(json.loads(r.content[0].text))  # type: ignore[union-attr]

    who = asyncio.run(main())
    assert (who["sub"], who["client_id"]) == ("alice", "mcp-client"), who
    assert storage.tokens is not None
    assert idjag.inspect(storage.tokens.access_token).claims["iss"] == issuer  # Keycloak's token
    record_matrix("python-sdk", "keycloak", "tests/keycloak/test_keycloak.py::test_python_sdk_provider_gets_a_keycloak_token_and_calls_a_tool")
