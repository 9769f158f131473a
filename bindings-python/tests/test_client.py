"""The low-level calls (`request_id_jag`, `redeem_id_jag`, `Client`) and the offline helpers
(`inspect`, `parse_www_authenticate`) against the testkit."""

from __future__ import annotations

import json
from typing import Any

import pytest

import idjag
from conftest import Kit


def client_of(kit: Kit, name: str) -> dict[str, Any]:
    c = kit.info["clients"][name]
    out = {"client_id": c["client_id"]}
    if c.get("client_secret"):
        out["client_secret"] = c["client_secret"]
    if c.get("private_key_pem"):
        out["private_key_pem"] = c["private_key_pem"]
        out["key_id"] = c["key_id"]
        out["auth_method"] = "private_key_jwt"
    if c["auth_methods"] == ["none"]:
        out["auth_method"] = "none"
    return out


@pytest.mark.parametrize(
    ("idp", "as_", "method"),
    [
        ("idp", "as", "client_secret_basic"),
        ("idp", "as", "client_secret_post"),
        ("idp_jwt", "as_jwt", None),
        ("idp_public", "as", None),
    ],
)
def test_both_legs_with_each_client_authentication(
    kit: Kit, idp: str, as_: str, method: str | None
) -> None:
    idp_client = client_of(kit, idp)
    if method:
        idp_client["auth_method"] = method
    jag = idjag.request_id_jag(
        kit.idp_token_endpoint,
        kit.as_issuer,
        kit.id_token(aud=idp_client["client_id"]),
        idp_client,
        resource=kit.mcp_url,
        scope="mcp:read",
        idp_issuer=kit.idp_issuer,
    )
    assert jag.issued_token_type == "urn:ietf:params:oauth:token-type:id-jag"
    assert jag.token_type == "N_A"
    assert jag.expires_in and jag.expires_at
    i = idjag.inspect(jag.assertion)
    assert i.kind == "id_jag" and i.header["typ"] == "oauth-id-jag+jwt"
    assert i.claims["aud"] == kit.as_issuer and i.claims["resource"] == kit.mcp_url
    assert not i.expired and i.expires_at == i.claims["exp"] and i.issued_at == i.claims["iat"]
    at = idjag.redeem_id_jag(
        kit.as_token_endpoint,
        jag.assertion,
        json.dumps(client_of(kit, as_)),  # JSON text works too
        issuer=kit.as_issuer,
        resource=kit.mcp_url,
        scope="mcp:read",
    )
    assert at.token_type == "Bearer" and at.scope == "mcp:read"
    assert at.expires_in and at.expires_at and at.access_token


def test_single_use_id_jag(kit: Kit) -> None:
    jag = idjag.request_id_jag(
        kit.idp_token_endpoint, kit.as_issuer, kit.id_token(), kit.idp_client, resource=kit.mcp_url
    )
    idjag.redeem_id_jag(kit.as_token_endpoint, jag.assertion, kit.as_client)
    with pytest.raises(idjag.OAuthServerError) as e:
        idjag.redeem_id_jag(kit.as_token_endpoint, jag.assertion, kit.as_client)
    assert e.value.error == "invalid_grant" and e.value.step == "as_grant" and e.value.action == "retry"


def test_saml_subject_and_idp_errors(kit: Kit) -> None:
    saml = kit.admin("saml_assertion", {"user": "erin"})["assertion"]
    jag = idjag.request_id_jag(
        kit.idp_token_endpoint,
        kit.as_issuer,
        saml,
        kit.idp_client,
        subject_token_type="urn:ietf:params:oauth:token-type:saml2",
        resource=kit.mcp_url,
    )
    assert idjag.inspect(jag.assertion).claims["sub"] == "erin"
    with pytest.raises(idjag.OAuthServerError) as e:
        idjag.request_id_jag(
            kit.idp_token_endpoint, kit.as_issuer, kit.id_token(), kit.idp_client, scope="mcp:denied"
        )
    assert e.value.error == "invalid_scope" and e.value.step == "idp_exchange"


def test_client_options_events_and_metadata(kit: Kit) -> None:
    events: list[idjag.HttpEvent] = []
    c = idjag.Client(timeout_ms=5000, connect_timeout_ms=1000, on_event=events.append)
    meta = c.authorization_server_metadata(kit.idp_issuer)
    assert meta["issuer"] == kit.idp_issuer and meta["token_endpoint"] == kit.idp_token_endpoint
    c.request_id_jag(kit.idp_token_endpoint, kit.as_issuer, kit.id_token(), kit.idp_client)
    assert [e.step for e in events] == ["discovery", "idp_exchange"]
    assert "Client" in repr(c)
    with pytest.raises(idjag.ConfigurationError):
        idjag.Client(timeout_ms=0)
    with pytest.raises(idjag.ConfigurationError, match="client_id"):
        c.request_id_jag(kit.idp_token_endpoint, kit.as_issuer, "t", {"client_secret": "x"})
    with pytest.raises(idjag.ConfigurationError, match="auth_method"):
        c.request_id_jag(kit.idp_token_endpoint, kit.as_issuer, "t", {"client_id": "x", "auth_method": "client_secret_basic"})
    with pytest.raises(idjag.InvalidArgumentError):
        c.request_id_jag(kit.idp_token_endpoint, kit.as_issuer, "", kit.idp_client)


def test_client_timeout_ms_bounds_a_request(kit: Kit) -> None:
    """`timeout_ms` reaches the HTTP stack (mapped by the core, as for a Session)."""
    import time

    kit.fault("idp_token", {"type": "delay", "ms": 3000})
    c = idjag.Client(timeout_ms=400)
    start = time.perf_counter()
    with pytest.raises(idjag.IdjagTimeoutError):
        c.request_id_jag(kit.idp_token_endpoint, kit.as_issuer, kit.id_token(), kit.idp_client)
    assert time.perf_counter() - start < 2.0


def test_inspect_offline() -> None:
    header = "eyJhbGciOiJFUzI1NiIsInR5cCI6Im9hdXRoLWlkLWphZytqd3QifQ"  # {"alg":"ES256","typ":"oauth-id-jag+jwt"}
    payload = "eyJpc3MiOiJodHRwczovL2lkcCIsImV4cCI6MTAwfQ"  # {"iss":"https://idp","exp":100}
    i = idjag.inspect(f"{header}.{payload}.sig", now=50)
    assert i.kind == "id_jag" and i.claims == {"iss": "https://idp", "exp": 100} and not i.expired
    assert idjag.inspect(f"{header}.{payload}.sig").expired
    assert i.warnings == idjag.inspect(f"{header}.{payload}.sig", now=50).warnings
    assert "Inspection(" in repr(i) and "sig" not in repr(i)
    with pytest.raises(idjag.InvalidArgumentError):
        idjag.inspect("not a jwt")


def test_parse_www_authenticate_lists() -> None:
    ch = idjag.parse_www_authenticate(['Basic realm="x"', 'Bearer error="invalid_token", scope="a b"'])
    assert (ch.error, ch.scope, ch.resource_metadata) == ("invalid_token", "a b", None)
    assert "invalid_token" in repr(ch)
