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
    jag = mint(kit)
    g = v.verify(jag, kit.as_client["client_id"], "mcp:read")
    assert g.iss == kit.idp_issuer and g.sub == "alice"
    assert g.client_id == kit.as_client["client_id"]
    assert g.resource == [kit.mcp_url] and g.primary_resource == kit.mcp_url
    assert not g.resource_defaulted
    assert g.scope == "mcp:read"
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
