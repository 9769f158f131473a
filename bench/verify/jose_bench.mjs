// Node side of the idjag verifier benchmark: verifies the tokens written by
// `cargo run --release -p idjag-bench-verify` with `jose` (npm), applying checks equivalent
// to idjag's: typ (jose normalises the `application/` prefix), alg allow-list, signature with
// the key selected by kid from the JWK Set, iss, aud, exp/nbf/iat with 60 s tolerance, max
// age 300 s, required claims, client_id equality, resource membership, and a jti replay set.
// Usage: node jose_bench.mjs DIR   (prints one JSON line)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';

const dir = process.argv[2];
const params = JSON.parse(readFileSync(join(dir, 'params.json'), 'utf8'));
const jwks = createLocalJWKSet(JSON.parse(readFileSync(join(dir, 'jwks.json'), 'utf8')));
const joseVersion = JSON.parse(
  readFileSync(new URL('./node_modules/jose/package.json', import.meta.url), 'utf8'),
).version;

const options = {
  issuer: params.issuer,
  audience: params.audience,
  typ: 'oauth-id-jag+jwt',
  algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
  clockTolerance: 60,
  maxTokenAge: 300,
  currentDate: new Date(params.now * 1000),
  requiredClaims: ['iss', 'aud', 'exp', 'iat', 'sub', 'jti', 'client_id'],
};
const resources = new Set(['https://mcp.example.com/mcp']);

async function verifyOne(token, seen) {
  const { payload } = await jwtVerify(token, jwks, options);
  if (payload.client_id !== params.client_id) throw new Error('client_mismatch');
  const res = Array.isArray(payload.resource) ? payload.resource : [payload.resource];
  if (!res.every((r) => resources.has(r))) throw new Error('resource_mismatch');
  const key = `${payload.iss}\u0000${payload.jti}`;
  if (seen.has(key)) throw new Error('replayed');
  seen.add(key);
  return payload;
}

const result = { impl: `node ${process.version} jose ${joseVersion}`, checks: 'equivalent checks incl. jti set' };
for (const alg of ['ES256', 'RS256']) {
  const tokens = readFileSync(join(dir, `tokens_${alg}.txt`), 'utf8').split('\n').filter(Boolean);
  // Warm-up (JIT, key import cache).
  {
    const seen = new Set();
    for (const t of tokens.slice(0, 200)) await verifyOne(t, seen);
  }
  // Best of `passes` passes, each with a fresh jti set (the machine may be shared).
  const passes = params.node_passes ?? 1;
  let best = 0;
  for (let p = 0; p < passes; p++) {
    const seen = new Set();
    const start = process.hrtime.bigint();
    for (const t of tokens) await verifyOne(t, seen);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    best = Math.max(best, tokens.length / secs);
  }
  result[alg] = { ops: tokens.length, passes, per_sec: best };
}
console.log(JSON.stringify(result));
