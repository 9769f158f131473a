"""idjag for the official MCP Python SDK (``mcp`` 2.x, whose HTTP client is ``httpx2``).

Three ways in:

1. :class:`IdjagTransport`, an ``httpx2`` transport that gives the SDK's streamable HTTP client
   the whole enterprise-managed authorization flow from an :class:`idjag.Session` (discovery,
   both legs, caching, renewal, 401/403 handling)::

       import httpx2
       from mcp import Client
       from mcp.client.streamable_http import streamable_http_client
       import idjag
       from idjag.mcp import IdjagTransport

       session = idjag.Session(config)
       async with httpx2.AsyncClient(transport=IdjagTransport(session)) as http:
           async with Client(streamable_http_client(url, http_client=http)) as mcp:
               tools = await mcp.list_tools()

   Each request gets ``Authorization: Bearer ...`` from the session (a cached token costs no
   thread hop and no I/O); a 401, or a 403 ``insufficient_scope``, is answered with
   ``Session.handle_challenge`` (naming the token that was rejected) and the request is retried
   once. There is no lock in the transport: concurrent requests proceed in parallel, and
   concurrent renewals of one token are coalesced into one exchange by the session.

   **Errors.** When no token can be had (the user must sign in again, the IdP is down, ...)
   the one request fails, not the connection: the SDK raises
   ``mcp.shared.exceptions.MCPError`` from that call, and :func:`idjag_error` returns the
   :class:`idjag.IdjagError` behind it. The connection stays usable; once the cause is fixed
   (for example ``session.set_subject_token(new_id_token)``) the next call works::

       from mcp.shared.exceptions import MCPError
       from idjag.mcp import idjag_error

       try:
           result = await mcp.call_tool("whoami", {})
       except MCPError as e:
           if not isinstance(idjag_error(e), idjag.ReauthenticationRequired):
               raise
           session.set_subject_token(sign_the_user_in_again())
           result = await mcp.call_tool("whoami", {})  # same connection

2. :class:`IdjagAuth`, the same flow as an ``httpx2.Auth`` for plain ``httpx2`` clients (sync
   or async): an :class:`idjag.IdjagError` propagates from ``client.send``. Under the MCP SDK
   that exception escapes the SDK's task group and ends the whole connection (the SDK's own
   OAuth providers, also ``httpx2.Auth`` flows, behave the same): the caller gets an
   ``ExceptionGroup`` from ``async with Client(...)``, in which :func:`idjag_error` finds the
   idjag error. Prefer :class:`IdjagTransport` with the SDK.

3. :func:`assertion_provider`, for code that already uses the SDK's own
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
import secrets
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any, Optional, Union

import anyio.to_thread
import httpx2

from . import IdjagError, Session, SubjectTokenType, Token

__all__ = [
    "IdjagAssertionProvider",
    "IdjagAuth",
    "IdjagTransport",
    "assertion_provider",
    "idjag_error",
]


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

    On a 401 or a 403 the flow hands the challenge and the token the request carried to
    ``Session.handle_challenge`` (the core decides: the current token if the rejected one is
    older, a re-exchange after a 401 against the current one, a step-up after a 403
    ``insufficient_scope``) and retries the request once with the token it returns. When the
    core answers that access is denied (a 403 that is not a scope challenge, or a step-up that
    cannot help) the 403 response is returned as is; any other :class:`idjag.IdjagError` (for
    example :class:`idjag.ReauthenticationRequired`) propagates to the caller of
    ``client.send`` — under the MCP SDK that ends the connection, see the module
    documentation and :class:`IdjagTransport`. Async requests call the session in a worker
    thread only when it has to talk to a server (``anyio.to_thread``, so asyncio and trio
    both work).
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
        token = self._session.access_token(url)
        request.headers["Authorization"] = token.authorization
        response = yield request
        status = response.status_code
        if status != 401 and status != 403:
            return
        try:
            token = self._session.handle_challenge(
                url, status, _challenge(response), token.access_token
            )
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
                self._session.handle_challenge, url, status, _challenge(response), token.access_token
            )
        except IdjagError as e:
            if _denied(e, status):
                return
            raise
        request.headers["Authorization"] = token.authorization
        yield request


# JSON-RPC "internal error": what the SDK itself reports for a failed HTTP exchange.
_INTERNAL_ERROR = -32603
_MAX_REMEMBERED = 256
_remembered: OrderedDict[str, IdjagError] = OrderedDict()
_remembered_lock = threading.Lock()


def _remember(error: IdjagError) -> str:
    ref = secrets.token_hex(16)  # unguessable: a server cannot forge a reference
    error.__traceback__ = None  # its frames hold the request, with its token
    with _remembered_lock:
        _remembered[ref] = error
        while len(_remembered) > _MAX_REMEMBERED:
            _remembered.popitem(last=False)
    return ref


def _recall(data: object) -> Optional[IdjagError]:
    if not isinstance(data, Mapping):
        return None
    info = data.get("idjag")
    ref = info.get("ref") if isinstance(info, Mapping) else None
    if not isinstance(ref, str):
        return None
    with _remembered_lock:
        return _remembered.get(ref)


def idjag_error(error: Union[BaseException, httpx2.Response, None]) -> Optional[IdjagError]:
    """The :class:`idjag.IdjagError` behind what an MCP SDK caller caught, or ``None``.

    Accepts the ``mcp.shared.exceptions.MCPError`` of a request that :class:`IdjagTransport`
    failed (the most recent 256 such errors are kept), an exception group (what the SDK
    raises when an :class:`IdjagAuth` flow fails), an exception chained to an idjag error, an
    idjag error itself, or the response :class:`IdjagTransport` made up for a failed request.
    Only errors raised in this process are returned: an MCP server that imitates the error's
    ``data`` gets ``None`` here."""
    stack: list[object] = [error]
    seen: set[int] = set()
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, httpx2.Response):
            found = e.extensions.get("idjag_error")
            if isinstance(found, IdjagError):
                return found
            continue
        if isinstance(e, IdjagError):
            return e
        if not isinstance(e, BaseException):
            continue
        recalled = _recall(getattr(e, "data", None))
        if recalled is not None:
            return recalled
        stack.append(e.__context__)
        stack.append(e.__cause__)
        stack.extend(reversed(getattr(e, "exceptions", None) or ()))
    return None


def _request_id(request: httpx2.Request) -> object:
    """The JSON-RPC id of the request's body, or ``None`` (a notification, or not JSON-RPC)."""
    try:
        message = json.loads(request.content)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(message, dict) and "method" in message:
        rid = message.get("id")
        if isinstance(rid, (str, int)) and not isinstance(rid, bool):
            return rid
    return None


def _failed(request: httpx2.Request, error: IdjagError, status: int) -> httpx2.Response:
    """The response standing in for a request that idjag could not authorize: a JSON-RPC error
    for the request's id (the SDK fails that one call with it), never sent to any server."""
    info: dict[str, Any] = {
        "code": error.code,
        "step": error.step,
        "action": error.action,
        "status": error.status,
        "error": error.error,
        "ref": _remember(error),
    }
    body = {
        "jsonrpc": "2.0",
        "id": _request_id(request),
        "error": {"code": _INTERNAL_ERROR, "message": f"idjag: {error}", "data": {"idjag": info}},
    }
    return httpx2.Response(
        status,
        headers={"content-type": "application/json", "cache-control": "no-store"},
        content=json.dumps(body).encode(),
        request=request,
        extensions={"idjag_error": error},
    )


class IdjagTransport(httpx2.AsyncBaseTransport):
    """An ``httpx2`` async transport running :class:`IdjagAuth`'s flow around another transport
    (``transport``, default ``httpx2.AsyncHTTPTransport()``: pass your own for TLS, proxy or
    pool settings), so that an idjag failure fails only the request it belongs to.

    When the session cannot provide a token (before the request is sent, or after a 401/403
    the core cannot answer), the request is not sent (again) and the transport returns a
    response of its own instead: status 401 (or the server's 401/403), a JSON body holding a
    JSON-RPC error (code -32603, message ``idjag: <the error>``, ``data.idjag`` with the
    error's ``code``, ``step``, ``action`` and ``status``) for the request's id, and the
    exception in ``response.extensions["idjag_error"]``. The MCP SDK turns it into an
    ``MCPError`` for that call and the connection lives on; :func:`idjag_error` maps the
    ``MCPError`` back to the :class:`idjag.IdjagError`. A 403 the core calls ``denied`` is
    returned as the server sent it, as with :class:`IdjagAuth`.

    Network settings belong to the inner transport: an ``httpx2.AsyncClient`` given a
    transport ignores the proxy environment variables, and its ``proxy=`` or ``mounts=`` would
    route requests around this transport (unauthenticated). Do not also set ``auth=``.
    """

    def __init__(
        self,
        session: Session,
        server_url: Optional[str] = None,
        *,
        transport: Optional[httpx2.AsyncBaseTransport] = None,
    ) -> None:
        self._auth = IdjagAuth(session, server_url)
        self._inner = transport if transport is not None else httpx2.AsyncHTTPTransport()

    @property
    def session(self) -> Session:
        return self._auth.session

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()  # the retry sends the body again
        flow = self._auth.async_auth_flow(request)
        response: Optional[httpx2.Response] = None
        try:
            outgoing = await flow.__anext__()
            while True:
                response = await self._inner.handle_async_request(outgoing)
                try:
                    outgoing = await flow.asend(response)
                except StopAsyncIteration:
                    return response
                await response.aread()  # the connection goes back to the pool
                await response.aclose()
        except IdjagError as e:
            status = 401
            if response is not None:  # the 401/403 the core could not answer
                status = response.status_code
                try:
                    await response.aread()
                except httpx2.HTTPError:
                    pass  # the idjag error is the one to report
                finally:
                    await response.aclose()
            return _failed(request, e, status)
        finally:
            await flow.aclose()

    async def aclose(self) -> None:
        await self._inner.aclose()


class IdjagAssertionProvider:
    """Leg 1 for the SDK's ``IdentityAssertionOAuthProvider``: an async callable
    ``(audience, resource) -> ID-JAG`` that exchanges the user's identity assertion at the IdP.

    ``config`` is the shared idjag configuration (mapping or JSON, the same shape as
    :class:`idjag.Session`; a ``client`` entry is not needed here). Leg 1 runs in the core
    (``Session.request_id_jag``): the IdP endpoint is resolved once, the ID token is renewed with
    ``idp_refresh_token`` when it has expired or is rejected, and
    :class:`idjag.ReauthenticationRequired` is raised when it cannot be. ``scope`` is the scope
    to ask the IdP for; without it the ID-JAG request carries none (the core's choice for leg 1
    alone). Call :meth:`set_subject_token` after the user signed in again. Every call mints a
    fresh ID-JAG (authorization servers accept each only once); the SDK provider caches the
    access token.
    """

    def __init__(
        self,
        config: Union[str, Mapping[str, Any]],
        *,
        session: Optional[Session] = None,
        scope: Optional[str] = None,
    ) -> None:
        self._scope = scope
        self._session = session if session is not None else Session(config)

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
    config: Union[str, Mapping[str, Any]],
    *,
    session: Optional[Session] = None,
    scope: Optional[str] = None,
) -> IdjagAssertionProvider:
    """The ``assertion_provider`` callback for ``IdentityAssertionOAuthProvider`` (see
    :class:`IdjagAssertionProvider`)."""
    return IdjagAssertionProvider(config, session=session, scope=scope)
