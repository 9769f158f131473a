"""The idjag exception tree and the stable code literals.

Every error raised by idjag is an :class:`IdjagError` whose ``code`` is one of
:data:`ErrorCode` (the snake_case codes shared by the Rust core, C, Node and the CLI).
Subclasses also inherit the natural builtin where that is idiomatic, so generic handlers keep
working (``except ValueError`` catches configuration mistakes, ``except ConnectionError`` and
``except TimeoutError`` catch network trouble)::

    IdjagError(Exception)
    ├── InvalidArgumentError(IdjagError, ValueError)        invalid_argument
    ├── ConfigurationError(IdjagError, ValueError)          configuration
    ├── TransportError(IdjagError, ConnectionError)         transport
    │   └── IdjagTimeoutError(TransportError, TimeoutError) timeout
    ├── HttpStatusError                                     http_status
    ├── OAuthServerError                                    oauth_error
    ├── ResponseError                                       response_invalid
    │   └── ResponseTooLargeError                           response_too_large
    ├── InsecureUrlError                                    insecure_url
    ├── RedirectRefusedError                                redirect_refused
    ├── IssuerMismatchError                                 issuer_mismatch
    ├── ResourceMismatchError                               resource_mismatch
    ├── NotSupportedError                                   not_supported
    ├── ReauthenticationRequired                            reauthentication_required
    ├── VerificationError                                   verification_failed
    └── InternalError                                       internal

Attributes of every instance: ``code``, ``step`` (:data:`Step`), ``action`` (:data:`Action`),
``status`` (HTTP status or ``None``), ``error`` / ``error_description`` / ``error_uri`` (the
server's RFC 6749 section 5.2 answer, for ``oauth_error``), ``reason`` (a finer reason, e.g. the
verifier's rejection reason). Messages never contain tokens, assertions or secrets.
"""

from __future__ import annotations

from typing import Literal

from ._native import (
    ConfigurationError,
    HttpStatusError,
    IdjagError,
    IdjagTimeoutError,
    InsecureUrlError,
    InternalError,
    InvalidArgumentError,
    IssuerMismatchError,
    NotSupportedError,
    OAuthServerError,
    ReauthenticationRequired,
    RedirectRefusedError,
    ResourceMismatchError,
    ResponseError,
    ResponseTooLargeError,
    TransportError,
    VerificationError,
    error_codes,
)

ErrorCode = Literal[
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
"""The stable error codes (``IdjagError.code``), in the core's declaration order."""

Step = Literal[
    "config",
    "discovery",
    "idp_exchange",
    "idp_refresh",
    "as_grant",
    "resource",
    "verify",
    "transport",
]
"""The protocol step that failed (``IdjagError.step``)."""

Action = Literal["reauthenticate", "reconfigure", "retry", "denied"]
"""What the caller should do (``IdjagError.action``)."""

RejectReason = Literal[
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
"""Why the verifier rejected an ID-JAG (``VerificationError.reason``)."""

__all__ = [
    "Action",
    "ConfigurationError",
    "ErrorCode",
    "HttpStatusError",
    "IdjagError",
    "IdjagTimeoutError",
    "InsecureUrlError",
    "InternalError",
    "InvalidArgumentError",
    "IssuerMismatchError",
    "NotSupportedError",
    "OAuthServerError",
    "ReauthenticationRequired",
    "RedirectRefusedError",
    "RejectReason",
    "ResourceMismatchError",
    "ResponseError",
    "ResponseTooLargeError",
    "Step",
    "TransportError",
    "VerificationError",
    "error_codes",
]
