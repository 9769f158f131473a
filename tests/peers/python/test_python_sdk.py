"""The MCP Python SDK (`mcp` 2.3.0, pinned in tests/peers/requirements.txt), unmodified, against the
testkit: `IdentityAssertionOAuthProvider` (leg 2, RFC 7523 jwt-bearer at the testkit AS, which
verifies the ID-JAG with idjag's IdJagVerifier) as an httpx2 auth on the client handed to
`streamable_http_client(http_client=...)`, and an `assertion_provider` doing leg 1 the way a user
(and the SDK's conformance fixture) does: a plain RFC 8693 token exchange with httpx2 at the
testkit IdP.

The first test is the interop cell (matrix row python-sdk, column testkit). Each other test pins
one way the SDK's requests differ from idjag's (tests/vectors/client.json, core/src/exchange.rs)
and whether the testkit AS accepts it, with the spec section that decides.

Assertions are not rewritten (PYTEST_DONT_REWRITE): the values compared here hold client
secrets and ID-JAGs, which must not appear in a failure report; messages name what differs.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthTokenError
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthToken
from mcp.shared.exceptions import MCPError

from conftest import Kit, Recorder, form

pytestmark = pytest.mark.timeout(60)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"


class MemoryStorage:
    """The SDK's `TokenStorage` protocol, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> None:
        return None

    async def set_client_info(self, client_info: Any) -> None:
        pass


def leg1(kit: Kit, idp_scope: str | None = None) -> Callable[[str, str], Awaitable[str]]:
    """The user's `assertion_provider(audience, resource)`: RFC 8693 token exchange of the user's
    ID token for an ID-JAG at the IdP, client_secret_post, as the SDK's conformance fixture does."""
    id_token = kit.fresh_id_token()

    async def provide(audience: str, resource: str) -> str:
        data = {
            "grant_type": TOKEN_EXCHANGE,
            "requested_token_type": ID_JAG,
            "audience": audience,
            "resource": resource,
            "subject_token": id_token,
            "subject_token_type": ID_TOKEN,
            "client_id": kit.idp_client["client_id"],
            "client_secret": kit.idp_client["client_secret"],
        }
        if idp_scope:
            data["scope"] = idp_scope
        async with httpx2.AsyncClient(timeout=10) as http:
            r = await http.post(kit.idp_token_endpoint, data=data)
        r.raise_for_status()
        body = r.json()
        assert body["issued_token_type"] == ID_JAG
        return str(body["access_token"])

    return provide


def provider(
    kit: Kit,
    *,
    server_url: str | None = None,
    method: Literal["client_secret_basic", "client_secret_post"] | None = None,
    scope: str | None = None,
    idp_scope: str | None = None,
    storage: MemoryStorage | None = None,
) -> IdentityAssertionOAuthProvider:
    """The provider as its docstring shows it (default auth method unless `method`)."""
    kw: dict[str, Any] = {} if method is None else {"token_endpoint_auth_method": method}
    return IdentityAssertionOAuthProvider(
        server_url=server_url or kit.mcp_url,
        storage=storage or MemoryStorage(),
        client_id=kit.as_client["client_id"],
        client_secret=kit.as_client["client_secret"],
        issuer=kit.as_issuer,
        assertion_provider=leg1(kit, idp_scope),
        scope=scope,
        **kw,
    )


@asynccontextmanager
async def connect(
    kit: Kit, auth: IdentityAssertionOAuthProvider, rec: Recorder, url: str | None = None
) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(auth=auth, timeout=30, event_hooks={"request": [rec]}) as http:
        transport = streamable_http_client(url or kit.mcp_url, http_client=http)
        async with Client(transport, mode="legacy") as client:
            yield client


async def whoami(client: Client) -> dict[str, Any]:
    r = await client.call_tool("whoami", {})
    assert r.is_error is False
    return dict(json.loads(r.content[0].text))  # type: ignore[union-attr]


def run_whoami(kit: Kit, auth: IdentityAssertionOAuthProvider, url: str | None = None) -> tuple[dict[str, Any], Recorder]:
    rec = Recorder()

    async def main() -> dict[str, Any]:
        async with connect(kit, auth, rec, url) as client:
            return await whoami(client)

    return asyncio.run(main()), rec


def as_requests(kit: Kit, rec: Recorder) -> list[httpx2.Request]:
    return rec.to(kit.as_token_endpoint)


def find_exception(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first `kind` in an exception (group) tree, following causes."""
    todo = [exc]
    while todo:
        e = todo.pop()
        if isinstance(e, kind):
            return e
        todo.extend(getattr(e, "exceptions", ()))
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)
    return None


def basic_as_idjag_sends_it(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1 / Appendix B: application/x-www-form-urlencoded, then base64 (idjag)."""
    enc = lambda s: urlencode({"x": s})[2:]  # noqa: E731
    return "Basic " + base64.b64encode(f"{enc(client_id)}:{enc(secret)}".encode()).decode()


# --- the interop cell -------------------------------------------------------------------------


def test_identity_assertion_provider_gets_a_token_and_calls_a_tool(kits: Any, matrix: Any) -> None:
    kit = kits()  # the default kit: secrets with `: + / % & =` and a space
    rec = Recorder()

    async def main() -> tuple[list[str], dict[str, Any], str]:
        async with connect(kit, provider(kit), rec) as client:
            tools = await client.list_tools()
            who = await whoami(client)
            echo = await client.call_tool("echo", {"message": "hello"})
            return [t.name for t in tools.tools], who, echo.content[0].text  # type: ignore[union-attr]

    names, who, echo = asyncio.run(main())
    assert "whoami" in names
    assert who == {"sub": "alice", "client_id": kit.as_client["client_id"], "scope": ""}, who
    assert echo == "hello"
    c = kit.counters()
    assert (c["idp_token"], c["as_token"]) == (1, 1), c
    assert kit.admin("last_rejection")["reason"] is None
    matrix()


# --- client authentication at the AS --------------------------------------------------------


def test_client_secret_post_by_default_is_accepted_with_a_reserved_character_secret(kits: Any, matrix: Any) -> None:
    kit = kits()
    who, rec = run_whoami(kit, provider(kit))
    assert who["sub"] == "alice"
    [req] = as_requests(kit, rec)
    assert "authorization" not in req.headers  # idjag: client_secret_basic (RFC 8414 default)
    p = dict(form(req))
    assert p["client_id"] == kit.as_client["client_id"]
    assert p["client_secret"] == kit.as_client["client_secret"]
    matrix()


def test_client_secret_post_when_the_as_advertises_only_basic_is_refused_with_invalid_client(kits: Any) -> None:
    kit = kits("--as-auth-methods", "client_secret_basic")
    rec = Recorder()
    # The SDK does not read token_endpoint_auth_methods_supported (idjag picks from it).

    async def main() -> None:
        async with connect(kit, provider(kit), rec) as client:
            await whoami(client)

    with pytest.raises(BaseException) as info:
        asyncio.run(main())
    err = find_exception(info.value, OAuthTokenError)
    assert err is not None, repr(info.value)
    assert "invalid_client" in str(err)
    for secret in (kit.as_client["client_secret"], kit.idp_client["client_secret"]):
        assert secret not in str(err)
    [req] = as_requests(kit, rec)
    assert "client_secret" in dict(form(req)) and "authorization" not in req.headers
    log = kit.requests("as_token")
    assert [(r["status"], r["error"]) for r in log] == [(401, "invalid_client")], log
    # No matrix line: the flow did not complete (conftest.matrix).


def test_client_secret_basic_percent_encoded_space_as_20_is_accepted(kits: Any, matrix: Any) -> None:
    kit = kits()
    who, rec = run_whoami(kit, provider(kit, method="client_secret_basic"))
    assert who["sub"] == "alice"
    [req] = as_requests(kit, rec)
    cid, secret = kit.as_client["client_id"], kit.as_client["client_secret"]
    assert " " in secret  # the difference only shows with a space
    sent = req.headers["authorization"]
    # urllib.parse.quote (RFC 3986 percent-encoding, space as %20), not the form-encoding idjag
    # uses (space as +); a form decoder reads both as the same secret.
    assert sent == "Basic " + base64.b64encode(f"{quote(cid, safe='')}:{quote(secret, safe='')}".encode()).decode()
    assert sent != basic_as_idjag_sends_it(cid, secret)
    assert "%20" in base64.b64decode(sent.split()[1]).decode()
    matrix()


def test_client_secret_basic_with_client_id_also_in_the_body_is_accepted(kits: Any, matrix: Any) -> None:
    kit = kits()
    who, rec = run_whoami(kit, provider(kit, method="client_secret_basic"))
    assert who["client_id"] == kit.as_client["client_id"]
    [req] = as_requests(kit, rec)
    p = dict(form(req))
    assert p["client_id"] == kit.as_client["client_id"]  # idjag: no client_id with Basic
    assert "client_secret" not in p
    assert req.headers["authorization"].startswith("Basic ")
    matrix()


# --- parameters -----------------------------------------------------------------------------


def test_jwt_bearer_request_without_scope_ignores_the_401_challenge_scope(kits: Any, matrix: Any) -> None:
    kit = kits()
    who, rec = run_whoami(kit, provider(kit))
    [req] = as_requests(kit, rec)
    names = [k for k, _ in form(req)]
    assert names == ["grant_type", "assertion", "client_id", "resource", "client_secret"], names
    p = dict(form(req))
    assert p["grant_type"] == JWT_BEARER
    # The challenge said scope="mcp:read mcp:write"; the SDK asks for its configured scope (none)
    # and the AS grants none (idjag asks for the challenged scope).
    assert who["scope"] == "", who
    matrix()


def test_resource_derived_from_the_server_url_without_fetching_prm(kits: Any, matrix: Any) -> None:
    kit = kits("--mcp-path", "/mcp2")
    mcp2 = kit.mcp_url.removesuffix("/mcp") + "/mcp2"
    who, rec = run_whoami(kit, provider(kit, server_url=mcp2), url=mcp2)
    assert who["sub"] == "alice"
    [req] = as_requests(kit, rec)
    assert dict(form(req))["resource"] == mcp2
    # No RFC 9728 metadata fetch: the AS is configuration (idjag follows the challenge's PRM).
    assert kit.counters()["prm"] == 0
    assert not any("oauth-protected-resource" in str(r.url) for r in rec.seen)
    matrix()


def test_configured_scope_is_sent_and_granted_when_the_id_jag_carries_it(kits: Any, matrix: Any) -> None:
    kit = kits()
    auth = provider(kit, scope="mcp:read", idp_scope="mcp:read")
    who, rec = run_whoami(kit, auth)
    [req] = as_requests(kit, rec)
    assert dict(form(req))["scope"] == "mcp:read"
    assert who["scope"] == "mcp:read"
    matrix()


# --- 401 and 403 ----------------------------------------------------------------------------


def test_step_up_on_403_is_narrowed_to_the_id_jag_scope_and_the_call_stays_forbidden(kits: Any) -> None:
    kit = kits()
    rec = Recorder()
    storage = MemoryStorage()
    # assertion_provider(audience, resource) is not told the scope: the ID-JAG the user's leg 1
    # gets has no mcp:admin, while the SDK asks the AS for the union with the 403 challenge.
    auth = provider(kit, scope="mcp:read", idp_scope="mcp:read", storage=storage)

    async def main() -> None:
        async with connect(kit, auth, rec) as client:
            await whoami(client)
            await client.call_tool("admin_reset", {})

    with pytest.raises(BaseException) as info:
        asyncio.run(main())
    # The SDK retries once with the new token, gets 403 again and hands the caller an MCPError.
    assert find_exception(info.value, MCPError) is not None, repr(info.value)
    reqs = as_requests(kit, rec)
    assert [sorted(dict(form(r)).get("scope", "").split()) for r in reqs] == [
        ["mcp:read"],
        ["mcp:admin", "mcp:read"],  # union of the configured scope and the 403 challenge's
    ]
    # The AS grants requested ∩ ID-JAG scope (EMA §7.2.1, SPEC §5 Q6) and says so in `scope`.
    log = [(r["status"], r["error"]) for r in kit.requests("as_token")]
    assert log == [(200, None), (200, None)], log
    assert storage.tokens is not None and storage.tokens.scope == "mcp:read"
    forbidden = [r for r in kit.requests("mcp") if r["status"] == 403]
    assert len(forbidden) == 2 and all(r["error"] == "insufficient_scope" for r in forbidden)
    # No matrix line: the flow did not complete (conftest.matrix).


def test_configured_scope_with_an_id_jag_without_scope_is_refused_with_invalid_scope(kits: Any) -> None:
    kit = kits()
    rec = Recorder()
    # The provider asks the AS for `scope`; the user's leg 1 (not told the scope) asks the IdP
    # for none, so the ID-JAG has no scope claim and grants nothing (idjag asks both legs for
    # the same scope).
    auth = provider(kit, scope="mcp:read")

    async def main() -> None:
        async with connect(kit, auth, rec) as client:
            await whoami(client)

    with pytest.raises(BaseException) as info:
        asyncio.run(main())
    err = find_exception(info.value, OAuthTokenError)
    assert err is not None, repr(info.value)
    assert "invalid_scope" in str(err)
    log = [(r["status"], r["error"]) for r in kit.requests("as_token")]
    assert log == [(400, "invalid_scope")], log
    assert kit.admin("last_rejection")["reason"] == "scope_not_granted"
    # No matrix line: the flow did not complete (conftest.matrix).


def test_step_up_on_403_is_accepted_when_the_id_jag_carries_every_scope(kits: Any, matrix: Any) -> None:
    kit = kits()
    rec = Recorder()
    auth = provider(kit, scope="mcp:read", idp_scope="mcp:read mcp:write mcp:admin")

    async def main() -> tuple[str, dict[str, Any]]:
        async with connect(kit, auth, rec) as client:
            r = await client.call_tool("admin_reset", {})
            return r.content[0].text, await whoami(client)  # type: ignore[union-attr]

    text, who = asyncio.run(main())
    assert text == "reset done"
    assert sorted(who["scope"].split()) == ["mcp:admin", "mcp:read"]
    c = kit.counters()
    assert (c["idp_token"], c["as_token"]) == (2, 2), c
    matrix()


def test_401_after_revocation_reruns_the_assertion_provider_and_the_grant(kits: Any, matrix: Any) -> None:
    kit = kits()

    async def main() -> str:
        async with connect(kit, provider(kit), Recorder()) as client:
            await whoami(client)
            assert kit.admin("revoke_access_tokens", {})["revoked"] >= 1
            return (await whoami(client))["sub"]

    assert asyncio.run(main()) == "alice"
    c = kit.counters()
    assert (c["idp_token"], c["as_token"]) == (2, 2)
    assert any(r["status"] == 401 and r["error"] == "invalid_token" for r in kit.requests("mcp"))
    matrix()


# --- discovery ------------------------------------------------------------------------------


def test_as_discovery_from_the_configured_issuer_falls_back_to_oidc_path_append(kits: Any, matrix: Any) -> None:
    kit = kits("--as-path", "/as", "--as-metadata", "oidc-append-only")
    who, rec = run_whoami(kit, provider(kit))
    assert who["sub"] == "alice"
    paths = [(r["path"], r["status"]) for r in kit.requests("as_metadata")]
    assert paths == [
        ("/.well-known/oauth-authorization-server/as", 404),
        ("/.well-known/openid-configuration/as", 404),
        ("/as/.well-known/openid-configuration", 200),
    ], paths
    matrix()


# --- expiry ---------------------------------------------------------------------------------


def test_expired_access_token_is_dropped_then_401_and_a_new_grant(kits: Any, matrix: Any) -> None:
    kit = kits("--as-token-ttl", "2")
    # The provider tracks expires_in (no margin): once it has passed, the request goes out
    # without a token, the MCP server answers 401 (no error code), and the SDK runs both legs
    # again. idjag renews before expiry (renewal_margin_s) and never waits for the 401.

    async def main() -> str:
        async with connect(kit, provider(kit), Recorder()) as client:
            await whoami(client)
            await asyncio.sleep(2.5)
            return (await whoami(client))["sub"]

    assert asyncio.run(main()) == "alice"
    c = kit.counters()
    assert (c["idp_token"], c["as_token"]) == (2, 2), c
    unauthorized = [(r["status"], r["error"]) for r in kit.requests("mcp") if r["status"] == 401]
    # The first 401 opens the conversation; the second is the tokenless request after expiry.
    assert unauthorized == [(401, None), (401, None)], unauthorized
    matrix()
