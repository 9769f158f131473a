"""An OAuth authorization server built on Authlib (Flask) that accepts ID-JAGs (MCP
Enterprise-Managed Authorization, SEP-990): Authlib's RFC 7523 ``JWTBearerGrant`` with the
assertion verified by ``idjag.Verifier`` instead of a client key, plus a tiny protected
resource (``/mcp``) and its RFC 9728 metadata so that MCP clients can discover it.

    python server.py verifier.json clients.json     # README.md
"""

from __future__ import annotations

import hmac
import json
import sys
import time
from dataclasses import dataclass
from typing import Any, Optional

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, TokenMixin, UnauthorizedClientError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7523 import JWTBearerGrant
from flask import Flask, jsonify

import idjag

ID_JAG_PROFILE = "urn:ietf:params:oauth:grant-profile:id-jag"


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in IdJagGrant.TOKEN_ENDPOINT_AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == JWTBearerGrant.GRANT_TYPE

    def get_allowed_scope(self, scope: Optional[str]) -> str:
        return scope or ""  # the verifier has decided what may be granted ("": nothing)


@dataclass
class Token(TokenMixin):
    sub: str
    client_id: str
    resource: str
    scope: Optional[str]
    expires_at: float

    def get_scope(self) -> str:
        return self.scope or ""

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return False


class IdJagRefused(OAuth2Error):
    """A verifier error as the core answers it on the wire (``idjag.token_error_response``)."""

    def __init__(self, error: Exception) -> None:
        status, self.wire = idjag.token_error_response(error)
        super().__init__(self.wire.get("error_description"), status_code=status, error=self.wire["error"])

    def get_body(self) -> list[tuple[str, Any]]:
        return list(self.wire.items())


class IdJagGrant(JWTBearerGrant):
    """RFC 7523 jwt-bearer where the assertion is an ID-JAG from a trusted IdP: the client
    authenticates itself (unlike RFC 7523 §3's client-issued assertions) and the ID-JAG
    must name it."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    verifier: idjag.Verifier

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()  # else 401 invalid_client
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError()
        assertion = self.request.form.get("assertion")
        if not assertion:
            raise InvalidRequestError("Missing 'assertion' in request")
        try:
            grant = self.verifier.verify(assertion, client.get_client_id(), self.request.payload.scope)
        except Exception as e:  # every error has its wire answer (400 invalid_grant, 503, ...)
            reason = e.reason or e.code if isinstance(e, idjag.IdjagError) else type(e).__name__
            print(f"token: refused client_id={client.get_client_id()} reason={reason}", file=sys.stderr, flush=True)
            raise IdJagRefused(e) from None
        self.request.client, self.request.user = client, grant

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        grant: idjag.VerifiedGrant = self.request.user
        # Exactly the scope the verifier granted (None: the token carries no scope).
        token = self.generate_token(user=grant, scope=grant.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


def create_app(
    verifier_config: dict[str, Any],
    clients: list[dict[str, str]],
    token_ttl: int = 300,
    authorization_endpoint: Optional[str] = None,
) -> Flask:
    """`authorization_endpoint`: your server's authorization-code endpoint, if it has one, to
    advertise (RFC 8414 needs none for a jwt-bearer-only server; the MCP Python SDK does)."""
    verifier = idjag.Verifier(verifier_config)
    issuer, resource = verifier_config["issuer"], verifier_config["resources"][0]
    registered = {c["client_id"]: Client(c["client_id"], c["client_secret"]) for c in clients}
    tokens: dict[str, Token] = {}  # a real AS keeps them in its database (or issues JWTs)

    def save_token(token: dict[str, Any], request: Any) -> None:
        grant: idjag.VerifiedGrant = request.user
        tokens[token["access_token"]] = Token(
            grant.sub, grant.client_id, grant.primary_resource, grant.scope, time.time() + token["expires_in"]
        )

    app = Flask(__name__)
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {JWTBearerGrant.GRANT_TYPE: token_ttl}
    server = AuthorizationServer(app, query_client=registered.get, save_token=save_token)
    server.register_grant(type("Grant", (IdJagGrant,), {"verifier": verifier}))

    class Validator(BearerTokenValidator):
        def authenticate_token(self, token_string: str) -> Optional[Token]:
            return tokens.get(token_string)

    protector = ResourceProtector()
    protector.register_token_validator(Validator())
    prm_path = "/.well-known/oauth-protected-resource" + resource[len(issuer):]

    @app.post("/token")
    def token_endpoint() -> Any:
        return server.create_token_response()

    @app.get("/.well-known/oauth-authorization-server")
    def metadata() -> Any:
        return jsonify(
            issuer=issuer,
            token_endpoint=f"{issuer}/token",
            grant_types_supported=[JWTBearerGrant.GRANT_TYPE],
            authorization_grant_profiles_supported=[ID_JAG_PROFILE],
            token_endpoint_auth_methods_supported=IdJagGrant.TOKEN_ENDPOINT_AUTH_METHODS,
            response_types_supported=["code"] if authorization_endpoint else [],
            **({"authorization_endpoint": authorization_endpoint} if authorization_endpoint else {}),
        )

    @app.get(prm_path)
    def protected_resource_metadata() -> Any:
        return jsonify(resource=resource, authorization_servers=[issuer], bearer_methods_supported=["header"])

    @app.get(resource[len(issuer):])
    def mcp() -> Any:
        try:
            token = protector.acquire_token()
        except OAuth2Error:
            token = None
        if token is None or token.resource != resource:
            challenge = f'Bearer resource_metadata="{issuer}{prm_path}"'
            return jsonify(error="invalid_token"), 401, {"WWW-Authenticate": challenge}
        return jsonify(sub=token.sub, client_id=token.client_id, scope=token.scope)

    return app


if __name__ == "__main__":
    import os
    from urllib.parse import urlsplit

    from werkzeug.serving import make_server

    with open(sys.argv[1]) as f:
        config = json.load(f)
    with open(sys.argv[2]) as f:
        app = create_app(config, json.load(f), authorization_endpoint=os.environ.get("AUTHORIZATION_ENDPOINT"))
    where = urlsplit(config["issuer"])
    httpd = make_server(where.hostname, where.port, app, threaded=True)
    print(f"listening on {config['issuer']}", flush=True)
    httpd.serve_forever()
