"""The conformance-suite client (`tests/conformance/python_client.py`) against the testkit,
whose `serve --json` context has the shape of the suite's `MCP_CONFORMANCE_CONTEXT`. (The
suite itself runs in `tests/conformance/run.sh`.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import Kit

CLIENT = Path(__file__).resolve().parents[2] / "tests" / "conformance" / "python_client.py"


def run(kit: Kit, context: dict[str, object]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["MCP_CONFORMANCE_SCENARIO"] = "auth/cross-app-access-complete-flow"
    env["MCP_CONFORMANCE_CONTEXT"] = json.dumps({"name": "auth/cross-app-access-complete-flow", **context})
    return subprocess.run(
        [sys.executable, str(CLIENT), kit.mcp_url], env=env, capture_output=True, text=True, timeout=60
    )


def test_conformance_client_against_the_testkit(kit: Kit) -> None:
    r = run(kit, kit.admin("context")["context"])
    assert r.returncode == 0, r.stderr
    assert "whoami" in r.stdout
    c = kit.counters()
    assert (c["idp_token"], c["as_token"]) == (1, 1)


def test_conformance_client_reports_idjag_errors_without_secrets(kit: Kit) -> None:
    ctx = dict(kit.admin("context")["context"])
    ctx["client_secret"] = "wrong-" + str(ctx["client_secret"])
    r = run(kit, ctx)
    assert r.returncode == 1
    assert "idjag error [oauth_error/as_grant/reconfigure]" in r.stderr
    for secret in kit.secrets() + [ctx["client_secret"], ctx["idp_id_token"]]:
        assert str(secret) not in r.stdout + r.stderr
