"""No secret in any repr, str, exception or log line; secret-bearing results refuse pickling."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest

import idjag
from conftest import Kit

PLANTED = "planted-secret-7f3a9c"


def assert_clean(text: str, secrets: list[str]) -> None:
    for s in secrets:
        assert s not in text, f"secret leaked: {text!r}"


def test_results_never_show_tokens(kit: Kit) -> None:
    events: list[idjag.HttpEvent] = []
    s = idjag.Session(kit.config(), on_event=events.append)
    t = s.access_token(kit.mcp_url)
    d = s.discover(kit.mcp_url)
    jag = idjag.request_id_jag(
        kit.idp_token_endpoint, kit.as_issuer, kit.id_token(), kit.idp_client, resource=kit.mcp_url
    )
    at = idjag.redeem_id_jag(kit.as_token_endpoint, jag.assertion, kit.as_client, resource=kit.mcp_url)
    secrets = kit.secrets() + [t.access_token, jag.assertion, at.access_token]
    shown = " ".join(
        [repr(t), str(t), repr(jag), str(jag), repr(at), str(at), repr(s), str(d), repr(d)]
        + [repr(e) for e in events]
        + [repr(idjag.inspect(jag.assertion))]
    )
    assert_clean(shown, secrets)
    assert "access_token=<redacted>" in repr(t)
    assert "assertion=<redacted>" in repr(jag)
    assert "access_token=<redacted>" in repr(at)
    # The explicit properties are the only way to the values.
    assert t.access_token and jag.assertion and at.access_token


@pytest.mark.parametrize("which", ["token", "id_jag", "access_token", "session"])
def test_secret_bearing_objects_refuse_pickling_and_copying(kit: Kit, which: str) -> None:
    s = idjag.Session(kit.config())
    obj: object
    if which == "session":
        obj = s
    elif which == "token":
        obj = s.access_token(kit.mcp_url)
    else:
        jag = idjag.request_id_jag(
            kit.idp_token_endpoint, kit.as_issuer, kit.id_token(), kit.idp_client, resource=kit.mcp_url
        )
        obj = jag
        if which == "access_token":
            obj = idjag.redeem_id_jag(kit.as_token_endpoint, jag.assertion, kit.as_client)
    with pytest.raises(TypeError):
        pickle.dumps(obj)
    with pytest.raises(TypeError):
        copy.copy(obj)


def test_results_are_immutable(kit: Kit) -> None:
    t = idjag.Session(kit.config()).access_token(kit.mcp_url)
    with pytest.raises(AttributeError):
        t.access_token = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        t.extra = 1  # type: ignore[attr-defined]


def test_errors_never_echo_planted_secrets(kit: Kit, caplog: pytest.LogCaptureFixture) -> None:
    texts: list[str] = []

    def record(e: BaseException) -> None:
        texts.append(f"{e} {e!r} {e.args} {e.__cause__!r}")
        if isinstance(e, idjag.IdjagError):
            texts.append(f"{e.error} {e.error_description} {e.error_uri} {e.reason}")

    # A server that echoes the subject token and the client secret back in its error.
    kit.fault(
        "idp_token",
        {
            "type": "status",
            "status": 400,
            "body": '{"error":"invalid_request","error_description":"bad subject_token '
            + PLANTED
            + '"}',
        },
    )
    with caplog.at_level(logging.DEBUG, logger="idjag"):
        for call in (
            lambda: idjag.Session(kit.config(subject_token=PLANTED)).access_token(kit.mcp_url),
            lambda: idjag.Session(kit.config(timeout_ms=PLANTED)),
            lambda: idjag.Session(
                kit.config(client={"client_id": "c", "client_secret": PLANTED, "private_key_pem": PLANTED})
            ),
            lambda: idjag.request_id_jag("http://example.com/token", "aud", PLANTED, {"client_id": "c"}),
            lambda: idjag.redeem_id_jag(kit.as_token_endpoint, PLANTED, {"client_id": PLANTED + "x", "client_secret": PLANTED}),
            lambda: idjag.inspect(PLANTED),
            lambda: idjag.Client().request_id_jag(
                kit.idp_token_endpoint, "a", PLANTED, {"client_id": "c", "signing_alg": PLANTED}
            ),
        ):
            with pytest.raises(Exception) as info:
                call()
            record(info.value)
    texts.extend(r.getMessage() for r in caplog.records)
    assert texts
    assert_clean(" ".join(texts), [PLANTED] + kit.secrets())
