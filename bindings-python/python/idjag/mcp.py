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

from . import IdjagError, Session, SubjectTokenType, Token

__all__ = ["IdjagAssertionProvider", "IdjagAuth", "assertion_provider"]


def _challenge(response: httpx2.Response) -> Optional[str]:
    values = response.headers.get_list("www-authenticate")
    return ", ".join(values) if values else None


def _denied(error: IdjagError, status: int) -> bool:
    """The core's verdict on a 403: access denied by policy, nothing to retry."""
    return status == 403 and error.action == "denied"


class IdjagAuth(httpx2.Auth):
    """``httpx2.Auth`` adding the session's bearer token to every request.

    ``server_url`` is the MCP server URL the session should get tokens for; by default it is
    the URL of each request without query string or fragment (right for the streamable HTTP
    transport, which talks to one endpoint).

    On a 401 or a 403 the flow hands the challenge to ``Session.handle_challenge`` (the core
    decides: re-exchange after a 401, step up after a 403 ``insufficient_scope``) and retries
    the request once with the token it returns. When the core answers that access is denied
    (a 403 that is not a scope challenge, or a step-up that cannot help) the 403 response is
    returned as is; any other :class:`idjag.IdjagError` (for example
    :class:`idjag.ReauthenticationRequired`) propagates to the caller. Async requests call the session in a worker thread only when it has to talk to a
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
        if status != 401 and status != 403:
            return
        try:
            token = self._session.handle_challenge(url, status, _challenge(response))
        except IdjagError as e:
            if _denied(e, status):
                return
            raise
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
        try:
            token = await anyio.to_thread.run_sync(
                self._session.handle_challenge, url, status, _challenge(response)
            )
        except IdjagError as e:
            if _denied(e, status):
                return
            raise
        request.headers["Authorization"] = token.authorization
        yield request


class IdjagAssertionProvider:
    """Leg 1 for the SDK's ``IdentityAssertionOAuthProvider``: an async callable
    ``(audience, resource) -> ID-JAG`` that exchanges the user's identity assertion at the IdP.

    ``config`` is the shared idjag configuration (mapping or JSON, the same shape as
    :class:`idjag.Session`; a ``client`` entry is not needed here). Leg 1 runs in the core
    (``Session.request_id_jag``): the IdP endpoint is resolved once, the ID token is renewed with
    ``idp_refresh_token`` when it has expired or is rejected, and
    :class:`idjag.ReauthenticationRequired` is raised when it cannot be. Call
    :meth:`set_subject_token` after the user signed in again. Every call mints a fresh ID-JAG
    (authorization servers accept each only once); the SDK provider caches the access token.
    """

    def __init__(self, config: Union[str, Mapping[str, Any]], *, session: Optional[Session] = None) -> None:
        cfg: dict[str, Any] = json.loads(config) if isinstance(config, str) else dict(config)
        self._scope: Optional[str] = cfg.get("scope")
        self._session = session if session is not None else Session(cfg)

    @property
    def session(self) -> Session:
        return self._session

    def set_subject_token(self, token: str, token_type: SubjectTokenType = "id_token") -> None:
        """Replaces the user's identity assertion."""
        self._session.set_subject_token(token, token_type)

    def __repr__(self) -> str:
        return "IdjagAssertionProvider(subject_token=<redacted>)"

    def request(self, audience: str, resource: str) -> str:
        """The blocking exchange (runs in a worker thread when awaited)."""
        return self._session.request_id_jag(audience, resource, self._scope).assertion

    async def __call__(self, audience: str, resource: str) -> str:
        return await anyio.to_thread.run_sync(self.request, audience, resource)


def assertion_provider(
    config: Union[str, Mapping[str, Any]], *, session: Optional[Session] = None
) -> IdjagAssertionProvider:
    """The ``assertion_provider`` callback for ``IdentityAssertionOAuthProvider`` (see
    :class:`IdjagAssertionProvider`)."""
    return IdjagAssertionProvider(config, session=session)
