#!/usr/bin/env python3
"""An MCP client built on the official `mcp` Python SDK + `idjag.mcp`, for the MCP conformance
suite's client scenarios (`tests/conformance/run.sh`):

- enterprise-managed authorization (SEP-990: `auth/cross-app-access-complete-flow`,
  `auth/enterprise-managed-authorization`): the context has `client_id`, `client_secret`,
  `idp_client_id`, `idp_client_secret`?, `idp_id_token`, `idp_issuer`, `idp_token_endpoint`;
- workload identity federation (SEP-1933: `auth/wif-jwt-bearer`): the context has `client_id`
  and `valid_jwt` (plus `wrong_audience_jwt` and `expired_jwt`, which the suite's AS rejects as
  failures: a client that sends them fails the scenario, so they are not used).

The conformance CLI runs `<command> <server_url>` with `MCP_CONFORMANCE_SCENARIO` and
`MCP_CONFORMANCE_CONTEXT` (JSON) in the environment. The client picks the configuration by the
context's keys (`valid_jwt`: a workload; otherwise a user with an IdP), connects with the SDK's
streamable HTTP transport authenticated by `idjag.mcp.IdjagTransport`, lists the tools and
exits 0; an idjag error is reported (code, step, action, message: never a secret) with exit 1.
`idjag-testkit serve --json` prints a context of the enterprise-managed shape.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

import idjag
from idjag.mcp import IdjagTransport, idjag_error


def session_config(ctx: dict[str, Any]) -> dict[str, Any]:
    if "valid_jwt" in ctx:
        return workload_config(ctx)
    return user_config(ctx)


def workload_config(ctx: dict[str, Any]) -> dict[str, Any]:
    """A workload identity (SEP-1933): the workload JWT goes straight to the MCP server's
    authorization server with the jwt-bearer grant; no IdP, and a public client there."""
    return {
        "workload": {"assertion": ctx["valid_jwt"]},
        "client": {"client_id": ctx["client_id"], "auth_method": "none"},
        "timeout_ms": 10000,
    }


def user_config(ctx: dict[str, Any]) -> dict[str, Any]:
    """A user signed in at an enterprise IdP (SEP-990): token exchange of the ID token at the
    IdP for an ID-JAG, then the jwt-bearer grant at the authorization server."""
    idp: dict[str, Any] = {
        "issuer": ctx["idp_issuer"],
        "token_endpoint": ctx["idp_token_endpoint"],
        "client_id": ctx["idp_client_id"],
    }
    if ctx.get("idp_client_secret"):
        idp["client_secret"] = ctx["idp_client_secret"]
    else:
        idp["auth_method"] = "none"  # a public client at the IdP
    return {
        "idp": idp,
        "subject_token": ctx["idp_id_token"],
        "subject_token_type": "id_token",
        "client": {
            "client_id": ctx["client_id"],
            "client_secret": ctx["client_secret"],
            "auth_method": "client_secret_basic",
        },
        # The suite's AS is whatever the MCP server names: the permissive value, explicitly.
        "client_issuers": "any",
        "timeout_ms": 10000,
    }


async def run(server_url: str, ctx: dict[str, Any]) -> list[str]:
    session = idjag.Session(session_config(ctx))
    async with httpx2.AsyncClient(transport=IdjagTransport(session), timeout=30) as http:
        async with Client(streamable_http_client(server_url, http_client=http), mode="legacy") as client:
            tools = await client.list_tools()
            return [t.name for t in tools.tools]


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: python_client.py <server_url>", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if os.environ.get("IDJAG_DEBUG") else logging.WARNING)
    ctx = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    try:
        names = asyncio.run(run(sys.argv[-1], ctx))
    except Exception as e:
        err = idjag_error(e)
        if err is None:
            raise
        # idjag messages never contain tokens or secrets.
        print(f"idjag error [{err.code}/{err.step}/{err.action}]: {err}", file=sys.stderr)
        return 1
    print(f"{scenario or 'connected'}: {len(names)} tool(s): {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
