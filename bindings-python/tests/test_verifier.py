"""`idjag.Verifier` (authorization-server side) against ID-JAGs minted by the testkit IdP."""

from __future__ import annotations

import asyncio
import json
import time
import typing
from pathlib import Path
from typing import Any

import pytest

import idjag
import idjag.errors
from conftest import Kit

VERIFY_VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "verify.json"


def verifier(kit: Kit, **overrides: Any) -> idjag.Verifier:
    cfg: dict[str, Any] = {
        "issuer": kit.as_issuer,
        "resources": [kit.mcp_url],
        "trusted_idps": [{"issuer": kit.idp_issuer}],
    }
    cfg.update(overrides)
    return idjag.Verifier(cfg)


def mint(kit: Kit, claims: dict[str, Any] | None = None, header: dict[str, Any] | None = None) -> str:
    body: dict[str, Any] = {}
    if claims:
        body["claims"] = claims
    if header:
        body["header"] = header
    return str(kit.admin("id_jag", body)["id_jag"])


def test_reject_reason_literal_matches_the_core() -> None:
    core = idjag.reject_reasons()
    assert list(typing.get_args(idjag.errors.RejectReason)) == core, (
        "RejectReason = Literal[\n" + "".join(f'    "{c}",\n' for c in core) + "]"
    )


def test_verify_accepts_once(kit: Kit) -> None:
    events: list[idjag.HttpEvent] = []
    v = idjag.Verifier(
        {"issuer": kit.as_issuer, "resources": [kit.mcp_url], "trusted_idps": [{"issuer": kit.idp_issuer}]},
        on_event=events.append,
    )
    assert v.issuer == kit.as_issuer and kit.as_issuer in repr(v)
    jag = mint(kit, {"scope": "mcp:write mcp:read"})
    g = v.verify(jag, kit.as_client["client_id"], "mcp:read mcp:admin")
    assert g.iss == kit.idp_issuer and g.sub == "alice"
    assert g.client_id == kit.as_client["client_id"]
    assert g.resource == [kit.mcp_url] and g.primary_resource == kit.mcp_url
    assert not g.resource_defaulted
    assert g.scope == "mcp:read" and g.scope_source == "id_jag"
    assert g.exp > time.time() >= g.iat and g.jti
    assert g.claims["email"] == "alice@example.com"
    assert "alice@example.com" not in repr(g) and "email" in repr(g)
    assert {e.step for e in events} == {"discovery", "verify"}  # IdP metadata, then its JWKS
    with pytest.raises(idjag.VerificationError) as info:
        v.verify(jag, kit.as_client["client_id"])
    e = info.value
    assert (e.code, e.reason, e.step, e.action) == ("verification_failed", "replayed", "verify", "denied")
    assert jag not in f"{e} {e!r}"
    status, body = idjag.token_error_response(e)
    assert status == 400 and body["error"] == "invalid_grant"
    assert "replay" not in json.dumps(body)  # generic on the wire


def test_no_scope_claim_grants_no_scope(kit: Kit) -> None:
    """Without a `scope` claim the requested scope is not a grant (invalid_scope on the wire);
    `default_scope` is the only stand-in."""
    client = kit.as_client["client_id"]
    with pytest.raises(idjag.VerificationError) as info:
        verifier(kit).verify(mint(kit), client, "mcp:admin")
    assert info.value.reason == "scope_not_granted"
    status, body = idjag.token_error_response(info.value)
    assert (status, body["error"]) == (400, "invalid_scope")
    g = verifier(kit).verify(mint(kit), client)
    assert g.scope is None and g.scope_source == "no_statement"
    g = verifier(kit, default_scope="mcp:read").verify(mint(kit), client, "mcp:read mcp:admin")
    assert g.scope == "mcp:read" and g.scope_source == "default_scope"


def test_step_up_policy(kit: Kit) -> None:
    """`user_authentication` (config keys pass through as JSON): a weak or old authentication
    is rejected with its own reason, the exception carries the requirement, and the wire
    answer is `insufficient_user_authentication` with `acr_values` / `max_age` (RFC 9470)."""
    v = verifier(kit, user_authentication={"acr_values": ["phrh", "mfa"], "max_auth_age_s": 300})
    client = kit.as_client["client_id"]
    now = int(time.time())
    assert idjag.VerificationError.acr_values is None and idjag.VerificationError.max_age is None
    want = {
        "error": "insufficient_user_authentication",
        "error_description": "the user's authentication does not meet this server's requirements",
        "acr_values": "phrh mfa",
        "max_age": 300,
    }
    for claims, reason in (
        ({"auth_time": now}, "acr_not_accepted"),
        ({"acr": "pwd", "auth_time": now}, "acr_not_accepted"),
        ({"acr": "mfa"}, "auth_time_too_old"),
        ({"acr": "mfa", "auth_time": now - 1000}, "auth_time_too_old"),
    ):
        with pytest.raises(idjag.VerificationError) as info:
            v.verify(mint(kit, claims), client)
        e = info.value
        assert (e.reason, e.action, e.acr_values, e.max_age) == (reason, "reauthenticate", "phrh mfa", 300)
        assert idjag.token_error_response(e) == (400, want)
    g = v.verify(mint(kit, {"acr": "phrh", "auth_time": now - 10}), client)
    assert (g.acr, g.auth_time) == ("phrh", now - 10)
    # Other rejections carry no requirement, and the wire answer has none.
    with pytest.raises(idjag.VerificationError) as info:
        v.verify(mint(kit, {"aud": "https://other-as.example"}), client)
    assert (info.value.acr_values, info.value.max_age) == (None, None)
    assert set(idjag.token_error_response(info.value)[1]) == {"error", "error_description"}
    native = idjag._native.token_error_response_for
    assert native("verification_failed", "replayed", acr_values="x", max_age=1)[1]["error"] == "invalid_grant"
    assert "acr_values" not in native("verification_failed", "replayed", acr_values="x")[1]
    assert native("verification_failed", "auth_time_too_old", max_age=0)[1]["max_age"] == 0
    with pytest.raises(idjag.ConfigurationError, match="user_authentication.acr_values"):
        verifier(kit, user_authentication={"acr_values": []})


def test_tenancy_claims_are_typed_fields(kit: Kit) -> None:
    client = kit.as_client["client_id"]
    g = verifier(kit).verify(mint(kit, {"tenant": "acme", "aud_tenant": "t-7", "aud_sub": "acct-42"}), client)
    assert (g.tenant, g.aud_tenant, g.aud_sub) == ("acme", "t-7", "acct-42")
    assert g.claims["tenant"] == "acme" and g.first_use
    g = verifier(kit).verify(mint(kit), client)
    assert (g.tenant, g.aud_tenant, g.aud_sub, g.acr, g.auth_time) == (None, None, None, None, None)
    with pytest.raises(idjag.VerificationError) as info:
        verifier(kit).verify(mint(kit, {"tenant": 7}), client)
    assert info.value.reason == "malformed"


def test_replay_policy_until_exp(kit: Kit) -> None:
    """`replay: {"policy": "until_exp"}` (weaker, like Auth0): the same ID-JAG is accepted
    again; only the first presentation has `first_use`. The default stays single use."""
    client = kit.as_client["client_id"]
    v = verifier(kit, replay={"policy": "until_exp"})
    jag = mint(kit)
    assert [v.verify(jag, client).first_use for _ in range(3)] == [True, False, False]
    assert "first_use=False" in repr(v.verify(jag, client))
    strict = verifier(kit)
    assert strict.verify(jag, client).first_use
    with pytest.raises(idjag.VerificationError) as info:
        strict.verify(jag, client)
    assert info.value.reason == "replayed"
    with pytest.raises(idjag.ConfigurationError, match="replay.policy"):
        verifier(kit, replay={"policy": "reuse"})


def test_prefetch_and_async(kit: Kit) -> None:
    v = verifier(kit)
    v.prefetch_keys()
    g = asyncio.run(v.verify_async(mint(kit), kit.as_client["client_id"]))
    assert g.sub == "alice"


REJECTIONS: list[tuple[str, dict[str, Any], dict[str, Any], str | None]] = [
    ("audience_mismatch", {"aud": "https://other-as.example"}, {}, None),
    ("expired", {"exp": 1_000_000, "iat": 999_000}, {}, None),
    ("untrusted_issuer", {"iss": "https://evil.example"}, {}, None),
    ("resource_mismatch", {"resource": "https://other.example/mcp"}, {}, None),
    ("missing_claim", {"jti": None}, {}, None),
    ("invalid_typ", {}, {"typ": "JWT"}, None),
    ("header_key_injection", {}, {"jku": "https://evil.example/jwks"}, None),
    ("client_mismatch", {}, {}, "someone-else"),
]


@pytest.mark.parametrize(("reason", "claims", "header", "client"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejections(
    kit: Kit, reason: str, claims: dict[str, Any], header: dict[str, Any], client: str | None
) -> None:
    v = verifier(kit)
    jag = mint(kit, claims, header)
    with pytest.raises(idjag.VerificationError) as info:
        v.verify(jag, client or kit.as_client["client_id"])
    assert info.value.reason == reason
    assert info.value.reason in idjag.reject_reasons()
    assert jag not in str(info.value)


def test_offline_rejections(kit: Kit) -> None:
    v = verifier(kit, max_assertion_bytes=1024)
    for assertion, reason in (("x" * 2000, "too_large"), ("a.b.c", "malformed"), ("a.b.c.d.e", "encrypted_unsupported")):
        with pytest.raises(idjag.VerificationError) as info:
            v.verify(assertion, "c")
        assert info.value.reason == reason


def test_unreachable_keys_are_not_rejections(kit: Kit) -> None:
    v = verifier(kit, trusted_idps=[{"issuer": kit.idp_issuer, "jwks_uri": "http://127.0.0.1:9/jwks"}])
    with pytest.raises(idjag.TransportError) as info:
        v.verify(mint(kit), kit.as_client["client_id"])
    assert info.value.reason is None
    assert idjag.token_error_response(info.value)[0] == 503
    assert idjag.token_error_response(ValueError("x"))[0] == 500


def test_configuration_errors(kit: Kit) -> None:
    with pytest.raises(idjag.ConfigurationError, match="trusted_idps"):
        idjag.Verifier({"issuer": kit.as_issuer, "resources": [kit.mcp_url]})
    with pytest.raises(idjag.ConfigurationError, match="colour"):
        verifier(kit, colour=1)


VECTORS = json.loads(VERIFY_VECTORS.read_text())


def test_verify_vectors() -> None:
    """Replays tests/vectors/verify.json in order (replay state carries over), one verifier
    per config with the clock frozen at `now` (same semantics as core/tests/verify_vectors.rs)."""
    verifiers = {
        name: idjag.Verifier(cfg, insecure_fixed_clock=VECTORS["now"])
        for name, cfg in VECTORS["configs"].items()
    }
    assert VECTORS["cases"]
    for case in VECTORS["cases"]:
        name, expect = case["name"], case["expect"]
        v = verifiers[case["config"]]
        if expect["result"] == "accepted":
            g = v.verify(case["assertion"], case["client_id"], case.get("requested_scope"))
            for field, want in expect.items():
                if field != "result":
                    assert getattr(g, field) == want, (name, field)
        else:
            with pytest.raises(idjag.IdjagError) as info:
                v.verify(case["assertion"], case["client_id"], case.get("requested_scope"))
            assert info.value.code == expect["error"], (name, str(info.value))
            assert info.value.reason == expect["reason"], (name, str(info.value))
            assert case["assertion"] not in str(info.value)
            status, body = idjag.token_error_response(info.value)
            wire = {"status": status, "error": body["error"]}
            wire.update({k: body[k] for k in ("acr_values", "max_age") if k in body})
            assert wire == expect["wire"], name
