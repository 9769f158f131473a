"""`idjag.Session` against the testkit over loopback: every method, events, logging."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

import idjag
from conftest import Kit


def call_tool(kit: Kit, token: str, name: str) -> tuple[int, dict[str, str]]:
    """POSTs a `tools/call` to the MCP server; returns (status, headers)."""
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": {}}}
    ).encode()
    req = urllib.request.Request(
        kit.mcp_url,
        data=body,
        method="POST",
        headers={
            "authorization": f"Bearer {token}",
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def test_cold_warm_hot(kit: Kit) -> None:
    s = idjag.Session(kit.config())
    t = s.access_token(kit.mcp_url)
    assert t.token_type == "Bearer"
    assert t.resource == kit.mcp_url
    assert t.authorization_server == kit.as_issuer
    assert t.authorization == f"Bearer {t.access_token}"
    assert t.expires_at > time.time()
    assert t.scope is not None and "mcp:read" in t.scope
    claims = t.id_jag_claims
    assert claims is not None and claims["sub"] == "alice" and claims["aud"] == kit.as_issuer
    c = kit.counters()
    assert (c["idp_token"], c["as_token"]) == (1, 1)
    # Hot path: no I/O at all.
    for _ in range(50):
        assert s.access_token(kit.mcp_url).access_token == t.access_token
    assert kit.counters() == c
    status, _ = call_tool(kit, t.access_token, "whoami")
    assert status == 200


def test_warm_renewal_is_two_requests(kit: Kit) -> None:
    kit.fault("as_token", {"type": "patch", "set": {"expires_in": 0}})  # always due for renewal
    s = idjag.Session(kit.config())
    s.access_token(kit.mcp_url)
    before = kit.counters()
    s.access_token(kit.mcp_url)
    after = kit.counters()
    diff = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    assert diff == {"idp_token": 1, "as_token": 1}


def test_cached_token_is_a_no_io_peek(kit: Kit) -> None:
    s = idjag.Session(kit.config())
    assert s.cached_token(kit.mcp_url) is None
    t = s.access_token(kit.mcp_url)
    peek = s.cached_token(kit.mcp_url)
    assert peek is not None and peek.access_token == t.access_token
    s.invalidate(kit.mcp_url)
    assert s.cached_token(kit.mcp_url) is None
    kit.fault("as_token", {"type": "patch", "set": {"expires_in": 0}})
    stale = idjag.Session(kit.config())
    stale.access_token(kit.mcp_url)
    assert stale.cached_token(kit.mcp_url) is None  # renewal due: a call would do I/O


def test_discover(kit: Kit) -> None:
    s = idjag.Session(kit.config())
    d = s.discover(kit.mcp_url)
    assert d.server_url == kit.mcp_url
    assert d.resource == kit.mcp_url
    assert d.authorization_server == kit.as_issuer
    assert d.token_endpoint == kit.as_token_endpoint
    assert d.supports_enterprise_managed_authorization
    assert d.resource_metadata["authorization_servers"] == [kit.as_issuer]
    assert d.authorization_server_metadata["issuer"] == kit.as_issuer
    assert d.default_scope is not None
    assert "Discovery(" in repr(d)
    n = kit.counters()["prm"]
    s.discover(kit.mcp_url)
    assert kit.counters()["prm"] == n  # cached


def test_invalidate_forces_rediscovery(kit: Kit) -> None:
    s = idjag.Session(kit.config())
    t1 = s.access_token(kit.mcp_url)
    s.invalidate(kit.mcp_url)
    t2 = s.access_token(kit.mcp_url)
    assert t1.access_token != t2.access_token
    assert kit.counters()["as_token"] == 2


def test_handle_challenge_401_reexchanges(kit: Kit) -> None:
    s = idjag.Session(kit.config())
    t1 = s.access_token(kit.mcp_url)
    status, headers = call_tool(kit, "not-a-valid-token", "whoami")
    assert status == 401
    www = next(v for k, v in headers.items() if k.lower() == "www-authenticate")
    t2 = s.handle_challenge(kit.mcp_url, 401, www)
    assert t2.access_token != t1.access_token
    assert call_tool(kit, t2.access_token, "whoami")[0] == 200
    assert s.cached_token(kit.mcp_url) is not None


def test_back_to_back_revocations_each_get_a_fresh_token(kit: Kit) -> None:
    """The MCP server revokes every token (a key rotation, a security event) twice in a row:
    each 401 names the rejected token, so each gets a new one instead of the one just revoked;
    a late 401 against an older token gets the current one without an exchange."""
    s = idjag.Session(kit.config())
    sent = s.access_token(kit.mcp_url)
    for round in range(3):
        kit.revoke_access_tokens()
        status, headers = call_tool(kit, sent.access_token, "whoami")
        assert status == 401, round
        www = next(v for k, v in headers.items() if k.lower() == "www-authenticate")
        fresh = s.handle_challenge(kit.mcp_url, 401, www, sent.access_token)
        assert fresh.access_token != sent.access_token, round
        assert call_tool(kit, fresh.access_token, "whoami")[0] == 200, round
        before = kit.counters()["as_token"]
        late = s.handle_challenge(kit.mcp_url, 401, www, sent.authorization)
        assert late.access_token == fresh.access_token, round
        assert kit.counters()["as_token"] == before, round
        sent = s.access_token(kit.mcp_url)  # what the next request carries
        assert sent.access_token == fresh.access_token
    assert kit.counters()["as_token"] == 4


def test_handle_challenge_403_steps_up_scope(kit: Kit) -> None:
    s = idjag.Session(kit.config())
    t = s.access_token(kit.mcp_url)
    assert t.scope is not None and "mcp:admin" not in t.scope
    status, headers = call_tool(kit, t.access_token, "admin_reset")
    assert status == 403
    www = next(v for k, v in headers.items() if k.lower() == "www-authenticate")
    t2 = s.handle_challenge(kit.mcp_url, 403, www)
    assert t2.scope is not None and "mcp:admin" in t2.scope.split()
    assert call_tool(kit, t2.access_token, "admin_reset")[0] == 200
    # The stepped-up token is what later calls get.
    assert s.access_token(kit.mcp_url).access_token == t2.access_token


def test_handle_challenge_rejects_other_statuses(kit: Kit) -> None:
    s = idjag.Session(kit.config())
    with pytest.raises(idjag.InvalidArgumentError) as e:
        s.handle_challenge(kit.mcp_url, 500, None)
    assert e.value.code == "invalid_argument"
    with pytest.raises(idjag.IdjagError) as e2:
        s.handle_challenge(kit.mcp_url, 403, 'Bearer error="access_denied"')
    assert e2.value.action == "denied"


def test_set_subject_token_after_reauthentication(kit: Kit) -> None:
    expired = kit.id_token(exp=int(time.time()) - 600, iat=int(time.time()) - 4000)
    s = idjag.Session(kit.config(subject_token=expired))
    with pytest.raises(idjag.ReauthenticationRequired) as e:
        s.access_token(kit.mcp_url)
    assert e.value.code == "reauthentication_required"
    assert e.value.action == "reauthenticate"
    s.set_subject_token(kit.id_token("bob"))
    t = s.access_token(kit.mcp_url)
    assert t.id_jag_claims is not None and t.id_jag_claims["sub"] == "bob"


def test_subject_token_set_later_and_refresh_token(kit: Kit) -> None:
    cfg = kit.config()
    del cfg["subject_token"]
    s = idjag.Session(cfg)
    with pytest.raises(idjag.ReauthenticationRequired):
        s.access_token(kit.mcp_url)
    rt = kit.admin("refresh_token", {"user": "carol"})["refresh_token"]
    expired = kit.id_token("carol", exp=int(time.time()) - 600, iat=int(time.time()) - 4000)
    s.set_subject_token(expired, "id_token", rt)
    t = s.access_token(kit.mcp_url)  # the expired ID token is renewed with the refresh token
    assert t.id_jag_claims is not None and t.id_jag_claims["sub"] == "carol"


def test_saml_subject(kit: Kit) -> None:
    saml = kit.admin("saml_assertion", {"user": "dave"})["assertion"]
    s = idjag.Session(kit.config(subject_token=saml, subject_token_type="saml2"))
    t = s.access_token(kit.mcp_url)
    assert t.id_jag_claims is not None and t.id_jag_claims["sub"] == "dave"
    with pytest.raises(idjag.InvalidArgumentError):
        s.set_subject_token(saml, "jwt")  # type: ignore[arg-type]


def test_config_as_json_text(kit: Kit) -> None:
    s = idjag.Session(json.dumps(kit.config()))
    assert s.access_token(kit.mcp_url).token_type == "Bearer"


def test_events_callback(kit: Kit) -> None:
    events: list[idjag.HttpEvent] = []
    s = idjag.Session(kit.config(), on_event=events.append)
    s.access_token(kit.mcp_url)
    steps = [e.step for e in events]
    assert "discovery" in steps and "idp_exchange" in steps and "as_grant" in steps
    grant = next(e for e in events if e.step == "as_grant")
    assert grant.method == "POST"
    assert grant.url == kit.as_token_endpoint
    assert grant.status == 200
    assert grant.duration_ms > 0 and grant.bytes > 0 and grant.error is None
    n = len(events)
    s.access_token(kit.mcp_url)
    assert len(events) == n  # hot path: no event


def test_event_callback_may_reenter_the_session_and_errors_are_unraisable(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    s: idjag.Session
    seen: list[str] = []
    unraisable: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(u.exc_value))

    def cb(ev: idjag.HttpEvent) -> None:
        seen.append(ev.step)
        s.cached_token(kit.mcp_url)  # re-entrancy is safe (delivered outside idjag locks)
        raise RuntimeError("callback bug")

    s = idjag.Session(kit.config(), on_event=cb)
    s.access_token(kit.mcp_url)  # the callback's exceptions do not fail the call
    assert "as_grant" in seen
    assert unraisable and all(isinstance(e, RuntimeError) for e in unraisable)
    with pytest.raises(TypeError):
        idjag.Session(kit.config(), on_event=42)  # type: ignore[arg-type]


def test_event_callback_may_call_every_session_method_for_the_same_server(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events arrive on the calling thread with no idjag lock held: a callback that calls
    access_token / cached_token / handle_challenge / invalidate on the same session for the
    same server completes (a deadlock fails the join below instead of hanging the suite), and
    a callback that raises on every event does not break the session."""
    unraisable: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(u.exc_value))
    url = kit.mcp_url
    s: idjag.Session
    threads: set[int] = set()
    busy = False
    reentered: list[str] = []

    def cb(ev: idjag.HttpEvent) -> None:
        nonlocal busy
        threads.add(threading.get_ident())
        if not busy and ev.step == "as_grant" and not reentered:
            busy = True  # the nested calls' own events only record their thread
            try:
                t = s.access_token(url)  # the token whose minting this event reports
                cached = s.cached_token(url)
                assert cached is not None and cached.access_token == t.access_token
                t2 = s.handle_challenge(url, 401, 'Bearer error="invalid_token"', t.access_token)
                assert t2.access_token != t.access_token
                s.invalidate(url)
                assert s.cached_token(url) is None
                reentered.append(t2.access_token)
            finally:
                busy = False
        raise RuntimeError("callback bug")

    s = idjag.Session(kit.config(), on_event=cb)
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(s.access_token(url))
        except BaseException as e:  # reported below
            outcome.append(e)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "a re-entrant event callback deadlocked"
    assert len(outcome) == 1 and isinstance(outcome[0], idjag.Token), outcome
    assert reentered, "the callback never reached its re-entrant calls"
    assert threads == {worker.ident}  # delivered on the calling thread only
    assert unraisable and all(isinstance(e, RuntimeError) for e in unraisable)
    # The session is healthy: the callback invalidated the server, so this mints again.
    t = s.access_token(url)
    assert call_tool(kit, t.access_token, "whoami")[0] == 200
    assert s.cached_token(url) is not None


def test_logging(kit: Kit, caplog: pytest.LogCaptureFixture) -> None:
    s = idjag.Session(kit.config())
    with caplog.at_level(logging.DEBUG, logger="idjag"):
        s.access_token(kit.mcp_url)
    lines = [r.getMessage() for r in caplog.records if r.name == "idjag"]
    assert any(line.startswith("as_grant POST ") and " -> 200 " in line for line in lines), lines
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="idjag"):
        s.invalidate(kit.mcp_url)
        s.access_token(kit.mcp_url)
    assert not [r for r in caplog.records if r.name == "idjag"]


def test_per_server_scope_and_session_is_not_picklable(kit: Kit) -> None:
    import pickle

    s = idjag.Session(kit.config(scopes={kit.mcp_url: "mcp:read"}))
    assert s.access_token(kit.mcp_url).scope == "mcp:read"
    with pytest.raises(TypeError):
        pickle.dumps(s)
    assert "Session" in repr(s)
