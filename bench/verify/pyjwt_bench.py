"""Python side of the idjag verifier benchmark: verifies the tokens written by
`cargo run --release -p idjag-bench-verify` with PyJWT (`cryptography` backend), applying
checks equivalent to idjag's: typ (RFC 7515 comparison), alg allow-list, signature with the
key selected by kid from the JWK Set, iss, aud, exp/nbf/iat with 60 s leeway, max age 300 s,
required claims, client_id equality, resource membership, and a jti replay set.

PyJWT reads the system clock (no injectable clock), so the tokens must still be valid in real
time: the Rust side mints them with a 600 s lifetime just before.

Usage: python pyjwt_bench.py DIR   (prints one JSON line)
"""
import json
import sys
import time
from pathlib import Path

import cryptography
import jwt

d = Path(sys.argv[1])
params = json.loads((d / "params.json").read_text())
jwk_set = jwt.PyJWKSet.from_dict(json.loads((d / "jwks.json").read_text()))
keys = {k.key_id: k for k in jwk_set.keys}
resources = {"https://mcp.example.com/mcp"}
ALGS = ["ES256", "RS256", "PS256", "EdDSA"]


def verify_one(token, seen):
    header = jwt.get_unverified_header(token)
    typ = str(header.get("typ", "")).lower()
    if typ.startswith("application/"):
        typ = typ[len("application/"):]
    if typ != "oauth-id-jag+jwt":
        raise ValueError("invalid_typ")
    key = keys[header["kid"]]
    claims = jwt.decode(
        token,
        key.key,
        algorithms=ALGS,
        audience=params["audience"],
        issuer=params["issuer"],
        leeway=60,
        options={"require": ["iss", "aud", "exp", "iat", "sub", "jti"]},
    )
    if time.time() - claims["iat"] > 300 + 60:
        raise ValueError("too_old")
    if claims.get("client_id") != params["client_id"]:
        raise ValueError("client_mismatch")
    res = claims.get("resource")
    res = res if isinstance(res, list) else [res]
    if not all(r in resources for r in res):
        raise ValueError("resource_mismatch")
    k = (claims["iss"], claims["jti"])
    if k in seen:
        raise ValueError("replayed")
    seen.add(k)
    return claims


result = {
    "impl": f"Python {sys.version.split()[0]} PyJWT {jwt.__version__} (cryptography {cryptography.__version__})",
    "checks": "equivalent checks incl. jti set",
}
for alg in ("ES256", "RS256"):
    tokens = [t for t in (d / f"tokens_{alg}.txt").read_text().split("\n") if t]
    seen = set()
    for t in tokens[:200]:
        verify_one(t, seen)
    # Best of `passes` passes, each with a fresh jti set (the machine may be shared).
    passes = params.get("python_passes", 1)
    best = 0.0
    for _ in range(passes):
        seen = set()
        start = time.perf_counter()
        for t in tokens:
            verify_one(t, seen)
        best = max(best, len(tokens) / (time.perf_counter() - start))
    result[alg] = {"ops": len(tokens), "passes": passes, "per_sec": best}
print(json.dumps(result))
