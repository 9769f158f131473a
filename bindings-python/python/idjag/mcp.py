"""idjag for the official MCP Python SDK (``mcp`` 2.x, whose HTTP client is ``httpx2``).

Two ways in:

1. :class:`IdjagAuth`, an ``httpx2.Auth`` that gives the SDK's streamable HTTP client the whole
   enterprise-managed authorization flow from an :class:`idjag.Session` (discovery, both legs,
   caching, renewal, 401/403 handling)::

       import httpx2
       from mcp import Client
       from mcp.client.streamable_http import streamable_http_client
       import idjag
       from idjag.mcp import IdjagAuth

       session = idjag.Session(config)
       async with httpx2.AsyncClient(auth=IdjagAuth(session)) as http:
           async with Client(streamable_http_client(url, http_client=http), mode="legacy") as mcp:
               tools = await mcp.list_tools()

   Each request gets ``Authorization: Bearer ...`` from the session (a cached token costs no
   thread hop and no I/O); a 401, or a 403 ``insufficient_scope``, is answered with
   ``Session.handle_challenge`` and the request is retried once. There is no lock in the auth
   object: concurrent requests proceed in parallel, and concurrent renewals of one token are
   coalesced into one exchange by the session (single-flight).

2. :func:`assertion_provider`, for code that already uses the SDK's own
   ``mcp.client.auth.extensions.identity_assertion.IdentityAssertionOAuthProvider``: the SDK
   leaves leg 1 (the IdP token exchange that produces the ID-JAG) to its ``assertion_provider``
   callback, and this supplies it from idjag::

       provider = IdentityAssertionOAuthProvider(
           server_url=url, storage=storage, client_id=..., client_secret=..., issuer=as_issuer,
           assertion_provider=idjag.mcp.assertion_provider(config),
       )

Only ``mcp`` 2.x (``httpx2``) is supported; ``mcp`` 1.x used ``httpx``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any, Optional, Union

import anyio.to_thread
import httpx2

from . import Client, Session, SubjectTokenType, Token

__all__ = ["IdjagAssertionProvider", "IdjagAuth", "assertion_provider"]


def _challenge(response: httpx2.Response) -> Optional[str]:
    values = response.headers.get_list("www-authenticate")
    return ", ".join(values) if values else None


def _is_scope_challenge(www_authenticate: Optional[str]) -> bool:
    if not www_authenticate:
        return False
    from . import parse_www_authenticate

    return parse_www_authenticate(www_authenticate).error == "insufficient_scope"


class IdjagAuth(httpx2.Auth):
    """``httpx2.Auth`` adding the session's bearer token to every request.

    ``server_url`` is the MCP server URL the session should get tokens for; by default it is
    the URL of each request without query string or fragment (right for the streamable HTTP
    transport, which talks to one endpoint).

    On a 401 (any) or a 403 whose challenge is ``insufficient_scope``, the flow calls
    ``Session.handle_challenge`` and retries the request once with the token it returns; if
    the session cannot produce one, its :class:`idjag.IdjagError` (for example
    :class:`idjag.ReauthenticationRequired`) propagates to the caller. Any other 403 is returned
    as is. Async requests call the session in a worker thread only when it has to talk to a
    server (``anyio.to_thread``, so asyncio and trio both work).
    """

    requires_request_body = True

    def __init__(self, session: Session, server_url: Optional[str] = None) -> None:
        self._session = session
        self._server_url = server_url

    @property
    def session(self) -> Session:
        return self._session

    def _url(self, request: httpx2.Request) -> str:
        if self._server_url is not None:
            return self._server_url
        url = request.url
        if not url.query and not url.fragment:
            return str(url)
        return str(url.copy_with(query=None, fragment=None))  # ~17 µs, hence the fast path

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        url = self._url(request)
        request.headers["Authorization"] = self._session.access_token(url).authorization
        response = yield request
        status = response.status_code
        if status == 401 or (status == 403 and _is_scope_challenge(_challenge(response))):
            token = self._session.handle_challenge(url, status, _challenge(response))
            request.headers["Authorization"] = token.authorization
            yield request

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        url = self._url(request)
        token: Optional[Token] = self._session.cached_token(url)
        if token is None:
            token = await anyio.to_thread.run_sync(self._session.access_token, url)
        request.headers["Authorization"] = token.authorization
        response = yield request
        status = response.status_code
        if status != 401 and status != 403:
            return
        www = _challenge(response)
        if status == 401 or _is_scope_challenge(www):
            token = await anyio.to_thread.run_sync(
                self._session.handle_challenge, url, status, www
            )
            request.headers["Authorization"] = token.authorization
            yield request


class IdjagAssertionProvider:
    """Leg 1 for the SDK's ``IdentityAssertionOAuthProvider``: an async callable
    ``(audience, resource) -> ID-JAG`` that exchanges the user's identity assertion at the IdP.

    ``config`` is the shared idjag configuration (mapping or JSON); only ``idp``,
    ``subject_token``, ``subject_token_type``, ``scope`` and ``timeout_ms`` are used. The IdP
    token endpoint is ``idp.token_endpoint``, or discovered from ``idp.issuer`` (cached). Call
    :meth:`set_subject_token` after the user signed in again. Every call mints a fresh ID-JAG
    (authorization servers accept each only once); the SDK provider caches the access token.
    """

    def __init__(self, config: Union[str, Mapping[str, Any]], *, client: Optional[Client] = None) -> None:
        cfg: dict[str, Any] = json.loads(config) if isinstance(config, str) else dict(config)
        idp = dict(cfg.get("idp") or {})
        if not idp.get("client_id"):
            from . import ConfigurationError

            raise ConfigurationError("configuration key `idp.client_id` is required")
        self._issuer: Optional[str] = idp.pop("issuer", None)
        self._token_endpoint: Optional[str] = idp.pop("token_endpoint", None)
        if self._issuer is None and self._token_endpoint is None:
            from . import ConfigurationError

            raise ConfigurationError("configuration key `idp`: set `idp.issuer` or `idp.token_endpoint`")
        self._idp_client = json.dumps(idp)
        self._subject: Optional[str] = cfg.get("subject_token")
        self._subject_type: SubjectTokenType = cfg.get("subject_token_type") or "id_token"
        self._scope: Optional[str] = cfg.get("scope")
        self._client = client if client is not None else Client(timeout_ms=cfg.get("timeout_ms"))
        self._methods: Optional[list[str]] = None

    def set_subject_token(self, token: str, token_type: SubjectTokenType = "id_token") -> None:
        """Replaces the user's identity assertion."""
        self._subject = token
        self._subject_type = token_type

    def __repr__(self) -> str:
        return f"IdjagAssertionProvider(idp={self._issuer or self._token_endpoint!r}, subject_token=<redacted>)"

    def request(self, audience: str, resource: str) -> str:
        """The blocking exchange (runs in a worker thread when awaited)."""
        if not self._subject:
            from . import ReauthenticationRequired

            raise ReauthenticationRequired(
                "no subject token: sign the user in and call set_subject_token"
            )
        endpoint = self._token_endpoint
        if endpoint is None:
            assert self._issuer is not None
            meta = self._client.authorization_server_metadata(self._issuer)
            endpoint = meta.get("token_endpoint")
            self._methods = meta.get("token_endpoint_auth_methods_supported")
            if not endpoint:
                from . import NotSupportedError

                raise NotSupportedError("the IdP metadata has no token_endpoint")
        jag = self._client.request_id_jag(
            endpoint,
            audience,
            self._subject,
            self._idp_client,
            subject_token_type=self._subject_type,
            resource=resource,
            scope=self._scope,
            idp_issuer=self._issuer,
            auth_methods_supported=self._methods,
        )
        return jag.assertion

    async def __call__(self, audience: str, resource: str) -> str:
        return await anyio.to_thread.run_sync(self.request, audience, resource)


def assertion_provider(
    config: Union[str, Mapping[str, Any]], *, client: Optional[Client] = None
) -> IdjagAssertionProvider:
    """The ``assertion_provider`` callback for ``IdentityAssertionOAuthProvider`` (see
    :class:`IdjagAssertionProvider`)."""
    return IdjagAssertionProvider(config, client=client)
