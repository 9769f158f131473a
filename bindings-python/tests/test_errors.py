"""The exception tree: hierarchy, attributes, parity of the code lists with the core, and every
kind provoked for real (against the testkit or offline)."""

from __future__ import annotations

import typing
from typing import Any, Callable

import pytest

import idjag
import idjag.errors
from conftest import Kit

EXPECTED_CLASSES: dict[str, tuple[type[idjag.IdjagError], tuple[type[BaseException], ...]]] = {
    "invalid_argument": (idjag.InvalidArgumentError, (ValueError,)),
    "configuration": (idjag.ConfigurationError, (ValueError,)),
    "transport": (idjag.TransportError, (ConnectionError,)),
    "timeout": (idjag.IdjagTimeoutError, (idjag.TransportError, TimeoutError, ConnectionError)),
    "http_status": (idjag.HttpStatusError, ()),
    "oauth_error": (idjag.OAuthServerError, ()),
    "response_invalid": (idjag.ResponseError, ()),
    "response_too_large": (idjag.ResponseTooLargeError, (idjag.ResponseError,)),
    "insecure_url": (idjag.InsecureUrlError, ()),
    "redirect_refused": (idjag.RedirectRefusedError, ()),
    "issuer_mismatch": (idjag.IssuerMismatchError, ()),
    "resource_mismatch": (idjag.ResourceMismatchError, ()),
    "not_supported": (idjag.NotSupportedError, ()),
    "reauthentication_required": (idjag.ReauthenticationRequired, ()),
    "verification_failed": (idjag.VerificationError, ()),
    "internal": (idjag.InternalError, ()),
}


def test_error_code_literal_matches_the_core() -> None:
    core = idjag.error_codes()
    literal = list(typing.get_args(idjag.errors.ErrorCode))
    assert literal == core, "ErrorCode = Literal[\n" + "".join(f'    "{c}",\n' for c in core) + "]"
    assert list(typing.get_args(idjag.errors.Step)) == idjag.step_codes()
    assert list(typing.get_args(idjag.errors.Action)) == idjag.action_codes()


def test_one_class_per_code_with_the_natural_builtins() -> None:
    assert sorted(EXPECTED_CLASSES) == sorted(idjag.error_codes())
    for code, (cls, bases) in EXPECTED_CLASSES.items():
        assert cls.code == code
        assert issubclass(cls, idjag.IdjagError) and issubclass(cls, Exception)
        for b in bases:
            assert issubclass(cls, b), (cls, b)
        assert cls.__module__ == "idjag._native"
        assert getattr(idjag.errors, cls.__name__) is cls
        assert cls.__doc__
    plain = [c for c, (_, b) in EXPECTED_CLASSES.items() if not b]
    for code in plain:
        cls = EXPECTED_CLASSES[code][0]
        assert not issubclass(cls, (ValueError, ConnectionError, TimeoutError))
    # Attributes exist on the class too (None until raised).
    for attr in ("step", "action", "error", "error_description", "error_uri", "status", "reason"):
        assert getattr(idjag.IdjagError, attr) is None


def test_python_raised_errors_behave() -> None:
    e = idjag.ReauthenticationRequired("sign in again")
    assert str(e) == "sign in again" and e.code == "reauthentication_required"
    t = idjag.IdjagTimeoutError("slow")
    assert isinstance(t, OSError) and str(t) == "slow" and t.code == "timeout"


def test_panic_becomes_internal_error() -> None:
    with pytest.raises(idjag.InternalError) as e:
        idjag._native._panic_for_tests()
    assert e.value.code == "internal"
    assert "panicked" in str(e.value)


# ---- every kind, provoked --------------------------------------------------------------------


def session_error(kit: Kit, **cfg: Any) -> Callable[[], object]:
    def go() -> object:
        return idjag.Session(kit.config(**cfg)).access_token(kit.mcp_url)

    return go


CaseFn = Callable[[Kit], Callable[[], object]]


def case_invalid_argument(kit: Kit) -> Callable[[], object]:
    s = idjag.Session(kit.config())
    return lambda: s.set_subject_token("")


def case_configuration(kit: Kit) -> Callable[[], object]:
    return lambda: idjag.Session(kit.config(colour="blue"))


def case_transport(kit: Kit) -> Callable[[], object]:
    s = idjag.Session(kit.config())
    return lambda: s.access_token("http://127.0.0.1:9/mcp")  # discard port: refused


def case_timeout(kit: Kit) -> Callable[[], object]:
    kit.fault("idp_token", {"type": "delay", "ms": 800})
    return session_error(kit, timeout_ms=300)


def case_http_status(kit: Kit) -> Callable[[], object]:
    kit.fault("as_token", {"type": "status", "status": 503, "body": "busy", "content_type": "text/plain"})
    return session_error(kit)


def case_oauth_error(kit: Kit) -> Callable[[], object]:
    kit.fault(
        "as_token",
        {
            "type": "status",
            "status": 401,
            "body": '{"error":"invalid_client","error_description":"who are you","error_uri":"https://as.example/e"}',
        },
    )
    return session_error(kit)


def case_response_invalid(kit: Kit) -> Callable[[], object]:
    kit.fault("idp_token", {"type": "malformed_json"})
    return session_error(kit)


def case_response_too_large(kit: Kit) -> Callable[[], object]:
    kit.fault("as_token", {"type": "oversized", "bytes": 200_000})
    return session_error(kit)


def case_insecure_url(kit: Kit) -> Callable[[], object]:
    return lambda: idjag.request_id_jag(
        "http://idp.example.com/token", "https://as.example.com", "subject", {"client_id": "c"}
    )


def case_redirect_refused(kit: Kit) -> Callable[[], object]:
    kit.fault("idp_token", {"type": "redirect", "location": kit.idp_token_endpoint + "2", "status": 307})
    return session_error(kit)


def case_issuer_mismatch(kit: Kit) -> Callable[[], object]:
    kit.fault("as_metadata", {"type": "wrong_issuer", "issuer": "https://evil.example"})
    return session_error(kit)


def case_resource_mismatch(kit: Kit) -> Callable[[], object]:
    kit.fault("prm", {"type": "patch", "set": {"resource": "https://other.example/mcp"}})
    return session_error(kit)


def case_not_supported(kit: Kit) -> Callable[[], object]:
    kit.fault("as_token", {"type": "patch", "set": {"token_type": "DPoP"}})
    return session_error(kit)


def case_reauthentication_required(kit: Kit) -> Callable[[], object]:
    kit.fault(
        "idp_token",
        {"type": "status", "status": 400, "body": '{"error":"invalid_grant","error_description":"id token expired"}'},
    )
    return session_error(kit)


def case_verification_failed(kit: Kit) -> Callable[[], object]:
    v = idjag.Verifier(
        {"issuer": kit.as_issuer, "resources": [kit.mcp_url], "trusted_idps": [{"issuer": kit.idp_issuer}]}
    )
    return lambda: v.verify("a.b.c", kit.as_client["client_id"])


def case_internal(kit: Kit) -> Callable[[], object]:
    return idjag._native._panic_for_tests


CASES: dict[str, CaseFn] = {
    "invalid_argument": case_invalid_argument,
    "configuration": case_configuration,
    "transport": case_transport,
    "timeout": case_timeout,
    "http_status": case_http_status,
    "oauth_error": case_oauth_error,
    "response_invalid": case_response_invalid,
    "response_too_large": case_response_too_large,
    "insecure_url": case_insecure_url,
    "redirect_refused": case_redirect_refused,
    "issuer_mismatch": case_issuer_mismatch,
    "resource_mismatch": case_resource_mismatch,
    "not_supported": case_not_supported,
    "reauthentication_required": case_reauthentication_required,
    "verification_failed": case_verification_failed,
    "internal": case_internal,
}


def test_every_kind_is_provoked() -> None:
    assert sorted(CASES) == sorted(idjag.error_codes())


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_kind_is_raised_as_its_class(kit: Kit, code: str) -> None:
    cls = EXPECTED_CLASSES[code][0]
    call = CASES[code](kit)
    with pytest.raises(idjag.IdjagError) as info:
        call()
    e = info.value
    assert type(e) is cls, (code, type(e), str(e))
    assert e.code == code
    assert e.step in idjag.step_codes()
    assert e.action in idjag.action_codes()
    text = f"{e} {e!r} {e.args}"
    for secret in kit.secrets():
        assert secret not in text


def test_oauth_error_attributes(kit: Kit) -> None:
    with pytest.raises(idjag.OAuthServerError) as info:
        case_oauth_error(kit)()
    e = info.value
    assert (e.error, e.error_description, e.error_uri, e.status) == (
        "invalid_client",
        "who are you",
        "https://as.example/e",
        401,
    )
    assert e.step == "as_grant" and e.action == "reconfigure"


def test_transport_error_has_a_cause_and_is_a_connection_error(kit: Kit) -> None:
    with pytest.raises(ConnectionError) as info:
        case_transport(kit)()
    assert isinstance(info.value, idjag.TransportError)
    assert info.value.action == "retry"
    assert info.value.__cause__ is not None  # the core's source() chain


def test_timeout_is_caught_as_timeout_error(kit: Kit) -> None:
    with pytest.raises(TimeoutError) as info:
        case_timeout(kit)()
    assert isinstance(info.value, idjag.TransportError)
    assert info.value.action == "retry"


def test_http_status_and_reauthentication_attributes(kit: Kit) -> None:
    with pytest.raises(idjag.HttpStatusError) as info:
        case_http_status(kit)()
    assert info.value.status == 503 and info.value.action == "retry"
    kit.reset()
    with pytest.raises(idjag.ReauthenticationRequired) as info2:
        case_reauthentication_required(kit)()
    assert info2.value.error == "invalid_grant"
    assert info2.value.action == "reauthenticate"


def test_configuration_errors_are_value_errors_naming_the_key(kit: Kit) -> None:
    with pytest.raises(ValueError, match="colour"):
        idjag.Session(kit.config(colour="blue"))
    with pytest.raises(idjag.ConfigurationError, match="not valid JSON"):
        idjag.Session("{")
    with pytest.raises(TypeError):
        idjag.Session({"idp": object()})
