"""bindings-python/examples/as_token_endpoint.py end to end: the example runs as its own
process (a Python authorization server's token endpoint) against `idjag-testkit serve --json
--extra-audience …` (testkit/README.md "Test your own authorization server"), and is driven
over HTTP like a client would: RFC 7523 jwt-bearer with an ID-JAG the kit's IdP issued for
it through RFC 8693, client authentication per RFC 6749 §2.3.1, every error's wire answer,
and two example processes sharing one Redis accepting an ID-JAG exactly once."""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

from conftest import Kit, free_port, start_kit

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "as_token_endpoint.py"
MY_AS = "https://as.py-example.test"
MY_MCP = "https://mcp.py-example.test/mcp"
# The kit's IdP issues ID-JAGs with client_id = its AS client (`mcp-client`); the AS under
# test registered it with a secret of its own, with characters RFC 6749 §2.3.1 encodes.
SECRET = "s3:cr+t/%é"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GENERIC = {"error": "invalid_grant", "error_description": "the assertion is not valid"}
REDIS_PASSWORD = "hunter2-redis-password"


@pytest.fixture(scope="module")
def my_kit() -> Iterator[Kit]:
    with start_kit("--extra-audience", MY_AS, "--extra-resource", MY_MCP) as kit:
        yield kit


@pytest.fixture()
def kit2(my_kit: Kit) -> Kit:
    my_kit.reset()
    return my_kit


class Example:
    """The example, serving on a loopback port; its log (stderr) in `log()`."""

    def __init__(self, kit: Kit, tmp: Path, name: str, redis_url: Optional[str], **overrides: Any) -> None:
        cfg: dict[str, Any] = {
            "issuer": MY_AS,
            "resources": [MY_MCP],
            # As a real AS is configured: the IdP's issuer and JWKS URL, nothing else of the kit.
            "trusted_idps": [{"issuer": kit.idp_issuer, "jwks_uri": kit.info["idp_jwks_uri"]}],
        }
        cfg.update(overrides)
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(cfg))
        self.log_path = tmp / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        if redis_url is not None:
            env["REDIS_URL"] = redis_url
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(EXAMPLE), "--config", str(path),
                 "--client", f"{kit.as_client['client_id']}:{SECRET}", "--max-requests", "1000"],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), (line, self.log())
        self.stdout_line = line
        self.port = int(line.split(":")[2].split("/")[0])

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def request(
        self,
        form: list[tuple[str, str]],
        auth: Optional[str] = "basic",
        method: str = "POST",
        path: str = "/token",
    ) -> tuple[int, http.client.HTTPMessage, dict[str, Any]]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if auth == "basic":
            auth = basic("mcp-client", SECRET)
        if auth is not None:
            headers["Authorization"] = auth
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=urllib.parse.urlencode(form), headers=headers)
            resp = conn.getresponse()
            body: dict[str, Any] = json.loads(resp.read())
            assert resp.headers["Cache-Control"] == "no-store", (resp.status, body)
            assert resp.headers["Content-Type"] == "application/json"
            return resp.status, resp.headers, body
        finally:
            conn.close()

    def present(self, assertion: str, scope: Optional[str] = None, **kw: Any) -> tuple[int, dict[str, Any]]:
        form = [("grant_type", JWT_BEARER), ("assertion", assertion)]
        if scope is not None:
            form.append(("scope", scope))
        status, _, body = self.request(form, **kw)
        return status, body


@pytest.fixture()
def serve(kit2: Kit, tmp_path: Path) -> Iterator[Any]:
    started: list[Example] = []

    def start(redis_url: Optional[str] = None, **overrides: Any) -> Example:
        ex = Example(kit2, tmp_path, f"as{len(started)}", redis_url, **overrides)
        started.append(ex)
        return ex

    try:
        yield start
    finally:
        for ex in started:
            ex.stop()


def basic(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode id and secret, join with ':', base64."""
    raw = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


def exchange(kit: Kit, audience: str, resource: str) -> str:
    """An ID-JAG from the kit's IdP (RFC 8693 token exchange, client_secret_post)."""
    form = urllib.parse.urlencode({
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "requested_token_type": "urn:ietf:params:oauth:token-type:id-jag",
        "subject_token": kit.id_token(),
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        "audience": audience,
        "resource": resource,
        "client_id": kit.idp_client["client_id"],
        "client_secret": kit.idp_client["client_secret"],
    })
    u = urllib.parse.urlsplit(kit.idp_token_endpoint)
    conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=15)
    try:
        conn.request("POST", u.path, body=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 200, body
        return str(body["access_token"])
    finally:
        conn.close()


def forge(kit: Kit, claims: Optional[dict[str, Any]] = None, header: Optional[dict[str, Any]] = None) -> str:
    """An ID-JAG for the AS under test from `POST /__testkit/id_jag`, one thing changed."""
    body: dict[str, Any] = {"claims": {"aud": MY_AS, "resource": MY_MCP, **(claims or {})}}
    if header:
        body["header"] = header
    return str(kit.admin("id_jag", body)["id_jag"])


def test_valid_id_jag_gets_a_token_once(kit2: Kit, serve: Any) -> None:
    ex = serve()
    jag = exchange(kit2, MY_AS, MY_MCP)
    status, body = ex.present(jag)
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["resource"] == MY_MCP and body["expires_in"] == 300
    assert len(body["access_token"]) == 32
    assert ("token: granted" in ex.log()) and "first_use=True" in ex.log()
    # The same ID-JAG again: refused as a replay, generic on the wire, the reason in the log.
    assert ex.present(jag) == (400, GENERIC)
    assert "reason=replayed" in ex.log()
    for secret in (jag, SECRET, *kit2.secrets()):
        assert secret not in ex.log()


def test_forged_and_foreign_id_jags_are_invalid_grant(kit2: Kit, serve: Any) -> None:
    ex = serve()
    now = int(time.time())
    valid = forge(kit2)
    head, payload, sig = valid.split(".")
    tampered = f"{head}.{payload}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    cases = [
        (tampered, "bad_signature"),
        (forge(kit2, header={"alg": "none"}), "unsupported_alg"),
        (forge(kit2, header={"kid": "not-published"}), "unknown_key"),
        (forge(kit2, {"iss": "https://evil.example"}), "untrusted_issuer"),
        (forge(kit2, {"exp": now - 120, "iat": now - 180}), "expired"),
        (forge(kit2, {"jti": None}), "missing_claim"),
        (forge(kit2, {"client_id": "someone-else"}), "client_mismatch"),
        # Issued through RFC 8693 for the kit's own AS, not for this one.
        (exchange(kit2, kit2.as_issuer, kit2.mcp_url), "audience_mismatch"),
        (forge(kit2, header={"typ": "JWT"}), "invalid_typ"),
    ]
    for jag, reason in cases:
        assert ex.present(jag) == (400, GENERIC), reason
        assert f"reason={reason} " in ex.log().splitlines()[-1], (reason, ex.log())
    # None of them was recorded: the untampered ID-JAG is still fresh.
    assert ex.present(valid)[0] == 200


def test_client_authentication(kit2: Kit, serve: Any) -> None:
    ex = serve()
    unauthorized = {"error": "invalid_client", "error_description": "client authentication failed"}

    def refused(auth: Optional[str], form: Optional[list[tuple[str, str]]] = None) -> None:
        form = form if form is not None else [("grant_type", JWT_BEARER), ("assertion", forge(kit2))]
        status, headers, body = ex.request(form, auth=auth)
        assert (status, body) == (401, unauthorized), auth
        assert headers["WWW-Authenticate"] == 'Basic realm="token"'

    refused(basic("mcp-client", "wrong"))
    refused(basic("unknown-client", SECRET))
    refused(None)
    refused("Bearer " + forge(kit2))
    refused("Basic !!not-base64!!")
    # Not form-urlencoded before base64 (RFC 6749 §2.3.1 says it must be): `+` decodes to a
    # space, `%é` is no escape, so this is not the registered secret.
    refused("Basic " + base64.b64encode(f"mcp-client:{SECRET}".encode()).decode())
    # The secret is never echoed.
    assert SECRET not in ex.log()

    # client_secret_post works too; both methods at once is invalid_request (RFC 6749 §2.3).
    post = [("grant_type", JWT_BEARER), ("assertion", forge(kit2)), ("client_id", "mcp-client"), ("client_secret", SECRET)]
    status, _, body = ex.request(post, auth=None)
    assert status == 200, body
    refused(None, [*post[:2], ("client_id", "mcp-client"), ("client_secret", "wrong")])
    status, _, body = ex.request(post, auth="basic")
    assert (status, body["error"]) == (400, "invalid_request")
    # Basic with a `client_id` in the body naming another client: not authenticated.
    refused("basic", [*post[:2], ("client_id", "unknown-client")])
    # Authenticated (Basic, encoded) but not the client the ID-JAG names: invalid_grant.
    assert ex.present(forge(kit2, {"client_id": "other"})) == (400, GENERIC)


def test_request_errors(kit2: Kit, serve: Any) -> None:
    ex = serve()
    jag = forge(kit2)

    def answer(form: list[tuple[str, str]], **kw: Any) -> tuple[int, str]:
        status, _, body = ex.request(form, **kw)
        return status, str(body["error"])

    assert answer([("grant_type", "authorization_code"), ("code", "x")]) == (400, "unsupported_grant_type")
    assert answer([("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"), ("assertion", jag)]) == (
        400,
        "unsupported_grant_type",
    )
    assert answer([("assertion", jag)]) == (400, "invalid_request")
    assert answer([("grant_type", JWT_BEARER)]) == (400, "invalid_request")  # missing assertion
    assert answer([("grant_type", JWT_BEARER), ("assertion", jag), ("assertion", jag)]) == (400, "invalid_request")
    assert answer([("grant_type", JWT_BEARER), ("grant_type", JWT_BEARER), ("assertion", jag)]) == (400, "invalid_request")
    assert answer([("grant_type", JWT_BEARER), ("assertion", jag), ("scope", "a"), ("scope", "b")]) == (
        400,
        "invalid_request",
    )
    assert answer([], method="GET") == (405, "invalid_request")
    assert answer([("grant_type", JWT_BEARER), ("assertion", jag)], path="/other") == (404, "invalid_request")
    # None of these verified (or consumed) the ID-JAG.
    assert ex.present(jag)[0] == 200


def test_scope_policy(kit2: Kit, serve: Any) -> None:
    """The token's scope is exactly `grant.scope`; an ID-JAG without `scope` grants none."""
    ex = serve()
    status, body = ex.present(forge(kit2, {"scope": "mcp:write mcp:read"}), "mcp:read mcp:admin")
    assert (status, body["scope"]) == (200, "mcp:read")
    status, body = ex.present(forge(kit2, {"scope": "mcp:write mcp:read"}))
    assert (status, body["scope"]) == (200, "mcp:read mcp:write")
    status, body = ex.present(forge(kit2))
    assert status == 200 and "scope" not in body
    assert ex.present(forge(kit2), "mcp:admin") == (
        400,
        {"error": "invalid_scope", "error_description": "the requested scope cannot be granted"},
    )
    assert "reason=scope_not_granted" in ex.log()


def test_step_up_and_outages_map_to_their_wire_answers(kit2: Kit, serve: Any) -> None:
    # user_authentication not met: 400 insufficient_user_authentication with the requirement.
    strict = serve(user_authentication={"acr_values": ["mfa"], "max_auth_age_s": 300})
    status, body = strict.present(forge(kit2, {"acr": "pwd", "auth_time": int(time.time())}))
    assert (status, body["error"], body["acr_values"], body["max_age"]) == (
        400,
        "insufficient_user_authentication",
        "mfa",
        300,
    )
    # The IdP's JWKS unreachable (nobody listens): a TransportError, 503, not a rejection.
    unreachable = serve(trusted_idps=[{"issuer": kit2.idp_issuer, "jwks_uri": f"http://127.0.0.1:{free_port()}/jwks"}])
    assert "could not prefetch IdP keys" in unreachable.log()
    status, body = unreachable.present(forge(kit2))
    assert (status, body["error"]) == (503, "temporarily_unavailable")
    assert "reason=transport " in unreachable.log()
    # The JWKS endpoint failing (HTTP 503): also 503 — and the ID-JAG is not consumed by it.
    kit2.fault("idp_jwks", {"type": "status", "status": 503})
    down = serve(jwks_refetch_interval_s=1)
    jag = forge(kit2)
    status, body = down.present(jag)
    assert (status, body["error"]) == (503, "temporarily_unavailable")
    assert "reason=http_status " in down.log()
    kit2.admin("faults", {"clear": True})
    # Once the JWKS is back (refetched at most once per `jwks_refetch_interval_s`), it is fresh.
    deadline = time.monotonic() + 10
    while (answer := down.present(jag))[0] == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert answer[0] == 200, answer
    # The replay store unreachable: 503 as well, and the Redis password is never printed.
    closed = free_port()
    no_redis = serve(f"redis://:{REDIS_PASSWORD}@127.0.0.1:{closed}/0", replay={"redis_timeout_ms": 500})
    status, body = no_redis.present(forge(kit2))
    assert (status, body["error"]) == (503, "temporarily_unavailable")
    assert "reason=transport" in no_redis.log() and "Redis" in no_redis.log()
    assert REDIS_PASSWORD not in no_redis.log() + no_redis.stdout_line


def test_two_example_processes_sharing_one_redis_accept_an_id_jag_once(
    kit2: Kit, serve: Any, redis_port: int
) -> None:
    url = f"redis://127.0.0.1:{redis_port}/0"
    prefix = f"idjag-py-example-{os.getpid()}:"
    a = serve(url, replay={"key_prefix": prefix})
    b = serve(url, replay={"key_prefix": prefix})
    for i in range(10):
        jag = exchange(kit2, MY_AS, MY_MCP) if i == 0 else forge(kit2)
        results: dict[str, tuple[int, dict[str, Any]]] = {}
        start = threading.Barrier(2)

        def run(name: str, ex: Example) -> None:
            start.wait(timeout=10)
            results[name] = ex.present(jag)

        threads = [threading.Thread(target=run, args=(n, e)) for n, e in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        statuses = sorted(s for s, _ in results.values())
        assert statuses == [200, 400], results
        assert [body for s, body in results.values() if s == 400] == [GENERIC]
        # And neither accepts it afterwards.
        assert a.present(jag) == b.present(jag) == (400, GENERIC)
    assert "reason=replayed" in a.log() and "reason=replayed" in b.log()


