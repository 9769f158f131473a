#!/usr/bin/env python3
"""An MCP client built on the official `mcp` Python SDK + `idjag.mcp`, for the MCP conformance
suite's client scenarios (`auth/cross-app-access-complete-flow`, SEP-990).

The conformance CLI runs `<command> <server_url>` with `MCP_CONFORMANCE_SCENARIO` and
`MCP_CONFORMANCE_CONTEXT` (JSON: `client_id`, `client_secret`, `idp_client_id`,
`idp_client_secret`?, `idp_id_token`, `idp_issuer`, `idp_token_endpoint`) in the environment.
The client turns the context into an idjag session configuration, connects with the SDK's
streamable HTTP transport authenticated by `idjag.mcp.IdjagAuth`, lists the tools and exits 0.
`idjag-testkit serve --json` prints a context of the same shape.
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
from idjag.mcp import IdjagAuth


def session_config(ctx: dict[str, Any]) -> dict[str, Any]:
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
        "timeout_ms": 10000,
    }


async def run(server_url: str, ctx: dict[str, Any]) -> list[str]:
    session = idjag.Session(session_config(ctx))
    async with httpx2.AsyncClient(auth=IdjagAuth(session), timeout=30) as http:
        async with Client(streamable_http_client(server_url, http_client=http), mode="legacy") as client:
            tools = await client.list_tools()
            return [t.name for t in tools.tools]


def idjag_error(e: BaseException) -> idjag.IdjagError | None:
    """The idjag error inside `e` (the SDK's task groups wrap errors in exception groups)."""
    if isinstance(e, idjag.IdjagError):
        return e
    for inner in [*getattr(e, "exceptions", ()), e.__cause__, e.__context__]:
        if isinstance(inner, BaseException):
            found = idjag_error(inner)
            if found is not None:
                return found
    return None


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
