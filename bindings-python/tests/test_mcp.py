"""The real `mcp` SDK (pinned by scripts/test.sh) against the testkit's MCP server, through
`idjag.mcp`: the httpx2 auth object and the `assertion_provider` for the SDK's own
`IdentityAssertionOAuthProvider`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

import idjag
import idjag.mcp
from conftest import Kit


@asynccontextmanager
async def connect(kit: Kit, auth: httpx2.Auth) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        transport = streamable_http_client(kit.mcp_url, http_client=http)
        async with Client(transport, mode="legacy") as client:
            yield client


def text_of(result: Any) -> str:
    return str(result.content[0].text)


def test_list_tools_and_call_one(kit: Kit) -> None:
    session = idjag.Session(kit.config())

    async def main() -> tuple[list[str], dict[str, Any], str]:
        async with connect(kit, idjag.mcp.IdjagAuth(session)) as client:
            tools = await client.list_tools()
            who = await client.call_tool("whoami", {})
            echo = await client.call_tool("echo", {"message": "hello"})
            return [t.name for t in tools.tools], json.loads(text_of(who)), text_of(echo)

    names, who, echo = asyncio.run(main())
    assert {"whoami", "echo", "admin_reset"} <= set(names)
    assert who["sub"] == "alice" and who["client_id"] == kit.as_client["client_id"]
    assert echo == "hello"
    c = kit.counters()
    assert (c["idp_token"], c["as_token"]) == (1, 1)  # one exchange for the whole conversation


def test_recovery_on_401_and_step_up_on_403(kit: Kit) -> None:
    session = idjag.Session(kit.config())

    async def main() -> tuple[dict[str, Any], str, dict[str, Any]]:
        async with connect(kit, idjag.mcp.IdjagAuth(session)) as client:
            await client.list_tools()
            # The server's clock jumps past every token's expiry: the next call gets a 401,
            # answered by one re-exchange and a retry.
            kit.admin("clock", {"offset_secs": 400})
            who = json.loads(text_of(await client.call_tool("whoami", {})))
            # admin_reset needs mcp:admin: 403 insufficient_scope -> step-up -> retry.
            reset = text_of(await client.call_tool("admin_reset", {}))
            who2 = json.loads(text_of(await client.call_tool("whoami", {})))
            return who, reset, who2

    who, reset, who2 = asyncio.run(main())
    assert who["sub"] == "alice" and "mcp:admin" not in who["scope"].split()
    assert reset == "reset done"
    assert "mcp:admin" in who2["scope"].split()
    assert kit.counters()["as_token"] == 3  # initial, after the 401, step-up


def test_reauthentication_required_reaches_the_caller(kit: Kit) -> None:
    expired = kit.id_token(exp=int(time.time()) - 60, iat=int(time.time()) - 600)
    session = idjag.Session(kit.config(subject_token=expired))

    async def main() -> None:
        async with connect(kit, idjag.mcp.IdjagAuth(session)) as client:
            await client.list_tools()

    with pytest.raises(BaseException) as info:
        asyncio.run(main())
    found: list[BaseException] = []

    def walk(e: BaseException) -> None:
        found.append(e)
        for sub in getattr(e, "exceptions", ()):
            walk(sub)
        if e.__cause__ is not None:
            walk(e.__cause__)

    walk(info.value)
    assert any(isinstance(e, idjag.ReauthenticationRequired) for e in found), found


def test_concurrent_requests_are_not_serialised(kit: Kit) -> None:
    session = idjag.Session(kit.config())
    delay = 0.4

    async def main() -> float:
        async with connect(kit, idjag.mcp.IdjagAuth(session)) as client:
            await client.list_tools()
            kit.fault("mcp", {"type": "delay", "ms": int(delay * 1000)})

            async def call(i: int) -> str:
                await asyncio.sleep(0.03 * i)  # see test_threads.timed_parallel on the stagger
                return text_of(await client.call_tool("echo", {"message": str(i)}))

            start = time.perf_counter()
            got = await asyncio.gather(*(call(i) for i in range(3)))
            elapsed = time.perf_counter() - start
            assert got == ["0", "1", "2"]
            return elapsed

    elapsed = asyncio.run(main())
    assert elapsed < 2 * delay, elapsed  # three serialised calls would take 3 * delay


def test_sync_httpx2_client(kit: Kit) -> None:
    session = idjag.Session(kit.config())
    with httpx2.Client(auth=idjag.mcp.IdjagAuth(session, kit.mcp_url)) as http:
        r = http.post(
            kit.mcp_url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            },
            headers={"accept": "application/json, text/event-stream"},
        )
        assert r.status_code == 200, r.text
        kit.admin("clock", {"offset_secs": 400})  # force a 401 + retry
        r2 = http.post(
            kit.mcp_url,
            json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
            headers={"accept": "application/json", "mcp-session-id": r.headers["mcp-session-id"]},
        )
        assert r2.status_code == 200, r2.text
    assert kit.counters()["as_token"] == 2


def test_server_url_is_the_request_url_without_query(kit: Kit) -> None:
    session = idjag.Session(kit.config())
    with httpx2.Client(auth=idjag.mcp.IdjagAuth(session)) as http:
        r = http.post(
            kit.mcp_url + "?trace=1#frag",
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
            headers={"accept": "application/json"},
        )
        assert r.status_code == 200, r.text
    assert session.cached_token(kit.mcp_url) is not None
    assert idjag.mcp.IdjagAuth(session).session is session


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def test_assertion_provider_for_the_sdk_provider(kit: Kit) -> None:
    provider = idjag.mcp.assertion_provider(kit.config())
    assert "<redacted>" in repr(provider)
    for secret in kit.secrets():
        assert secret not in repr(provider)
    sdk_auth = IdentityAssertionOAuthProvider(
        server_url=kit.mcp_url,
        storage=MemoryStorage(),
        client_id=kit.as_client["client_id"],
        client_secret=kit.as_client["client_secret"],
        issuer=kit.as_issuer,
        assertion_provider=provider,
        token_endpoint_auth_method="client_secret_basic",
    )

    async def main() -> dict[str, Any]:
        async with connect(kit, sdk_auth) as client:
            await client.list_tools()
            return dict(json.loads(text_of(await client.call_tool("whoami", {}))))

    who = asyncio.run(main())
    assert who["sub"] == "alice"
    c = kit.counters()
    assert (c["idp_token"], c["as_token"]) == (1, 1)


def test_assertion_provider_with_token_endpoint_and_relogin(kit: Kit) -> None:
    cfg = kit.config()
    del cfg["subject_token"]
    cfg["idp"] = {**cfg["idp"], "token_endpoint": kit.idp_token_endpoint}
    del cfg["idp"]["issuer"]
    provider = idjag.mcp.IdjagAssertionProvider(json.dumps(cfg))
    with pytest.raises(idjag.ReauthenticationRequired):
        asyncio.run(provider(kit.as_issuer, kit.mcp_url))
    provider.set_subject_token(kit.id_token("frank"))
    jag = asyncio.run(provider(kit.as_issuer, kit.mcp_url))
    claims = idjag.inspect(jag).claims
    assert claims["sub"] == "frank" and claims["aud"] == kit.as_issuer and claims["resource"] == kit.mcp_url
    with pytest.raises(idjag.ConfigurationError):
        idjag.mcp.IdjagAssertionProvider({"idp": {"client_id": "x"}})


def test_plain_403_is_the_cores_call_and_is_returned_as_is(kit: Kit) -> None:
    """A 403 that is not a scope challenge: the adapter asks the core, which says "denied",
    and the 403 response reaches the caller unchanged (no retry, no exception)."""
    session = idjag.Session(kit.config())
    session.access_token(kit.mcp_url)
    kit.fault(
        "mcp",
        {"type": "status", "status": 403, "body": "{\"error\":\"forbidden\"}",
         "headers": [["WWW-Authenticate", "Bearer error=\"access_denied\""]]},
    )
    for flow in ("sync", "async"):
        before = kit.counters()["mcp"]
        auth = idjag.mcp.IdjagAuth(session)
        if flow == "sync":
            with httpx2.Client(auth=auth) as http:
                r = http.post(kit.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        else:
            async def go() -> httpx2.Response:
                async with httpx2.AsyncClient(auth=auth) as http:
                    resp: httpx2.Response = await http.post(
                        kit.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}
                    )
                    return resp
            r = asyncio.run(go())
        assert r.status_code == 403, flow
        assert kit.counters()["mcp"] - before == 1, f"{flow}: no retry"


def test_session_request_id_jag_is_leg_one_alone(kit: Kit) -> None:
    session = idjag.Session(kit.config())
    jag = session.request_id_jag(kit.as_issuer, kit.mcp_url, "mcp:read")
    claims = idjag.inspect(jag.assertion).claims
    assert claims["aud"] == kit.as_issuer and claims["resource"] == kit.mcp_url
    assert "<redacted>" in repr(jag) and jag.assertion not in repr(jag)
    jag2 = asyncio.run(session.request_id_jag_async(kit.as_issuer, kit.mcp_url))
    assert jag2.assertion != jag.assertion
