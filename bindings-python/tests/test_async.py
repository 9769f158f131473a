"""Async variants: they never block the event loop, coalesce concurrent renewals, and have the
documented cancellation semantics."""

from __future__ import annotations

import asyncio
import time

import pytest

import idjag
from conftest import Kit


def test_hundred_tasks_one_exchange(kit: Kit) -> None:
    kit.fault("idp_token", {"type": "delay", "ms": 300})
    s = idjag.Session(kit.config())

    async def main() -> tuple[set[str], int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.005)

        t = asyncio.create_task(ticker())
        tokens = await asyncio.gather(*(s.access_token_async(kit.mcp_url) for _ in range(100)))
        done.set()
        await t
        return {tok.access_token for tok in tokens}, ticks

    tokens, ticks = asyncio.run(main())
    assert len(tokens) == 1
    c = kit.counters()
    assert (c["idp_token"], c["as_token"], c["prm"]) == (1, 1, 1)
    assert ticks >= 20, ticks  # the loop kept running during the 300 ms exchange


def test_cached_token_needs_no_thread(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    s = idjag.Session(kit.config())
    s.access_token(kit.mcp_url)

    def no_threads(*_: object, **__: object) -> None:
        raise AssertionError("a cached token must not go through a thread")

    monkeypatch.setattr(asyncio, "to_thread", no_threads)
    tok = asyncio.run(s.access_token_async(kit.mcp_url))
    assert tok.token_type == "Bearer"


def test_cancellation_abandons_the_wait_not_the_exchange(kit: Kit) -> None:
    kit.fault("as_token", {"type": "delay", "ms": 1500})
    s = idjag.Session(kit.config())

    async def main() -> float:
        task = asyncio.create_task(s.access_token_async(kit.mcp_url))
        await asyncio.sleep(0.1)
        start = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.perf_counter() - start

    cancel_latency = asyncio.run(main())
    # The awaiting task ends at once, not when the answer comes 1.4 s later (the margin is
    # for a loaded machine).
    assert cancel_latency < 0.7, cancel_latency
    # The exchange in flight completed in its worker thread and its token is cached.
    deadline = time.time() + 5
    while s.cached_token(kit.mcp_url) is None and time.time() < deadline:
        time.sleep(0.05)
    assert s.cached_token(kit.mcp_url) is not None
    assert kit.counters()["as_token"] == 1


def test_async_variants(kit: Kit) -> None:
    s = idjag.Session(kit.config())
    client = idjag.Client()

    async def main() -> None:
        d = await s.discover_async(kit.mcp_url)
        assert d.authorization_server == kit.as_issuer
        t = await s.access_token_async(kit.mcp_url)
        t2 = await s.handle_challenge_async(kit.mcp_url, 401, 'Bearer error="invalid_token"')
        assert t2.access_token != t.access_token
        jag = await idjag.request_id_jag_async(
            kit.idp_token_endpoint, kit.as_issuer, kit.id_token(), kit.idp_client, resource=kit.mcp_url
        )
        at = await idjag.redeem_id_jag_async(
            kit.as_token_endpoint, jag.assertion, kit.as_client, resource=kit.mcp_url
        )
        assert at.token_type == "Bearer"
        jag2 = await client.request_id_jag_async(
            kit.idp_token_endpoint, kit.as_issuer, kit.id_token(), kit.idp_client, resource=kit.mcp_url
        )
        at2 = await client.redeem_id_jag_async(kit.as_token_endpoint, jag2.assertion, kit.as_client)
        assert at2.access_token != at.access_token
        with pytest.raises(idjag.OAuthServerError):
            await client.redeem_id_jag_async(kit.as_token_endpoint, jag2.assertion, kit.as_client)

    asyncio.run(main())


def test_errors_propagate_through_async(kit: Kit) -> None:
    s = idjag.Session(kit.config(subject_token=kit.id_token(exp=int(time.time()) - 100, iat=int(time.time()) - 500)))
    with pytest.raises(idjag.ReauthenticationRequired):
        asyncio.run(s.access_token_async(kit.mcp_url))
