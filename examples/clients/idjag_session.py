"""Test driver: an idjag Python `Session` gets a token for an MCP server and calls it.

    python idjag_session.py MCP_URL < session-config.json
prints one JSON line: {"status": <HTTP status of the authenticated GET>, "body": <its JSON>,
"scope": <granted scope>, "authorization_server": <issuer>}. Never prints the token."""

import json
import sys
import urllib.error
import urllib.request

import idjag


def main() -> int:
    url = sys.argv[1]
    session = idjag.Session(json.load(sys.stdin))
    token = session.access_token(url)
    req = urllib.request.Request(url, headers={"Authorization": token.authorization})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, body = r.status, json.load(r)
    except urllib.error.HTTPError as e:
        status, body = e.code, None
    print(json.dumps({"status": status, "body": body, "scope": token.scope,
                      "authorization_server": token.authorization_server}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
