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
from mcp.shared.exceptions import MCPError

import idjag
import idjag.mcp
from conftest import Kit, record_matrix, start_kit
from idjag.mcp import IdjagTransport, idjag_error


@asynccontextmanager
async def connect(
    kit: Kit,
    auth: httpx2.Auth | None = None,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(auth=auth, transport=transport, timeout=30) as http:
        mcp_transport = streamable_http_client(kit.mcp_url, http_client=http)
        async with Client(mcp_transport, mode="legacy") as client:
            yield client


def via(kit: Kit, session: idjag.Session, how: str) -> Any:
    """An SDK connection authenticated by `IdjagTransport` or by `IdjagAuth`."""
    if how == "transport":
        return connect(kit, transport=idjag.mcp.IdjagTransport(session))
    return connect(kit, idjag.mcp.IdjagAuth(session))


both_adapters = pytest.mark.parametrize("how", ["transport", "auth"])


def text_of(result: Any) -> str:
    return str(result.content[0].text)


@both_adapters
def test_list_tools_and_call_one(kit: Kit, how: str) -> None:
    session = idjag.Session(kit.config())

    async def main() -> tuple[list[str], dict[str, Any], str]:
        async with via(kit, session, how) as client:
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
    record_matrix("python", "testkit", f"bindings-python/tests/test_mcp.py::test_list_tools_and_call_one[{how}]")


@both_adapters
def test_recovery_on_401_and_step_up_on_403(kit: Kit, how: str) -> None:
    session = idjag.Session(kit.config())

    async def main() -> tuple[dict[str, Any], str, dict[str, Any]]:
        async with via(kit, session, how) as client:
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


@both_adapters
def test_back_to_back_revocations(kit: Kit, how: str) -> None:
    """The MCP server revokes every token before each call: each 401 is answered with a new
    token (the adapter names the token it sent), in the async and the sync flow."""
    session = idjag.Session(kit.config())

    async def main() -> list[str]:
        async with via(kit, session, how) as client:
            await client.list_tools()
            out = []
            for i in range(3):
                kit.revoke_access_tokens()
                out.append(text_of(await client.call_tool("echo", {"message": str(i)})))
            return out

    assert asyncio.run(main()) == ["0", "1", "2"]
    assert kit.counters()["as_token"] == 4

    with httpx2.Client(auth=idjag.mcp.IdjagAuth(session)) as http:
        for i in range(3):
            kit.revoke_access_tokens()
            r = http.post(
                kit.mcp_url,
                json={"jsonrpc": "2.0", "id": i, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"}}},
                headers={"accept": "application/json, text/event-stream"},
            )
            assert r.status_code == 200, (i, r.status_code)
    assert kit.counters()["as_token"] == 7


def expired_id_token(kit: Kit) -> str:
    return kit.id_token(exp=int(time.time()) - 60, iat=int(time.time()) - 600)


def test_a_failed_token_fails_only_that_request(kit: Kit) -> None:
    """IdjagTransport: when no token can be had before a request is sent, that one call fails
    with an MCPError whose idjag error `idjag_error` returns; nothing is sent to the MCP
    server, the connection lives on, and once the cause is fixed the next call works. (This
    is the snippet of the `idjag.mcp` docs and docs/GUIDE.md.)"""
    session = idjag.Session(kit.config())

    def sign_the_user_in_again() -> str:
        return kit.id_token("bob")

    async def main() -> tuple[Any, Any]:
        async with httpx2.AsyncClient(transport=IdjagTransport(session)) as http:
            async with Client(streamable_http_client(kit.mcp_url, http_client=http)) as mcp:
                await mcp.list_tools()
                # The user's work identity ends (an expired ID token) and the cached token is
                # dropped (the core's answer to a 401, which fails here too).
                session.set_subject_token(expired_id_token(kit))
                sent = session.access_token(kit.mcp_url)
                with pytest.raises(idjag.ReauthenticationRequired):
                    session.handle_challenge(kit.mcp_url, 401, None, sent.access_token)
                assert session.cached_token(kit.mcp_url) is None
                before = kit.counters()["mcp"]
                with pytest.raises(MCPError) as failed:
                    await mcp.call_tool("whoami", {})
                assert kit.counters()["mcp"] == before  # the request was not sent
                # -- the documented snippet (test_docs_show_the_tested_snippet) --
                try:
                    result = await mcp.call_tool("whoami", {})
                except MCPError as e:
                    if not isinstance(idjag_error(e), idjag.ReauthenticationRequired):
                        raise
                    session.set_subject_token(sign_the_user_in_again())
                    result = await mcp.call_tool("whoami", {})  # same connection
                # --
                tools = await mcp.list_tools()
                return failed.value, (result, tools)

    error, (result, tools) = asyncio.run(main())
    err = idjag_error(error)
    assert isinstance(err, idjag.ReauthenticationRequired), error
    assert err.action == "reauthenticate" and err.__traceback__ is None
    assert error.message.startswith("idjag: ") and str(err) in error.message
    assert error.data["idjag"]["code"] == "reauthentication_required"
    assert error.data["idjag"]["step"] == "idp_exchange"
    assert json.loads(text_of(result))["sub"] == "bob"
    assert "whoami" in {t.name for t in tools.tools}
    for secret in kit.secrets():
        assert secret not in json.dumps(error.data) + error.message


def test_docs_show_the_tested_snippet() -> None:
    """The error-handling snippet in the docs is the one test_a_failed_token_fails_only_that_
    request runs."""
    import textwrap
    from pathlib import Path

    here = Path(__file__).read_text()
    begin = here.index("# -- the documented snippet")
    begin = here.index("\n", begin) + 1
    snippet = textwrap.dedent(here[begin:here.index("# --\n", begin)]).strip()
    assert snippet.startswith("try:") and "idjag_error(e)" in snippet
    root = Path(__file__).resolve().parents[2]
    assert idjag.mcp.__doc__ is not None
    for name, text in [
        ("docs/GUIDE.md", (root / "docs" / "GUIDE.md").read_text()),
        ("bindings-python/README.md", (root / "bindings-python" / "README.md").read_text()),
        ("idjag.mcp", idjag.mcp.__doc__),
    ]:
        assert snippet in text or textwrap.indent(snippet, " " * 7) in text, name


def test_a_challenge_that_cannot_be_answered_fails_only_that_request(kit: Kit) -> None:
    """IdjagTransport: the MCP server rejects the token (401) and the core cannot get another
    one: the call fails with the idjag error, the 401 is not sent again, and the connection
    recovers once the subject token is renewed."""
    session = idjag.Session(kit.config())

    async def main() -> tuple[MCPError, str]:
        async with connect(kit, transport=IdjagTransport(session)) as client:
            await client.list_tools()
            kit.revoke_access_tokens()
            session.set_subject_token(expired_id_token(kit))
            before = kit.counters()["mcp"]
            with pytest.raises(MCPError) as failed:
                await client.call_tool("echo", {"message": "lost"})
            assert kit.counters()["mcp"] == before + 1  # the rejected request, not resent
            session.set_subject_token(kit.id_token())
            return failed.value, text_of(await client.call_tool("echo", {"message": "back"}))

    error, echo = asyncio.run(main())
    assert isinstance(idjag_error(error), idjag.ReauthenticationRequired), error
    assert error.data["idjag"]["code"] == "reauthentication_required"
    assert echo == "back"


def test_a_failure_while_connecting_reaches_the_caller(kit: Kit) -> None:
    """IdjagTransport: the very first request (initialize) cannot be authorized."""
    session = idjag.Session(kit.config(subject_token=expired_id_token(kit)))

    async def main() -> None:
        async with connect(kit, transport=IdjagTransport(session)) as client:
            await client.list_tools()

    with pytest.raises(BaseException) as info:
        asyncio.run(main())
    assert isinstance(idjag_error(info.value), idjag.ReauthenticationRequired), info.value
    session.set_subject_token(kit.id_token())
    asyncio.run(main())


def test_idjag_auth_failure_ends_the_sdk_connection_not_the_session(kit: Kit) -> None:
    """IdjagAuth is an httpx2.Auth: its error escapes the SDK's task group, as the errors of
    the SDK's own OAuth providers do, and ends the connection. The caller finds the idjag
    error in the exception group; the session stays healthy for the next connection."""
    session = idjag.Session(kit.config())

    async def main(fail: bool) -> str:
        async with connect(kit, idjag.mcp.IdjagAuth(session)) as client:
            await client.list_tools()
            if fail:
                session.invalidate(kit.mcp_url)
                session.set_subject_token(expired_id_token(kit))
            return text_of(await client.call_tool("echo", {"message": "hi"}))

    with pytest.raises(BaseException) as info:
        asyncio.run(main(fail=True))
    assert isinstance(getattr(info.value, "exceptions", None), tuple), info.value  # a group
    assert isinstance(idjag_error(info.value), idjag.ReauthenticationRequired), info.value
    session.set_subject_token(kit.id_token())
    assert asyncio.run(main(fail=False)) == "hi"


def test_idjag_error_only_returns_errors_raised_here(kit: Kit) -> None:
    """A server that imitates the error data of a failed request gets no idjag error back,
    and the response IdjagTransport makes up carries its exception."""
    forged = MCPError(-32603, "idjag: nope", {"idjag": {"code": "internal", "ref": "0" * 32}})
    assert idjag_error(forged) is None
    assert idjag_error(MCPError(-32603, "x", "not a mapping")) is None
    assert idjag_error(None) is None
    assert idjag_error(RuntimeError("unrelated")) is None
    inner = idjag.ConfigurationError("bad")
    try:
        try:
            raise inner
        except idjag.IdjagError as e:
            raise RuntimeError("wrapped") from e
    except RuntimeError as wrapped:
        assert idjag_error(wrapped) is inner

    session = idjag.Session(kit.config(subject_token=expired_id_token(kit)))

    async def main() -> httpx2.Response:
        async with httpx2.AsyncClient(transport=IdjagTransport(session)) as http:
            r: httpx2.Response = await http.post(
                kit.mcp_url, json={"jsonrpc": "2.0", "id": "q-7", "method": "ping"}
            )
            return r

    r = asyncio.run(main())
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["id"] == "q-7" and body["error"]["code"] == -32603
    assert isinstance(idjag_error(r), idjag.ReauthenticationRequired)
    assert idjag_error(MCPError(-32603, "copy", body["error"]["data"])) is idjag_error(r)


class InFlight(httpx2.AsyncBaseTransport):
    """The plain HTTP transport under the adapter, counting the POSTs on the wire at once."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self.now = 0
        self.max = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "POST":
            return await self._inner.handle_async_request(request)
        self.now += 1
        self.max = max(self.max, self.now)
        try:
            return await self._inner.handle_async_request(request)
        finally:
            self.now -= 1

    async def aclose(self) -> None:
        await self._inner.aclose()


@both_adapters
def test_concurrent_requests_are_not_serialised(kit: Kit, how: str) -> None:
    """Three calls in flight at once reach the wire together: measured under the adapter (not
    by wall time, which a loaded machine or the server's connection queueing would blur)."""
    session = idjag.Session(kit.config())
    wire = InFlight()
    if how == "transport":
        conn = connect(kit, transport=idjag.mcp.IdjagTransport(session, transport=wire))
    else:
        conn = connect(kit, idjag.mcp.IdjagAuth(session), transport=wire)

    async def main() -> list[str]:
        async with conn as client:
            await client.list_tools()
            kit.fault("mcp", {"type": "delay", "ms": 400})
            wire.max = 0

            async def call(i: int) -> str:
                await asyncio.sleep(0.03 * i)  # see test_threads.run_parallel on the stagger
                return text_of(await client.call_tool("echo", {"message": str(i)}))

            return await asyncio.gather(*(call(i) for i in range(3)))

    assert asyncio.run(main()) == ["0", "1", "2"]
    # Serialised, each POST would wait for the previous 400 ms answer: at most one at a time.
    assert wire.max == 3, wire.max


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


def test_assertion_provider_leaves_the_scope_to_the_core(kit: Kit) -> None:
    """Leg 1's scope is the core's decision: the provider passes `None` unless given an
    explicit `scope`, whatever the configuration says (it used to read `config["scope"]`)."""
    calls: list[str | None] = []

    class Recording(idjag.Session):
        __slots__ = ()

        def request_id_jag(self, audience: str, resource: str, scope: str | None = None) -> idjag.IdJag:
            calls.append(scope)
            return super().request_id_jag(audience, resource, scope)

    cfg = kit.config(scope="mcp:read")
    session = Recording(cfg)
    asyncio.run(idjag.mcp.assertion_provider(cfg, session=session)(kit.as_issuer, kit.mcp_url))
    explicit = idjag.mcp.assertion_provider(cfg, session=session, scope="mcp:read mcp:admin")
    jag = asyncio.run(explicit(kit.as_issuer, kit.mcp_url))
    assert calls == [None, "mcp:read mcp:admin"]
    assert set(str(idjag.inspect(jag).claims["scope"]).split()) == {"mcp:read", "mcp:admin"}


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
    for flow in ("sync", "async", "transport"):
        before = kit.counters()["mcp"]
        auth = idjag.mcp.IdjagAuth(session)
        if flow == "sync":
            with httpx2.Client(auth=auth) as http:
                r = http.post(kit.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        else:
            def client() -> httpx2.AsyncClient:
                if flow == "transport":
                    return httpx2.AsyncClient(transport=IdjagTransport(session))
                return httpx2.AsyncClient(auth=auth)

            async def go() -> httpx2.Response:
                async with client() as http:
                    resp: httpx2.Response = await http.post(
                        kit.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}
                    )
                    return resp
            r = asyncio.run(go())
        assert r.status_code == 403, flow
        assert "idjag_error" not in r.extensions, flow  # the server's own answer
        assert kit.counters()["mcp"] - before == 1, f"{flow}: no retry"


def test_session_request_id_jag_is_leg_one_alone(kit: Kit) -> None:
    session = idjag.Session(kit.config())
    jag = session.request_id_jag(kit.as_issuer, kit.mcp_url, "mcp:read")
    claims = idjag.inspect(jag.assertion).claims
    assert claims["aud"] == kit.as_issuer and claims["resource"] == kit.mcp_url
    assert "<redacted>" in repr(jag) and jag.assertion not in repr(jag)
    jag2 = asyncio.run(session.request_id_jag_async(kit.as_issuer, kit.mcp_url))
    assert jag2.assertion != jag.assertion


@both_adapters
def test_renewal_during_one_sdk_connection(how: str) -> None:
    """A 6 s access token (`serve --as-token-ttl 6`) is renewed at half-life inside one
    SDK connection: the conversation goes on, with exactly one more exchange (leg 1 + leg 2).
    (Expiry has whole-second precision, so half-life falls 2–3 s after minting.)"""
    with start_kit("--as-token-ttl", "6") as kit:
        session = idjag.Session(kit.config())

        async def main() -> list[dict[str, Any]]:
            seen: list[dict[str, Any]] = []
            async with via(kit, session, how) as client:
                seen.append(json.loads(text_of(await client.call_tool("whoami", {}))))
                first = kit.counters()
                assert (first["idp_token"], first["as_token"]) == (1, 1)
                await asyncio.sleep(3.5)  # past half of the 6 s lifetime
                seen.append(json.loads(text_of(await client.call_tool("whoami", {}))))
            return seen

        who = asyncio.run(main())
        assert [w["sub"] for w in who] == ["alice", "alice"]
        c = kit.counters()
        assert (c["idp_token"], c["as_token"]) == (2, 2), c
