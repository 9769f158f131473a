"""The Redis replay store in the wheel (`replay: {"redis_url": …}`, core feature `redis`):
two authorization-server replicas — separate Python processes, each with its own
`idjag.Verifier` — sharing one real `redis-server` accept an ID-JAG exactly once, also when
both see it at the same moment (SPEC §5: single-use `jti`); an unreachable Redis fails closed
(transport class, 503 on the wire) and the URL's password never shows.

Redis is started by the `redis_port` fixture (conftest.py); these tests FAIL when
`redis-server` is missing unless IDJAG_ALLOW_NO_REDIS=1 is set explicitly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import idjag
from conftest import Kit, free_port, redis_command

REPLICA = Path(__file__).resolve().parent / "verifier_replica.py"
PASSWORD = "hunter2-redis-password"


def config(kit: Kit, replay: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "issuer": kit.as_issuer,
        "resources": [kit.mcp_url],
        "trusted_idps": [{"issuer": kit.idp_issuer}],
    }
    if replay is not None:
        cfg["replay"] = replay
    return cfg


def mint(kit: Kit) -> str:
    return str(kit.admin("id_jag", {"claims": {"scope": "mcp:read"}})["id_jag"])


class Replica:
    """A verifier in its own process (tests/verifier_replica.py)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(REPLICA), json.dumps(cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPLICA.parent)},
        )
        assert self.readline() == "ready"

    def readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"replica exited ({self.proc.poll()})"
        return line.strip()

    def send(self, assertion: str, client_id: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"assertion": assertion, "client_id": client_id}) + "\n")
        self.proc.stdin.flush()

    def answer(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.readline())
        return out

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture()
def replicas(kit: Kit, redis_port: int) -> Iterator[tuple[Replica, Replica, str]]:
    prefix = f"idjag-py-test-{os.getpid()}:"
    replay = {"redis_url": f"redis://127.0.0.1:{redis_port}/0", "key_prefix": prefix}
    a = Replica(config(kit, replay))
    try:
        b = Replica(config(kit, replay))
        try:
            yield a, b, prefix
        finally:
            b.close()
    finally:
        a.close()


def test_two_processes_sharing_one_redis_accept_an_id_jag_once(
    kit: Kit, redis_port: int, replicas: tuple[Replica, Replica, str]
) -> None:
    a, b, prefix = replicas
    client = kit.as_client["client_id"]
    replayed = {"ok": False, "code": "verification_failed", "reason": "replayed", "status": 400, "error": "invalid_grant"}

    # One after the other: A accepts, B (another replica) and A again see the replay.
    first = mint(kit)
    a.send(first, client)
    accepted = a.answer()
    assert accepted["ok"], accepted
    for r in (b, a):
        r.send(first, client)
        assert r.answer() == replayed
    # The record is in Redis under the prefix; a verifier with the default in-memory store
    # does not see it, so the sharing is Redis's.
    assert redis_command(redis_port, "KEYS", f"{prefix}*").startswith(b"*1\r\n")
    assert idjag.Verifier(config(kit)).verify(first, client).jti == accepted["jti"]

    # At the same moment (both processes get the line, then both answer), many times over:
    # exactly one of the two accepts each ID-JAG.
    winners = {"a": 0, "b": 0}
    for _ in range(20):
        jag = mint(kit)
        a.send(jag, client)
        b.send(jag, client)
        answers = {"a": a.answer(), "b": b.answer()}
        ok = [k for k, v in answers.items() if v["ok"]]
        assert len(ok) == 1, answers
        winners[ok[0]] += 1
        assert [v for v in answers.values() if not v["ok"]] == [replayed]
    assert sum(winners.values()) == 20
    assert redis_command(redis_port, "KEYS", f"{prefix}*").startswith(b"*21\r\n"), "one record per accepted ID-JAG"


def no_password(e: BaseException) -> None:
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    for shown in (text, repr(e), str(e), repr(e.args), repr(e.__cause__), repr(e.__context__)):
        assert PASSWORD not in shown, shown


def test_unreachable_redis_fails_closed_without_showing_the_password(kit: Kit, redis_port: int) -> None:
    closed = free_port()
    v = idjag.Verifier(
        config(kit, {"redis_url": f"redis://:{PASSWORD}@127.0.0.1:{closed}/0", "redis_timeout_ms": 500})
    )
    assert PASSWORD not in repr(v)
    jag = mint(kit)
    for _ in range(2):
        with pytest.raises(idjag.TransportError) as info:
            v.verify(jag, kit.as_client["client_id"])
        e = info.value
        assert (e.code, e.reason, e.step, e.action) == ("transport", None, "verify", "retry"), str(e)
        assert "Redis" in str(e)
        status, body = idjag.token_error_response(e)
        assert (status, body["error"]) == (503, "temporarily_unavailable")
        no_password(e)
    # Nothing was accepted by the failure: with a live Redis the same ID-JAG is fresh.
    live = idjag.Verifier(
        config(kit, {"redis_url": f"redis://127.0.0.1:{redis_port}/0", "key_prefix": f"idjag-py-closed-{os.getpid()}:"})
    )
    assert live.verify(jag, kit.as_client["client_id"]).sub == "alice"
    # A URL that is not one is a configuration error, which does not quote it either.
    with pytest.raises(idjag.ConfigurationError) as bad:
        idjag.Verifier(config(kit, {"redis_url": f"not a url with {PASSWORD}"}))
    assert bad.value.code == "configuration"
    no_password(bad.value)
