"""Helpers for the Python SDK peer tests: `idjag-testkit serve --json` processes (one per set of
flags, for the whole session), a request recorder (an httpx2 event hook: it only observes what
the SDK sends) and the interop-matrix line (BRIEF: IDJAG_MATRIX)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[3]
THIS_DIR = Path(__file__).resolve().parent


def testkit_binary() -> str:
    explicit = os.environ.get("IDJAG_TESTKIT")
    if explicit:
        return explicit
    return str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "idjag-testkit")


class Kit:
    """A running testkit: its `serve --json` line and admin helpers."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [testkit_binary(), "serve", "--json", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise RuntimeError("idjag-testkit printed no JSON line in 30 s")
        self.info: dict[str, Any] = json.loads(line)
        self.mcp_url: str = self.info["mcp_url"]
        self.as_issuer: str = self.info["as_issuer"]
        self.as_token_endpoint: str = self.info["as_token_endpoint"]
        self.idp_token_endpoint: str = self.info["idp_token_endpoint"]
        self.idp_client: dict[str, Any] = self.info["clients"]["idp"]
        self.as_client: dict[str, Any] = self.info["clients"]["as"]

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        req = urllib.request.Request(
            f"{self.info['admin_url']}/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method="GET" if body is None else "POST",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        self.admin("reset", {})

    def counters(self) -> dict[str, int]:
        return {k: int(v["requests"]) for k, v in self.admin("counters")["endpoints"].items()}

    def requests(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        log = self.admin("requests")
        return [r for r in log if endpoint is None or r["endpoint"] == endpoint]

    def fresh_id_token(self) -> str:
        return str(self.admin("id_token", {"user": "alice"})["id_token"])


@pytest.fixture(scope="session")
def kits() -> Iterator[Callable[..., Kit]]:
    """`kits("--flag", ...)`: the kit with these flags (started once, reset for each call)."""
    running: dict[tuple[str, ...], Kit] = {}

    def get(*args: str) -> Kit:
        if args not in running:
            running[args] = Kit(list(args))
        kit = running[args]
        kit.reset()
        return kit

    yield get
    for kit in running.values():
        kit.stop()


class Recorder:
    """An httpx2 `request` event hook: every request the client sends, unchanged."""

    def __init__(self) -> None:
        self.seen: list[httpx2.Request] = []

    async def __call__(self, request: httpx2.Request) -> None:
        self.seen.append(request)

    def to(self, url: str) -> list[httpx2.Request]:
        return [r for r in self.seen if str(r.url) == url]


def form(request: httpx2.Request) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(request.content.decode(), keep_blank_values=True)


def record_matrix(node_name: str) -> None:
    """Appends the interop-matrix line for a passed test (one O_APPEND write)."""
    path = os.environ.get("IDJAG_MATRIX")
    if not path:
        return
    test = f"{(THIS_DIR / 'test_python_sdk.py').relative_to(ROOT)}::{node_name}"
    line = json.dumps({"client": "python-sdk", "server": "testkit", "test": test}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@pytest.fixture
def matrix(request: pytest.FixtureRequest) -> Callable[[], None]:
    """Call at the end of a test, after its assertions: records its matrix line. Only tests in
    which the SDK got a token from the testkit AS and a tool call succeeded call it; a test
    that pins a refusal records nothing."""
    return lambda: record_matrix(request.node.name)
