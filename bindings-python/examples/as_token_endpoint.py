"""A minimal authorization-server token endpoint protecting its RFC 7523 jwt-bearer grant
with one ``idjag.Verifier`` (the Python twin of ``core/examples/as_token_endpoint.rs``;
standard library only besides ``idjag``).

::

    # Serve a real configuration (the verifier configuration of docs/GUIDE.md §5) for at most
    # 100 requests; with REDIS_URL set, replicas share one replay store:
    REDIS_URL=redis://127.0.0.1:6379/0 python bindings-python/examples/as_token_endpoint.py \\
        --config verifier.json --client my-client:my-secret --port 8080 --max-requests 100

The endpoint authenticates the client with ``client_secret_basic`` (RFC 6749 §2.3.1: the id
and secret are form-urlencoded before base64, so they are form-urldecoded after it) or
``client_secret_post`` (never both in one request), checks the grant type and the single
``assertion``, verifies the ID-JAG with the request's ``scope``, and answers RFC 6749 JSON
with ``Cache-Control: no-store``. The access token's scope is exactly ``grant.scope`` — never
the requested scope as such: an ID-JAG without a ``scope`` claim grants none (unless the
configuration has a ``default_scope``). Rejections are generic on the wire (``invalid_scope``
when the requested scope cannot be granted, ``insufficient_user_authentication`` with
``acr_values`` / ``max_age`` when the configuration's ``user_authentication`` policy is not
met, ``invalid_grant`` otherwise, ``503 temporarily_unavailable`` when the IdP's keys or the
replay store are unavailable, all from ``idjag.token_error_response``); the reason code goes
to the log (stderr). It serves on 127.0.0.1 only, one request at a time, and stops after
``--max-requests`` requests.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import secrets
import sys
import urllib.parse
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable, Optional, Union

import idjag

#: Largest request body read.
MAX_BODY = 64 * 1024

GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"

Clients = dict[str, str]
Body = dict[str, Union[str, int]]


class Reply:
    def __init__(self, status: int, body: Body, www_authenticate: bool = False) -> None:
        self.status = status
        self.body = body
        self.www_authenticate = www_authenticate


def json_error(status: int, error: str, description: str) -> Reply:
    return Reply(status, {"error": error, "error_description": description})


def basic_credentials(header: str) -> Optional[tuple[str, str]]:
    """RFC 6749 §2.3.1: ``client_id`` and ``client_secret`` are form-urlencoded, then joined
    by ``:`` and base64-encoded."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return None
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)


def grant_reply(grant: idjag.VerifiedGrant) -> Reply:
    # A real AS mints a signed, audience-restricted access token here; the demo hands out an
    # opaque random one and reports what it would be bound to.
    body: Body = {
        "access_token": secrets.token_hex(16),
        "token_type": "Bearer",
        "expires_in": 300,
        "resource": grant.primary_resource,
    }
    # The granted scope, never more than the ID-JAG (or the configured default) states. RFC
    # 6749 §5.1 requires it when it differs from the request; sending it always is simpler.
    if grant.scope is not None:
        body["scope"] = grant.scope
    return Reply(200, body)


def authenticate(
    clients: Clients, authorization: Optional[str], values: Callable[[str], list[str]]
) -> Union[str, Reply]:
    """The authenticated client id, or the error to answer."""
    post_id, post_secret = values("client_id"), values("client_secret")
    if len(post_id) > 1 or len(post_secret) > 1:
        return json_error(400, "invalid_request", "repeated client credentials")
    creds: Optional[tuple[str, str]] = None
    if authorization is not None:
        if post_secret:
            # RFC 6749 §2.3: one client authentication method per request.
            return json_error(400, "invalid_request", "more than one client authentication method")
        creds = basic_credentials(authorization)
        if creds is not None and post_id and post_id[0] != creds[0]:
            creds = None  # a `client_id` in the body must name the authenticated client
    elif post_id and post_secret:
        creds = (post_id[0], post_secret[0])
    if creds is not None:
        client_id, secret = creds
        expected = clients.get(client_id)
        if expected is not None and hmac.compare_digest(expected.encode(), secret.encode()):
            return client_id
    r = json_error(401, "invalid_client", "client authentication failed")
    r.www_authenticate = True
    return r


def handle(
    verifier: idjag.Verifier,
    clients: Clients,
    method: str,
    path: str,
    headers: Message,
    body: Optional[bytes],
) -> Reply:
    if path.split("?", 1)[0] != "/token":
        return json_error(404, "invalid_request", "not found")
    if method != "POST":
        return json_error(405, "invalid_request", "use POST")
    if body is None:
        return json_error(400, "invalid_request", "unreadable or oversized body")
    try:
        params = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return json_error(400, "invalid_request", "the body is not UTF-8")

    def values(name: str) -> list[str]:
        return [v for k, v in params if k == name]

    # 1. Client authentication (client_secret_basic or client_secret_post).
    client_id = authenticate(clients, headers.get("Authorization"), values)
    if isinstance(client_id, Reply):
        return client_id
    # 2. Grant type and the single assertion.
    grant_type = values("grant_type")
    if len(grant_type) != 1:
        return json_error(400, "invalid_request", "exactly one grant_type is required")
    if grant_type[0] != GRANT_JWT_BEARER:
        return json_error(400, "unsupported_grant_type", "only the jwt-bearer grant is supported")
    assertion = values("assertion")
    if len(assertion) != 1:
        return json_error(400, "invalid_request", "exactly one assertion is required")
    scope = values("scope")
    if len(scope) > 1:
        return json_error(400, "invalid_request", "at most one scope parameter")
    # 3. The ID-JAG.
    try:
        grant = verifier.verify(assertion[0], client_id, scope[0] if scope else None)
    except Exception as e:  # every IdjagError (and anything else: 500) has its wire answer
        # Detailed reason in the log, generic answer on the wire (400 invalid_scope for
        # `scope_not_granted`, 400 insufficient_user_authentication with the requirement
        # for `acr_not_accepted` / `auth_time_too_old`, 400 invalid_grant for other
        # rejections, 503 when the keys or the replay store are unavailable).
        reason = (e.reason or e.code) if isinstance(e, idjag.IdjagError) else type(e).__name__
        log(f"token: refused client_id={client_id} reason={reason} ({e})")
        status, wire = idjag.token_error_response(e)
        return Reply(status, wire)
    # Under the weaker replay policy `until_exp`, re-presentations are accepted: `first_use`
    # tells them apart (log or alert on them).
    log(
        f"token: granted iss={grant.iss} sub={grant.sub} client_id={grant.client_id} "
        f"jti={grant.jti} scope={grant.scope or '-'} (from {grant.scope_source}) "
        f"first_use={grant.first_use}"
    )
    return grant_reply(grant)


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def make_handler(verifier: idjag.Verifier, clients: Clients) -> type[BaseHTTPRequestHandler]:
    class TokenHandler(BaseHTTPRequestHandler):
        timeout = 10  # seconds a client may take to send its request

        def do_POST(self) -> None:
            self.answer(self.read_body())

        def do_GET(self) -> None:
            self.answer(b"")

        def read_body(self) -> Optional[bytes]:
            """The bounded body, or None when unreadable or oversized."""
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit() or int(length) > MAX_BODY:
                return None
            try:
                data = self.rfile.read(int(length))
            except OSError:
                return None
            return data if len(data) == int(length) else None

        def answer(self, body: Optional[bytes]) -> None:
            reply = handle(verifier, clients, self.command, self.path, self.headers, body)
            data = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            if reply.www_authenticate:
                self.send_header("WWW-Authenticate", 'Basic realm="token"')
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the token lines above are the log

    return TokenHandler


def arg_value(args: list[str], name: str) -> Optional[str]:
    if name in args:
        i = args.index(name)
        if i + 1 < len(args):
            return args[i + 1]
    return None


def run_config(args: list[str]) -> None:
    path = arg_value(args, "--config")
    if path is None:
        raise ValueError("--config FILE is required")
    with open(path, encoding="utf-8") as f:
        config: dict[str, Any] = json.load(f)
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        # Replicas naming the same Redis accept an ID-JAG once between them.
        config.setdefault("replay", {})["redis_url"] = redis_url
    verifier = idjag.Verifier(config)
    clients: Clients = {}
    for i, a in enumerate(args):
        if a == "--client":
            spec = args[i + 1] if i + 1 < len(args) else ""
            client_id, colon, secret = spec.partition(":")
            if not colon:
                raise ValueError("--client ID:SECRET")
            clients[client_id] = secret
    if not clients:
        raise ValueError("at least one --client ID:SECRET is required")
    port = int(arg_value(args, "--port") or 0)
    max_requests = int(arg_value(args, "--max-requests") or 100)
    try:
        verifier.prefetch_keys()
    except idjag.IdjagError as e:
        log(f"warning: could not prefetch IdP keys: {e}")
    server = HTTPServer(("127.0.0.1", port), make_handler(verifier, clients))
    host, bound = server.server_address[:2]
    print(f"listening on http://{host!s}:{bound}/token (at most {max_requests} requests)", flush=True)
    with server:
        for _ in range(max_requests):
            server.handle_request()


USAGE = (
    "usage: as_token_endpoint.py --config FILE --client ID:SECRET [--client ...] [--port N] "
    "[--max-requests N]   (REDIS_URL=redis://… shares the replay store)"
)


def main(argv: list[str]) -> int:
    if not argv or "--help" in argv or "-h" in argv:
        print(USAGE)
        return 0
    try:
        run_config(argv)
    except (OSError, ValueError, idjag.IdjagError) as e:
        log(f"error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
