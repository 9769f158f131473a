# Type stubs of the PyO3 extension `idjag._native` (hand-written, checked by
# `python -m mypy.stubtest idjag._native --allowlist stubtest-allowlist.txt`).
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, NoReturn, final

from typing_extensions import Self, disjoint_base

__all__ = [
    "AccessToken",
    "Client",
    "ConfigurationError",
    "Discovery",
    "HttpEvent",
    "HttpStatusError",
    "IdJag",
    "IdjagError",
    "IdjagTimeoutError",
    "InsecureUrlError",
    "Inspection",
    "InternalError",
    "InvalidArgumentError",
    "IssuerMismatchError",
    "NotSupportedError",
    "OAuthServerError",
    "ReauthenticationRequired",
    "RedirectRefusedError",
    "ResourceChallenge",
    "ResourceMismatchError",
    "ResponseError",
    "ResponseTooLargeError",
    "Session",
    "Token",
    "TransportError",
    "VerificationError",
    "VerifiedGrant",
    "Verifier",
    "__version__",
    "_panic_for_tests",
    "action_codes",
    "error_codes",
    "inspect",
    "parse_www_authenticate",
    "reject_reasons",
    "step_codes",
    "token_error_response_for",
]

__version__: Final[str]

_ErrorCode = Literal[
    "invalid_argument",
    "configuration",
    "transport",
    "timeout",
    "http_status",
    "oauth_error",
    "response_invalid",
    "response_too_large",
    "insecure_url",
    "redirect_refused",
    "issuer_mismatch",
    "resource_mismatch",
    "not_supported",
    "reauthentication_required",
    "verification_failed",
    "internal",
]
_Step = Literal[
    "config", "discovery", "idp_exchange", "idp_refresh", "as_grant", "resource", "verify", "transport"
]
_Action = Literal["reauthenticate", "reconfigure", "retry", "denied"]
_SubjectTokenType = Literal[
    "id_token",
    "saml2",
    "refresh_token",
    "urn:ietf:params:oauth:token-type:id_token",
    "urn:ietf:params:oauth:token-type:saml2",
    "urn:ietf:params:oauth:token-type:refresh_token",
]
_Json = str | Mapping[str, Any]

# ---- exceptions ------------------------------------------------------------------------------

class IdjagError(Exception):
    code: _ErrorCode
    step: _Step | None
    action: _Action | None
    error: str | None
    error_description: str | None
    error_uri: str | None
    status: int | None
    reason: str | None

class InvalidArgumentError(IdjagError, ValueError): ...
class ConfigurationError(IdjagError, ValueError): ...
class TransportError(IdjagError, ConnectionError): ...
class IdjagTimeoutError(TransportError, TimeoutError): ...
class HttpStatusError(IdjagError): ...
class OAuthServerError(IdjagError): ...
class ResponseError(IdjagError): ...
class ResponseTooLargeError(ResponseError): ...
class InsecureUrlError(IdjagError): ...
class RedirectRefusedError(IdjagError): ...
class IssuerMismatchError(IdjagError): ...
class ResourceMismatchError(IdjagError): ...
class NotSupportedError(IdjagError): ...
class ReauthenticationRequired(IdjagError): ...
class VerificationError(IdjagError):
    acr_values: str | None
    max_age: int | None
class InternalError(IdjagError): ...

def error_codes() -> list[_ErrorCode]: ...
def step_codes() -> list[_Step]: ...
def action_codes() -> list[_Action]: ...
def _panic_for_tests() -> NoReturn: ...

# ---- session ---------------------------------------------------------------------------------

@final
class HttpEvent:
    @property
    def step(self) -> _Step: ...
    @property
    def method(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def bytes(self) -> int: ...
    @property
    def error(self) -> _ErrorCode | None: ...

@final
class Token:
    @property
    def access_token(self) -> str: ...
    @property
    def authorization(self) -> str: ...
    @property
    def token_type(self) -> str: ...
    @property
    def expires_at(self) -> int: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def resource(self) -> str: ...
    @property
    def authorization_server(self) -> str: ...
    @property
    def id_jag_claims(self) -> dict[str, Any] | None: ...
    def __reduce__(self) -> NoReturn: ...

@final
class Discovery:
    @property
    def server_url(self) -> str: ...
    @property
    def resource_metadata_url(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def authorization_server(self) -> str: ...
    @property
    def token_endpoint(self) -> str | None: ...
    @property
    def challenged_scope(self) -> str | None: ...
    @property
    def default_scope(self) -> str | None: ...
    @property
    def supports_enterprise_managed_authorization(self) -> bool: ...
    @property
    def resource_metadata(self) -> dict[str, Any]: ...
    @property
    def authorization_server_metadata(self) -> dict[str, Any]: ...

@disjoint_base
class Session:
    def __new__(cls, config: _Json, *, on_event: Callable[[HttpEvent], object] | None = None) -> Self: ...
    def access_token(self, server_url: str) -> Token: ...
    def cached_token(self, server_url: str) -> Token | None: ...
    def handle_challenge(
        self,
        server_url: str,
        status: int,
        www_authenticate: str | None = None,
        rejected_token: str | None = None,
    ) -> Token: ...
    def set_subject_token(
        self, token: str, token_type: _SubjectTokenType = "id_token", refresh_token: str | None = None
    ) -> None: ...
    def invalidate(self, server_url: str) -> None: ...
    def request_id_jag(self, audience: str, resource: str, scope: str | None = None) -> IdJag: ...
    def discover(self, server_url: str) -> Discovery: ...
    def __reduce__(self) -> NoReturn: ...

# ---- low-level client ------------------------------------------------------------------------

@final
class IdJag:
    @property
    def assertion(self) -> str: ...
    @property
    def issued_token_type(self) -> str: ...
    @property
    def token_type(self) -> str | None: ...
    @property
    def expires_in(self) -> int | None: ...
    @property
    def expires_at(self) -> int | None: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def resource(self) -> list[str] | None: ...
    def __reduce__(self) -> NoReturn: ...

@final
class AccessToken:
    @property
    def access_token(self) -> str: ...
    @property
    def token_type(self) -> str: ...
    @property
    def expires_in(self) -> int | None: ...
    @property
    def expires_at(self) -> int | None: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def resource(self) -> list[str] | None: ...
    def __reduce__(self) -> NoReturn: ...

@disjoint_base
class Client:
    def __new__(
        cls,
        *,
        timeout_ms: int | None = None,
        connect_timeout_ms: int | None = None,
        ca_bundle_pem: str | None = None,
        proxy: str | None = None,
        on_event: Callable[[HttpEvent], object] | None = None,
        insecure_fixed_clock: int | None = None,
    ) -> Self: ...
    def request_id_jag(
        self,
        token_endpoint: str,
        audience: str,
        subject_token: str,
        client: _Json,
        *,
        subject_token_type: _SubjectTokenType = "id_token",
        resource: str | None = None,
        scope: str | None = None,
        idp_issuer: str | None = None,
        auth_methods_supported: Sequence[str] | None = None,
    ) -> IdJag: ...
    def redeem_id_jag(
        self,
        token_endpoint: str,
        assertion: str,
        client: _Json,
        *,
        issuer: str | None = None,
        resource: str | None = None,
        scope: str | None = None,
        auth_methods_supported: Sequence[str] | None = None,
    ) -> AccessToken: ...
    def authorization_server_metadata(self, issuer: str) -> dict[str, Any]: ...

# ---- offline helpers -------------------------------------------------------------------------

@final
class Inspection:
    @property
    def kind(self) -> Literal["id_jag", "id_token", "jwt", "encrypted"]: ...
    @property
    def header(self) -> dict[str, Any]: ...
    @property
    def claims(self) -> dict[str, Any]: ...
    @property
    def expires_at(self) -> int | None: ...
    @property
    def issued_at(self) -> int | None: ...
    @property
    def not_before(self) -> int | None: ...
    @property
    def expired(self) -> bool: ...
    @property
    def warnings(self) -> list[str]: ...

def inspect(token: str, *, now: int | None = None) -> Inspection: ...

@final
class ResourceChallenge:
    @property
    def resource_metadata(self) -> str | None: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def error_description(self) -> str | None: ...

def parse_www_authenticate(headers: str | Sequence[str]) -> ResourceChallenge: ...

# ---- verifier (authorization-server side) ----------------------------------------------------

_RejectReason = Literal[
    "too_large",
    "malformed",
    "encrypted_unsupported",
    "invalid_typ",
    "unsupported_alg",
    "crit_unsupported",
    "header_key_injection",
    "untrusted_issuer",
    "unknown_key",
    "bad_signature",
    "audience_mismatch",
    "client_mismatch",
    "resource_mismatch",
    "expired",
    "not_yet_valid",
    "too_old",
    "lifetime_too_long",
    "issued_in_future",
    "replayed",
    "missing_claim",
    "scope_not_granted",
    "acr_not_accepted",
    "auth_time_too_old",
]

@final
class VerifiedGrant:
    @property
    def iss(self) -> str: ...
    @property
    def sub(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def resource(self) -> list[str]: ...
    @property
    def primary_resource(self) -> str: ...
    @property
    def resource_defaulted(self) -> bool: ...
    @property
    def scope(self) -> str | None: ...
    @property
    def scope_source(self) -> Literal["id_jag", "default_scope", "no_statement"]: ...
    @property
    def exp(self) -> int: ...
    @property
    def iat(self) -> int: ...
    @property
    def jti(self) -> str: ...
    @property
    def first_use(self) -> bool: ...
    @property
    def tenant(self) -> str | None: ...
    @property
    def aud_tenant(self) -> str | None: ...
    @property
    def aud_sub(self) -> str | None: ...
    @property
    def acr(self) -> str | None: ...
    @property
    def auth_time(self) -> int | None: ...
    @property
    def claims(self) -> dict[str, Any]: ...

@disjoint_base
class Verifier:
    def __new__(
        cls,
        config: _Json,
        *,
        on_event: Callable[[HttpEvent], object] | None = None,
        insecure_fixed_clock: int | None = None,
    ) -> Self: ...
    @property
    def issuer(self) -> str: ...
    def verify(self, assertion: str, client_id: str, scope: str | None = None) -> VerifiedGrant: ...
    def prefetch_keys(self) -> None: ...

def reject_reasons() -> list[_RejectReason]: ...
def token_error_response_for(
    code: str, reason: str | None = None, *, acr_values: str | None = None, max_age: int | None = None
) -> tuple[int, dict[str, str | int]]: ...
