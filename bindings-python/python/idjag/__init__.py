"""idjag: MCP Enterprise-Managed Authorization (SEP-990, ID-JAG) for Python.

The client side gives an MCP client an access token for an MCP server from the user's
enterprise sign-in: it discovers the server's authorization server, exchanges the user's ID
token (or SAML assertion, or IdP refresh token) at the IdP for an ID-JAG (RFC 8693), redeems the
ID-JAG at the authorization server (RFC 7523), caches and renews the token, and reacts to
401/403 challenges::

    import idjag

    session = idjag.Session({
        "idp": {"issuer": "https://idp.example.com", "client_id": "app", "client_secret": "..."},
        "subject_token": id_token,
        "client": {"client_id": "app-at-mcp-as", "client_secret": "..."},
    })
    token = session.access_token("https://mcp.example.com/mcp")
    headers = {"Authorization": token.authorization}

:mod:`idjag.mcp` plugs a session into the official ``mcp`` SDK.

Threads and asyncio
-------------------
Every object is thread-safe and every network call releases the GIL, so threads really run
in parallel. The ``*_async`` methods run the blocking call in a worker thread
(:func:`asyncio.to_thread`) unless the answer is already cached, so they never block the event
loop. **Cancellation**: cancelling an awaiting task abandons the wait at once, but the HTTP
exchange already in flight in the worker thread is not aborted; it finishes (bounded by the
configured ``timeout_ms``, 30 s by default) and its token is cached for the next caller.

Events
------
``Session(config, on_event=callback)`` calls ``callback(idjag.HttpEvent)`` for each HTTP
exchange, and every exchange is logged at ``DEBUG`` on the ``idjag`` logger. Events carry the
step, method, URL (no query string), status, duration and size, never a header, body or
token. They are delivered on the calling thread, with the GIL, once the core call that caused
them is done and before the method returns (in order, outside every idjag lock, so the
callback may call the session, even for the same server). An exception raised by the callback
goes to :func:`sys.unraisablehook` and affects neither the call nor the session.
"""

from __future__ import annotations

# asyncio is imported inside the async functions: importing it costs ~10 ms, which programs
# that never await should not pay.
import threading
from typing import Any, Literal, Mapping, Optional, Sequence, Union

from . import _native
from ._native import (
    AccessToken,
    Discovery,
    HttpEvent,
    IdJag,
    Inspection,
    ResourceChallenge,
    Token,
    __version__,
    action_codes,
    error_codes,
    inspect,
    VerifiedGrant,
    parse_www_authenticate,
    reject_reasons,
    step_codes,
)
from .errors import (
    Action,
    ConfigurationError,
    ErrorCode,
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
    RejectReason,
    ResourceMismatchError,
    ResponseError,
    ResponseTooLargeError,
    Step,
    TransportError,
    VerificationError,
)

SubjectTokenType = Literal[
    "id_token",
    "saml2",
    "refresh_token",
    "urn:ietf:params:oauth:token-type:id_token",
    "urn:ietf:params:oauth:token-type:saml2",
    "urn:ietf:params:oauth:token-type:refresh_token",
]
"""The type of the user's identity assertion (short name or RFC 8693 URN)."""

ClientSpec = Union[str, Mapping[str, Any]]
"""Client credentials in the shared configuration shape: ``{"client_id": ..., "client_secret":
..., "auth_method": ..., "private_key_pem": ..., "signing_alg": ..., "key_id": ...}`` (a
mapping, or its JSON text)."""


class Session(_native.Session):
    """The high-level MCP client, one per signed-in user, shared by every thread and task.

    ``config`` is the shared JSON configuration (the same shape as the Rust ``SessionConfig``,
    the CLI's config file and the C and Node constructors), as a mapping or JSON text. Unknown
    keys raise :class:`ConfigurationError`.

    - ``access_token(server_url)``: a cached token (no I/O), or discovery + exchange + redemption
      (the GIL is released meanwhile). Concurrent callers for one server share one exchange.
    - ``handle_challenge(server_url, status, www_authenticate=None, rejected_token=None)``: after
      a 401/403 from the MCP server, the token to retry with. Pass the token the rejected
      request carried (``token.access_token`` or ``token.authorization``): a 401 against an
      older token then returns the current one at once, a 401 against the current one mints a
      new one (so back-to-back revocations each get a fresh token), and only a token rejected
      right after its own minting several times in a row fails instead of looping.
    - ``set_subject_token(token, token_type="id_token", refresh_token=None)``: after the user
      signed in again (answer to :class:`ReauthenticationRequired`).
    - ``invalidate(server_url)``, ``discover(server_url)``, ``cached_token(server_url)``.
    - ``request_id_jag(audience, resource, scope=None)``: leg 1 alone (for SDK providers that
      redeem the ID-JAG themselves), with the same subject-token lifecycle.
    """

    __slots__ = ()

    async def access_token_async(self, server_url: str) -> Token:
        """:meth:`access_token` without blocking the event loop (see the module docs on
        cancellation). A cached token is returned without a thread hop."""
        import asyncio
        cached = self.cached_token(server_url)
        if cached is not None:
            return cached
        return await asyncio.to_thread(self.access_token, server_url)

    async def handle_challenge_async(
        self,
        server_url: str,
        status: int,
        www_authenticate: Optional[str] = None,
        rejected_token: Optional[str] = None,
    ) -> Token:
        """:meth:`handle_challenge` in a worker thread."""
        import asyncio
        return await asyncio.to_thread(
            self.handle_challenge, server_url, status, www_authenticate, rejected_token
        )

    async def request_id_jag_async(
        self, audience: str, resource: str, scope: Optional[str] = None
    ) -> IdJag:
        """:meth:`request_id_jag` (leg 1 alone) in a worker thread."""
        import asyncio
        return await asyncio.to_thread(self.request_id_jag, audience, resource, scope)

    async def discover_async(self, server_url: str) -> Discovery:
        """:meth:`discover` in a worker thread."""
        import asyncio
        return await asyncio.to_thread(self.discover, server_url)


class Client(_native.Client):
    """The two legs as plain calls, for callers that manage discovery and caching themselves.

    ``Client(*, timeout_ms=None, connect_timeout_ms=None, ca_bundle_pem=None, proxy=None,
    on_event=None)`` owns one pooled HTTP agent; share it. ``insecure_fixed_clock`` (Unix
    seconds) freezes its clock, for replaying recorded test vectors only: never in production.
    """

    __slots__ = ()

    async def request_id_jag_async(
        self,
        token_endpoint: str,
        audience: str,
        subject_token: str,
        client: ClientSpec,
        **kwargs: Any,
    ) -> IdJag:
        """:meth:`request_id_jag` in a worker thread."""
        import asyncio
        return await asyncio.to_thread(
            self.request_id_jag, token_endpoint, audience, subject_token, client, **kwargs
        )

    async def redeem_id_jag_async(
        self, token_endpoint: str, assertion: str, client: ClientSpec, **kwargs: Any
    ) -> AccessToken:
        """:meth:`redeem_id_jag` in a worker thread."""
        import asyncio
        return await asyncio.to_thread(
            self.redeem_id_jag, token_endpoint, assertion, client, **kwargs
        )


class Verifier(_native.Verifier):
    """Verifies ID-JAGs for one MCP authorization server (the AS side of SEP-990).

    ``config`` is the verifier configuration (mapping or JSON; the same shape as the Rust
    ``VerifierConfig``): ``issuer``, ``resources``, ``trusted_idps`` (with ``jwks_uri``, a
    static ``jwks``, or discovery from the issuer), ``algorithms``, ``clock_skew_s``,
    ``max_age_s``, ``max_lifetime_s``, ``default_resource``/``missing_resource``,
    ``default_scope``, ``client_scopes``, ``user_authentication`` (step-up for sensitive
    servers: ``{"acr_values": [...], "max_auth_age_s": N, "resources": {url: {...}}}``) and
    ``replay`` (``{"policy": "single_use" | "until_exp", "redis_url": ...}``; ``until_exp``
    accepts an ID-JAG again until it expires and is weaker: see the guide).

    ``verify(assertion, client_id, scope=None)`` returns a :class:`VerifiedGrant` or raises
    :class:`VerificationError` (``.reason`` tells why, one of :data:`RejectReason`; for
    ``acr_not_accepted`` / ``auth_time_too_old`` also ``.acr_values`` / ``.max_age``), or a
    transport-class error when the IdP's keys cannot be fetched. Answer the client with
    :func:`token_error_response`. Thread-safe; the ``jti`` replay store is shared by every
    thread (in-memory by default). ``insecure_fixed_clock`` (Unix seconds) freezes the clock,
    for replaying recorded test vectors only: a frozen clock accepts expired ID-JAGs forever.
    """

    __slots__ = ()

    async def verify_async(
        self, assertion: str, client_id: str, scope: Optional[str] = None
    ) -> VerifiedGrant:
        """:meth:`verify` in a worker thread (it may fetch the IdP's JWK Set)."""
        import asyncio
        return await asyncio.to_thread(self.verify, assertion, client_id, scope)


def token_error_response(error: BaseException) -> tuple[int, dict[str, Union[str, int]]]:
    """The token endpoint's answer ``(status, json_body)`` for an exception raised by
    :meth:`Verifier.verify`: ``400 invalid_scope`` for a ``scope_not_granted`` rejection,
    ``400 insufficient_user_authentication`` with ``acr_values`` (str) and/or ``max_age``
    (int) — what the user's new authentication must meet (RFC 9470 §3) — for
    ``acr_not_accepted`` / ``auth_time_too_old``, ``400 invalid_grant`` for every other
    rejection (generic on purpose, so the reason is not disclosed: log ``error.reason``
    instead), ``503 temporarily_unavailable`` when the keys or replay store are unavailable,
    ``500 server_error`` otherwise. Send with ``Cache-Control: no-store``."""
    if not isinstance(error, IdjagError):
        return _native.token_error_response_for("internal")
    acr_values = getattr(error, "acr_values", None)
    max_age = getattr(error, "max_age", None)
    return _native.token_error_response_for(
        error.code,
        error.reason,
        acr_values=acr_values if isinstance(acr_values, str) else None,
        max_age=max_age if isinstance(max_age, int) else None,
    )


_default_client: Optional[Client] = None
_default_lock = threading.Lock()


def _client() -> Client:
    global _default_client
    c = _default_client
    if c is None:
        with _default_lock:
            if _default_client is None:
                _default_client = Client()
            c = _default_client
    return c


def request_id_jag(
    token_endpoint: str,
    audience: str,
    subject_token: str,
    client: ClientSpec,
    *,
    subject_token_type: SubjectTokenType = "id_token",
    resource: Optional[str] = None,
    scope: Optional[str] = None,
    idp_issuer: Optional[str] = None,
    auth_methods_supported: Optional[Sequence[str]] = None,
) -> IdJag:
    """Leg 1 (RFC 8693): exchange ``subject_token`` at the IdP ``token_endpoint`` for an ID-JAG
    whose audience is the MCP authorization server ``audience``, on a shared default
    :class:`Client`. ``client`` is the IdP client (see :data:`ClientSpec`)."""
    return _client().request_id_jag(
        token_endpoint,
        audience,
        subject_token,
        client,
        subject_token_type=subject_token_type,
        resource=resource,
        scope=scope,
        idp_issuer=idp_issuer,
        auth_methods_supported=list(auth_methods_supported)
        if auth_methods_supported is not None
        else None,
    )


def redeem_id_jag(
    token_endpoint: str,
    assertion: str,
    client: ClientSpec,
    *,
    issuer: Optional[str] = None,
    resource: Optional[str] = None,
    scope: Optional[str] = None,
    auth_methods_supported: Optional[Sequence[str]] = None,
) -> AccessToken:
    """Leg 2 (RFC 7523): redeem the ID-JAG ``assertion`` at the MCP authorization server's
    ``token_endpoint`` for an access token, on a shared default :class:`Client`. ``client`` is
    the client registered at that authorization server."""
    return _client().redeem_id_jag(
        token_endpoint,
        assertion,
        client,
        issuer=issuer,
        resource=resource,
        scope=scope,
        auth_methods_supported=list(auth_methods_supported)
        if auth_methods_supported is not None
        else None,
    )


async def request_id_jag_async(
    token_endpoint: str, audience: str, subject_token: str, client: ClientSpec, **kwargs: Any
) -> IdJag:
    """:func:`request_id_jag` in a worker thread."""
    import asyncio
    return await asyncio.to_thread(
        request_id_jag, token_endpoint, audience, subject_token, client, **kwargs
    )


async def redeem_id_jag_async(
    token_endpoint: str, assertion: str, client: ClientSpec, **kwargs: Any
) -> AccessToken:
    """:func:`redeem_id_jag` in a worker thread."""
    import asyncio
    return await asyncio.to_thread(redeem_id_jag, token_endpoint, assertion, client, **kwargs)


__all__ = [
    "AccessToken",
    "Action",
    "Client",
    "ClientSpec",
    "ConfigurationError",
    "Discovery",
    "ErrorCode",
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
    "RejectReason",
    "ResourceChallenge",
    "ResourceMismatchError",
    "ResponseError",
    "ResponseTooLargeError",
    "Session",
    "Step",
    "SubjectTokenType",
    "Token",
    "TransportError",
    "VerificationError",
    "VerifiedGrant",
    "Verifier",
    "__version__",
    "action_codes",
    "error_codes",
    "inspect",
    "parse_www_authenticate",
    "redeem_id_jag",
    "redeem_id_jag_async",
    "reject_reasons",
    "request_id_jag",
    "request_id_jag_async",
    "step_codes",
    "token_error_response",
]
