"""One authorization-server replica for tests/test_redis.py, run as its own process:
`python verifier_replica.py CONFIG_JSON`. Builds one `idjag.Verifier`, prints `ready`, then
verifies each stdin line `{"assertion", "client_id", "scope"?}` and prints one JSON line per
answer: `{"ok": true, "jti"}` or `{"ok": false, "code", "reason", "status", "error"}`."""

from __future__ import annotations

import json
import sys

import idjag


def main() -> None:
    verifier = idjag.Verifier(json.loads(sys.argv[1]))
    verifier.prefetch_keys()
    print("ready", flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            g = verifier.verify(req["assertion"], req["client_id"], req.get("scope"))
            out: dict[str, object] = {"ok": True, "jti": g.jti}
        except idjag.IdjagError as e:
            status, body = idjag.token_error_response(e)
            out = {"ok": False, "code": e.code, "reason": e.reason, "status": status, "error": body["error"]}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
