"""End to end on loopback: idjag-testkit's IdP mints ID-JAGs for this example AS (server.py,
run as its own process); idjag's Rust, Python, Node, C and CLI clients and the MCP Python SDK's
`IdentityAssertionOAuthProvider` get tokens from it and call its /mcp; forged, replayed and
wrong-audience ID-JAGs and bad client credentials are refused. Run by test.sh."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import httpx2
import pytest
from joserfc import jws
from joserfc.jwk import ECKey
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider

import idjag
import idjag.mcp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "bindings-python" / "tests"))
from conftest import Kit, free_port, record_matrix, start_kit  # noqa: E402

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GENERIC = {"error": "invalid_grant", "error_description": "the assertion is not valid"}
# The ID-JAGs name `mcp-client` (the kit's AS client); its secret here has characters RFC
# 6749 §2.3.1 form-encodes in HTTP Basic (but no space: see test_basic_secret_with_a_space).
CLIENT = {"client_id": "mcp-client", "client_secret": "s3:cr+t/%&=x"}
SPACE_CLIENT = {"client_id": "space-client", "client_secret": "with a space"}
MATRIX_SERVER = "authlib"


def record(client: str, name: str) -> None:
    record_matrix(client, MATRIX_SERVER, f"examples/as-authlib/test_as_authlib.py::{name}")


class AS:
    def __init__(self, kit: Kit, tmp: Path, issuer: str) -> None:
        self.issuer = issuer
        self.resource = f"{self.issuer}/mcp"
        self.kit = kit
        (tmp / "verifier.json").write_text(json.dumps({
            "issuer": self.issuer,
            "resources": [self.resource],
            "trusted_idps": [{"issuer": kit.idp_issuer, "jwks_uri": kit.info["idp_jwks_uri"]}],
        }))
        (tmp / "clients.json").write_text(json.dumps([CLIENT, SPACE_CLIENT]))
        self.log_path = tmp / "as.log"
        # Stands for the operator's existing authorization-code endpoint (not served here):
        # the MCP Python SDK needs one in the metadata (test_python_sdk_requires_...).
        env = {**os.environ, "AUTHORIZATION_ENDPOINT": f"{issuer}/authorize"}
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(HERE / "server.py"), str(tmp / "verifier.json"), str(tmp / "clients.json")],
                stdout=subprocess.PIPE, stderr=log, text=True, env=env,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == f"listening on {self.issuer}", (line, self.log_path.read_text())

    def last_refusal(self) -> str:
        return [l for l in self.log_path.read_text().splitlines() if l.startswith("token: refused")][-1]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AS]:
    # The kit must know the AS issuer (--extra-audience) and the AS the IdP: a port first.
    issuer = f"http://127.0.0.1:{free_port()}"
    with start_kit("--extra-audience", issuer, "--extra-resource", f"{issuer}/mcp") as kit:
        # The ID-JAGs the IdP issues to its public client name `space-client`.
        kit.admin("client_map", {"idp_client_id": "idp-public-client", "as_client_id": SPACE_CLIENT["client_id"]})
        server = AS(kit, tmp_path_factory.mktemp("as-authlib"), issuer)
        try:
            yield server
        finally:
            server.proc.terminate()
            server.proc.wait(timeout=10)


def session_config(env: AS) -> dict[str, Any]:
    return env.kit.config(client=dict(CLIENT), client_issuers=[env.issuer])


def call_mcp(env: AS, access_token: str) -> tuple[int, Any]:
    req = urllib.request.Request(env.resource, headers={"Authorization": f"Bearer {access_token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, None


def form(s: str) -> str:
    return urllib.parse.quote_plus(s)


def redeem(env: AS, assertion: str, client_id: str = CLIENT["client_id"], secret: Optional[str] = CLIENT["client_secret"],
           basic: bool = True, scope: Optional[str] = None) -> tuple[int, dict[str, Any], Optional[str]]:
    """A jwt-bearer request: (status, body, Cache-Control)."""
    fields = {"grant_type": JWT_BEARER, "assertion": assertion}
    if scope is not None:
        fields["scope"] = scope
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if secret is not None and basic:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{form(client_id)}:{form(secret)}".encode()).decode()
    else:
        fields["client_id"] = client_id
        if secret is not None:
            fields["client_secret"] = secret
    req = urllib.request.Request(f"{env.issuer}/token", data=urllib.parse.urlencode(fields).encode(), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r), r.headers.get("Cache-Control")
    except urllib.error.HTTPError as e:
        return e.code, json.load(e), e.headers.get("Cache-Control")


def mint(env: AS, **claims: Any) -> str:
    return str(env.kit.admin("id_jag", {"claims": {"aud": env.issuer, "resource": env.resource, **claims}})["id_jag"])


def test_metadata_and_protected_resource(env: AS) -> None:
    with urllib.request.urlopen(f"{env.issuer}/.well-known/oauth-authorization-server", timeout=10) as r:
        md = json.load(r)
    assert md["issuer"] == env.issuer and md["token_endpoint"] == f"{env.issuer}/token"
    assert JWT_BEARER in md["grant_types_supported"]
    assert md["authorization_grant_profiles_supported"] == ["urn:ietf:params:oauth:grant-profile:id-jag"]
    prm_url = f"{env.issuer}/.well-known/oauth-protected-resource/mcp"
    with urllib.request.urlopen(prm_url, timeout=10) as r:
        prm = json.load(r)
    assert (prm["resource"], prm["authorization_servers"]) == (env.resource, [env.issuer])
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(env.resource, timeout=10)
    assert e.value.code == 401
    assert e.value.headers["WWW-Authenticate"] == f'Bearer resource_metadata="{prm_url}"'
    assert call_mcp(env, "not-a-token")[0] == 401


def test_python_session(env: AS) -> None:
    token = idjag.Session(session_config(env)).access_token(env.resource)
    assert token.authorization_server == env.issuer
    assert call_mcp(env, token.access_token) == (200, {"sub": "alice", "client_id": "mcp-client", "scope": None})
    record("python", "test_python_session")


def test_node_session(env: AS) -> None:
    out = subprocess.run(
        [os.environ.get("IDJAG_NODE", "node"), str(ROOT / "examples" / "clients" / "idjag_session.mjs"), env.resource],
        input=json.dumps(session_config(env)), capture_output=True, text=True, timeout=30, check=True,
    ).stdout
    r = json.loads(out)
    assert (r["status"], r["body"]) == (200, {"sub": "alice", "client_id": "mcp-client", "scope": None})
    assert r["authorizationServer"] == env.issuer
    record("node", "test_node_session")


def test_rust_session(env: AS) -> None:
    driver = os.environ.get("IDJAG_RUST_SESSION")
    assert driver, "IDJAG_RUST_SESSION: core/examples/session_token.rs (test.sh builds it)"
    out = subprocess.run([driver, env.resource], input=json.dumps(session_config(env)),
                         capture_output=True, text=True, timeout=30, check=True).stdout
    r = json.loads(out)
    assert (r["status"], r["body"]) == (200, {"sub": "alice", "client_id": "mcp-client", "scope": None})
    assert r["authorization_server"] == env.issuer
    record("rust", "test_rust_session")


def test_cli_token(env: AS) -> None:
    cli = os.environ.get("IDJAG_CLI")
    assert cli, "IDJAG_CLI: the idjag binary (test.sh builds it)"
    out = subprocess.run([cli, "token", "--server", env.resource, "--config", "-", "--json"],
                         input=json.dumps(session_config(env)), capture_output=True, text=True, timeout=30, check=True).stdout
    status, who = call_mcp(env, json.loads(out)["access_token"])
    assert status == 200 and who["sub"] == "alice"
    record("cli", "test_cli_token")


def test_c_session(env: AS) -> None:
    driver = os.environ.get("IDJAG_C_SESSION")
    assert driver, "IDJAG_C_SESSION: examples/clients/idjag_session.c (test.sh builds it)"
    out = subprocess.run([driver, env.resource], input=json.dumps(session_config(env)),
                         capture_output=True, text=True, timeout=30, check=True).stdout
    t = json.loads(out)
    assert t["authorization_server"] == env.issuer
    assert call_mcp(env, t["access_token"]) == (200, {"sub": "alice", "client_id": "mcp-client", "scope": None})
    record("c", "test_c_session")


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_python_sdk_identity_assertion_provider(env: AS, method: str) -> None:
    class Storage:
        tokens = None

        async def get_tokens(self) -> Any:
            return self.tokens

        async def set_tokens(self, tokens: Any) -> None:
            self.tokens = tokens

        async def get_client_info(self) -> Any:
            return None

        async def set_client_info(self, info: Any) -> None:
            pass

    sdk_auth = IdentityAssertionOAuthProvider(
        server_url=env.resource,
        storage=Storage(),
        client_id=CLIENT["client_id"],
        client_secret=CLIENT["client_secret"],
        issuer=env.issuer,
        assertion_provider=idjag.mcp.assertion_provider(session_config(env)),  # leg 1: idjag
        token_endpoint_auth_method=method,  # type: ignore[arg-type]
    )

    async def main() -> tuple[int, Any]:
        async with httpx2.AsyncClient(auth=sdk_auth, timeout=10) as http:
            r = await http.get(env.resource)
            return r.status_code, r.json()

    assert asyncio.run(main()) == (200, {"sub": "alice", "client_id": "mcp-client", "scope": None})
    record("python-sdk", f"test_python_sdk_identity_assertion_provider[{method}]")


def refused(env: AS, answer: tuple[int, dict[str, Any], Optional[str]], reason: str, secrets: list[str]) -> None:
    status, body, cache_control = answer
    assert (status, body, cache_control) == (400, GENERIC, "no-store")
    text = json.dumps(body)
    assert not any(s in text for s in secrets)
    assert env.last_refusal().endswith(f"reason={reason}")


def test_replayed_id_jag_is_invalid_grant(env: AS) -> None:
    jag = mint(env)
    status, body, _ = redeem(env, jag)
    assert status == 200, body
    assert call_mcp(env, body["access_token"])[0] == 200
    refused(env, redeem(env, jag), "replayed", [jag, CLIENT["client_secret"], body["access_token"]])


def test_forged_id_jag_is_invalid_grant(env: AS) -> None:
    real = mint(env)
    header = json.loads(base64.urlsafe_b64decode(real.split(".")[0] + "=="))
    claims = base64.urlsafe_b64decode(real.split(".")[1] + "==")
    # The IdP's kid and the same claims, signed with a P-256 key the IdP does not publish.
    forged = jws.serialize_compact(header, claims, ECKey.generate_key("P-256"), algorithms=["ES256"])
    refused(env, redeem(env, forged), "bad_signature", [forged, CLIENT["client_secret"]])
    assert redeem(env, real)[0] == 200, "the forgery did not burn the genuine ID-JAG's jti"


def test_wrong_audience_id_jag_is_invalid_grant(env: AS) -> None:
    other = str(env.kit.admin("id_jag", {"claims": {"resource": env.resource}})["id_jag"])  # aud: the kit's AS
    refused(env, redeem(env, other), "audience_mismatch", [other, CLIENT["client_secret"]])


@pytest.mark.parametrize("creds", [{"secret": None}, {"secret": "wrong"}, {"secret": "wrong", "basic": False},
                                   {"client_id": "nobody", "secret": "x"}])
def test_bad_client_credentials_are_invalid_client(env: AS, creds: dict[str, Any]) -> None:
    jag = mint(env)
    status, body, _ = redeem(env, jag, **creds)
    assert (status, body["error"]) == (401, "invalid_client")
    assert jag not in json.dumps(body) and CLIENT["client_secret"] not in json.dumps(body)
    assert redeem(env, jag)[0] == 200, "the ID-JAG was not consumed by the refused request"


def test_basic_secret_with_a_space(env: AS) -> None:
    """Authlib decodes HTTP Basic credentials with `unquote`, not form-urldecoding (RFC 6749
    §2.3.1 + the HTML form encoding, where a space is `+`): idjag's `+` for a space stays a
    `+`, and the client is refused; `%20` (what the MCP Python SDK sends) and
    `client_secret_post` work. With such a secret, configure idjag's client with
    `"auth_method": "client_secret_post"`."""
    def jag() -> str:
        return str(env.kit.admin("id_jag", {"claims": {"aud": env.issuer, "resource": env.resource,
                                                        "client_id": SPACE_CLIENT["client_id"]}})["id_jag"])
    cid, secret = SPACE_CLIENT["client_id"], SPACE_CLIENT["client_secret"]
    assert redeem(env, jag(), cid, secret)[:2] == (401, {"error": "invalid_client", "error_description": "The client cannot authenticate with methods: ['client_secret_basic', 'client_secret_post']"})
    assert redeem(env, jag(), cid, secret, basic=False)[0] == 200
    # idjag with the post method configured: accepted.
    cfg = env.kit.config(idp={"issuer": env.kit.idp_issuer, "client_id": "idp-public-client"},
                         subject_token=env.kit.id_token(aud="idp-public-client"),
                         client={**SPACE_CLIENT, "auth_method": "client_secret_post"}, client_issuers=[env.issuer])
    token = idjag.Session(cfg).access_token(env.resource)
    assert call_mcp(env, token.access_token)[1]["client_id"] == cid


def test_python_sdk_requires_authorization_endpoint_in_metadata(env: AS) -> None:
    """MCP Python SDK 2.3.0 parses AS metadata with `authorization_endpoint` required, so it
    finds "no authorization server metadata" at a jwt-bearer-only AS, which RFC 8414 §2
    allows to omit it. Hence this example advertises the operator's authorization endpoint
    when configured (`AUTHORIZATION_ENDPOINT`)."""
    from mcp.shared.auth import OAuthMetadata
    from pydantic import ValidationError

    with urllib.request.urlopen(f"{env.issuer}/.well-known/oauth-authorization-server", timeout=10) as r:
        md = json.load(r)
    assert md["authorization_endpoint"] == f"{env.issuer}/authorize"
    OAuthMetadata.model_validate(md)
    del md["authorization_endpoint"]
    with pytest.raises(ValidationError):
        OAuthMetadata.model_validate(md)


def test_authlib_idjag_grant_grants_the_requested_scope_without_a_scope_claim(env: AS) -> None:
    """Authlib 1.9.10's own draft `IDJAGGrant` (not used by this example) gives an ID-JAG
    without a `scope` claim whatever scope the client requests; idjag's verifier (SPEC §5:
    the ID-JAG is the grant) grants nothing then, so the same request is `invalid_scope`."""
    from authlib.integrations.flask_oauth2 import AuthorizationServer
    from authlib.oauth2.drafts import IDJAGGrant
    from flask import Flask
    from joserfc.jwk import KeySet

    sys.path.insert(0, str(HERE))
    import server as example

    class Grant(IDJAGGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

        def get_audiences(self) -> list[str]:
            return [env.issuer]

        def resolve_issuer_key(self, issuer: str, headers: Any) -> Any:
            assert issuer == env.kit.idp_issuer
            return KeySet.import_key_set(env.kit.info["idp_jwks"])

        def authenticate_user(self, subject: str) -> str:
            return subject

        def check_jti(self, claims: Any, jti: str) -> bool:
            return True

        def check_id_jag_permission(self, client: Any, user: Any, scopes: Any) -> bool:
            return True

    app = Flask("authlib-idjag-grant")
    server = AuthorizationServer(app, query_client={"mcp-client": example.Client(**CLIENT)}.get,
                                 save_token=lambda token, request: None)
    server.register_grant(Grant)
    app.add_url_rule("/token", "token", server.create_token_response, methods=["POST"])
    basic = "Basic " + base64.b64encode(f"{form(CLIENT['client_id'])}:{form(CLIENT['client_secret'])}".encode()).decode()
    jag = mint(env)  # no scope claim
    r = app.test_client().post("/token", headers={"Authorization": basic},
                               data={"grant_type": JWT_BEARER, "assertion": jag, "scope": "mcp:admin"})
    assert r.status_code == 200 and r.get_json()["scope"] == "mcp:admin"
    status, body, _ = redeem(env, mint(env), scope="mcp:admin")
    assert (status, body["error"]) == (400, "invalid_scope")
    assert env.last_refusal().endswith("reason=scope_not_granted")
