"""Shared fixtures: one `idjag-testkit serve --json` process (IdP + AS + MCP server on loopback)
for the whole test session, driven through its admin API."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def record_matrix(client: str, server: str, test: str) -> None:
    """Appends a passed interop result to `$IDJAG_MATRIX` (scripts/matrix.py makes the
    README's interop matrix from it; testkit/src/matrix.rs documents the line)."""
    path = os.environ.get("IDJAG_MATRIX")
    if not path:
        return
    line = json.dumps({"client": client, "server": server, "test": test}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def testkit_binary() -> str:
    """`$IDJAG_TESTKIT`, else `cargo build -p idjag-testkit` in `$CARGO_TARGET_DIR`."""
    explicit = os.environ.get("IDJAG_TESTKIT")
    if explicit:
        return explicit
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    subprocess.run(
        ["cargo", "build", "--quiet", "-p", "idjag-testkit"],
        cwd=ROOT,
        check=True,
    )
    return str(target / "debug" / "idjag-testkit")


class Kit:
    """A running testkit: URLs, credentials and admin helpers."""

    def __init__(self, proc: subprocess.Popen[str], info: dict[str, Any]) -> None:
        self.proc = proc
        self.info = info
        self.mcp_url: str = info["mcp_url"]
        self.as_issuer: str = info["as_issuer"]
        self.as_token_endpoint: str = info["as_token_endpoint"]
        self.idp_issuer: str = info["idp_issuer"]
        self.idp_token_endpoint: str = info["idp_token_endpoint"]
        self.admin_url: str = info["admin_url"]
        keep = ("client_id", "client_secret")
        self.idp_client: dict[str, Any] = {k: info["clients"]["idp"][k] for k in keep}
        self.as_client: dict[str, Any] = {k: info["clients"]["as"][k] for k in keep}
        self.context: dict[str, Any] = info["context"]

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.admin_url}/{path}" if path else self.admin_url
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            url,
            data=data,
            method="GET" if body is None else "POST",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        self.admin("reset", {})
        self.admin("clock", {"offset_secs": 0})

    def counters(self) -> dict[str, int]:
        """Requests per endpoint (`idp_token`, `as_token`, `prm`, `as_metadata`, ...)."""
        c = self.admin("counters")
        return {k: int(v["requests"]) for k, v in c["endpoints"].items()}

    def fault(self, endpoint: str, fault: dict[str, Any], times: int | None = None) -> None:
        body: dict[str, Any] = {"endpoint": endpoint, "fault": fault}
        if times is not None:
            body["times"] = times
        self.admin("faults", body)

    def revoke_access_tokens(self) -> int:
        """Makes the MCP server reject every access token issued so far (401 invalid_token)."""
        return int(self.admin("revoke_access_tokens", {})["revoked"])

    def id_token(self, user: str = "alice", **extra: Any) -> str:
        return str(self.admin("id_token", {"user": user, **extra})["id_token"])

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A Session configuration for the default user at this kit."""
        cfg: dict[str, Any] = {
            "idp": {
                "issuer": self.idp_issuer,
                "client_id": self.idp_client["client_id"],
                "client_secret": self.idp_client["client_secret"],
            },
            "subject_token": self.id_token(),
            "client": {
                "client_id": self.as_client["client_id"],
                "client_secret": self.as_client["client_secret"],
            },
            "client_issuers": [self.as_issuer],
            "timeout_ms": 10000,
        }
        cfg.update(overrides)
        return cfg

    def secrets(self) -> list[str]:
        """Every secret the kit handed out, to assert they never leak."""
        out = [
            self.idp_client["client_secret"],
            self.as_client["client_secret"],
            self.context["idp_id_token"],
        ]
        for c in self.info["clients"].values():
            if c.get("private_key_pem"):
                out.append(c["private_key_pem"])
        return out


@contextlib.contextmanager
def start_kit(*args: str) -> Iterator[Kit]:
    """`idjag-testkit serve --json ARGS…`, stopped (stdin closed) at the end."""
    proc = subprocess.Popen(
        [testkit_binary(), "serve", "--json", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("idjag-testkit exited without printing its JSON line")
    kit = Kit(proc, json.loads(line))
    try:
        yield kit
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def kit_process() -> Iterator[Kit]:
    with start_kit() as kit:
        yield kit


@pytest.fixture()
def kit(kit_process: Kit) -> Kit:
    """The shared kit, with faults, counters, the request log and the clock reset."""
    kit_process.reset()
    return kit_process


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_command(port: int, *args: str) -> bytes:
    """One command (RESP array) on a fresh connection; the raw reply (one read)."""
    cmd = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(cmd.encode())
        return s.recv(65536)


@pytest.fixture(scope="session")
def redis_port() -> Iterator[int]:
    """A real `redis-server` on a random loopback port (killed at the end). FAILS when
    redis-server is not installed (run scripts/ensure-redis.sh), unless IDJAG_ALLOW_NO_REDIS=1
    is set explicitly — as core/tests/verify_redis.rs."""
    binary = os.environ.get("IDJAG_REDIS_SERVER", "redis-server")
    if shutil.which(binary) is None:
        if os.environ.get("IDJAG_ALLOW_NO_REDIS") == "1":
            pytest.skip("redis-server not found and IDJAG_ALLOW_NO_REDIS=1")
        pytest.fail(
            "redis-server not found: run scripts/ensure-redis.sh "
            "(or set IDJAG_ALLOW_NO_REDIS=1 to skip the Redis tests)"
        )
    for _attempt in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if redis_command(port, "PING") == b"+PONG\r\n":
                    break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            proc.kill()
            proc.wait()
            continue  # exited (port taken?) or never answered: another port
        try:
            yield port
        finally:
            proc.kill()
            proc.wait()
        return
    raise RuntimeError("redis-server did not start")
