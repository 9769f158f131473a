"""Replays the shared vectors (`tests/vectors/*.json`) from Python: each leg-1/leg-2 case runs
against a loopback stub server that records the request and answers with the canned response;
the exact method, path, headers and body, and the result or error code, are compared (same
semantics as `core/tests/vectors.rs`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import idjag

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"
CLIENT = json.loads((VECTORS / "client.json").read_text())


class Stub:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.response: dict[str, Any] = {}
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                stub.seen.append((self.command, self.path, headers, body))
                r = stub.response
                out = body_of(r)
                self.send_response(int(r.get("status", 200)))
                for k, v in (r.get("headers") or {}).items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = _serve
            do_POST = _serve

        return Handler

    def reset(self, response: dict[str, Any]) -> None:
        self.seen = []
        self.response = response

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def body_of(r: dict[str, Any]) -> bytes:
    rep = r.get("body_repeat")
    if rep:
        return str(rep["prefix"] + rep["fill"] * rep["count"] + rep["suffix"]).encode()
    return str(r.get("body", "")).encode()


@pytest.fixture(scope="module")
def stub() -> Iterator[Stub]:
    s = Stub()
    yield s
    s.close()


@pytest.fixture(scope="module")
def client() -> idjag.Client:
    return idjag.Client(timeout_ms=5000, insecure_fixed_clock=CLIENT["clock"])


def url(stub: Stub, v: str) -> str:
    return v.replace("{base}", stub.base)


def request_id_jag(client: idjag.Client, stub: Stub, i: dict[str, Any]) -> idjag.IdJag:
    return client.request_id_jag(
        url(stub, i["token_endpoint"]),
        i["audience"],
        i["subject_token"],
        i["client"],
        subject_token_type=i["subject_token_type"],
        resource=i.get("resource"),
        scope=i.get("scope"),
        idp_issuer=i.get("issuer"),
    )


def redeem_id_jag(client: idjag.Client, stub: Stub, i: dict[str, Any]) -> idjag.AccessToken:
    return client.redeem_id_jag(
        url(stub, i["token_endpoint"]),
        i["assertion"],
        i["client"],
        issuer=i.get("issuer"),
        resource=i.get("resource"),
        scope=i.get("scope"),
    )


def check_request(stub: Stub, expect: dict[str, Any], name: str) -> None:
    assert len(stub.seen) == 1, f"{name}: exactly one request"
    method, path, headers, body = stub.seen[0]
    assert method == expect["method"], name
    assert path == expect["path"], name
    for k, v in expect["headers"].items():
        assert headers.get(k.lower()) == v, f"{name}: header {k}"
    assert body.decode() == expect["body"], f"{name}: body"


def check_error(e: idjag.IdjagError, expect: dict[str, Any], name: str) -> None:
    assert e.code == expect["code"], f"{name}: {e}"
    assert isinstance(e, idjag.IdjagError)
    if "message" in expect:
        assert expect["message"] in str(e), f"{name}: message: {e}"
    for field, got in (
        ("step", e.step),
        ("action", e.action),
        ("status", e.status),
        ("oauth_error", e.error),
        ("error_description", e.error_description),
        ("error_uri", e.error_uri),
    ):
        if expect.get(field) is not None:
            assert got == expect[field], f"{name}: {field}"


@pytest.mark.parametrize("case", CLIENT["request_id_jag"], ids=lambda c: c["name"])
def test_request_id_jag(stub: Stub, client: idjag.Client, case: dict[str, Any]) -> None:
    stub.reset(case["response"])
    j = request_id_jag(client, stub, case["input"])
    check_request(stub, case["expect_request"], case["name"])
    ok = case["expect"]["ok"]
    assert j.assertion == ok["assertion"]
    assert j.expires_in == ok["expires_in"]
    assert j.scope == (ok["scope"] if ok["scope"] is not None else case["input"].get("scope"))
    assert j.expires_at == ok["expires_at"]


def check_hidden(e: idjag.IdjagError, expect: dict[str, Any], name: str) -> None:
    shown = f"{e} {e!r} {e.error_description} {e.error_uri} {e.error}"
    for planted in expect.get("hidden", []):
        assert planted not in shown, f"{name}: {planted!r} in {shown}"


@pytest.mark.parametrize("case", CLIENT["id_jag_responses"], ids=lambda c: c["name"])
def test_id_jag_responses(stub: Stub, client: idjag.Client, case: dict[str, Any]) -> None:
    stub.reset(case["response"])
    with pytest.raises(idjag.IdjagError) as info:
        request_id_jag(client, stub, case.get("input", CLIENT["request_id_jag"][0]["input"]))
    check_error(info.value, case["expect"]["error"], case["name"])
    check_hidden(info.value, case["expect"], case["name"])
    shown = f"{info.value} {info.value!r} {info.value.error_description}"
    assert "eyJ.subject.token" not in shown and "s3cr" not in shown


@pytest.mark.parametrize("case", CLIENT["redeem_id_jag"], ids=lambda c: c["name"])
def test_redeem_id_jag(stub: Stub, client: idjag.Client, case: dict[str, Any]) -> None:
    stub.reset(case["response"])
    t = redeem_id_jag(client, stub, case["input"])
    check_request(stub, case["expect_request"], case["name"])
    ok = case["expect"]["ok"]
    assert t.access_token == ok["access_token"]
    assert t.token_type == ok["token_type"]
    assert t.expires_in == ok["expires_in"]
    assert t.scope == ok["scope"]
    assert t.expires_at == ok["expires_at"]


@pytest.mark.parametrize("case", CLIENT["access_token_responses"], ids=lambda c: c["name"])
def test_access_token_responses(stub: Stub, client: idjag.Client, case: dict[str, Any]) -> None:
    stub.reset(case["response"])
    with pytest.raises(idjag.IdjagError) as info:
        redeem_id_jag(client, stub, case.get("input", CLIENT["redeem_id_jag"][0]["input"]))
    check_error(info.value, case["expect"]["error"], case["name"])
    check_hidden(info.value, case["expect"], case["name"])
    assert "eyJ.id.jag" not in f"{info.value} {info.value!r} {info.value.error_description}"


@pytest.mark.parametrize("case", CLIENT["www_authenticate"], ids=lambda c: c["header"][:40])
def test_www_authenticate(case: dict[str, Any]) -> None:
    ch = idjag.parse_www_authenticate(case["header"])
    e = case["expect"]
    assert ch.resource_metadata == e["resource_metadata"]
    assert ch.scope == e["scope"]
    assert ch.error == e["error"]
    if "error_description" in e:
        assert ch.error_description == e["error_description"]
