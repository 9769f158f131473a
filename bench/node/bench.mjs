#!/usr/bin/env node
// idjag from Node, side by side with the MCP TypeScript SDK's own CrossAppAccessProvider,
// against one `idjag-testkit serve` on loopback. Not a test: it prints a Markdown table (and
// JSON with --json FILE) for docs/PERFORMANCE.md.
//
//   bindings-node/test.sh   # or: (cd bindings-node && npm ci && npx napi build --platform --profile release-node)
//   cargo build --release -p idjag-testkit
//   IDJAG_TESTKIT=target/release/idjag-testkit node bench/node/bench.mjs [--quick] [--json out.json]
//
// Measured:
// - import time of `idjag`, `idjag/mcp` and `@modelcontextprotocol/client` (fresh processes,
//   minus `node -e 0`, median);
// - the cached token from JavaScript: `await session.accessToken(url)`, `session.cachedToken(url)`
//   and `await provider.token()` (IdjagAuthProvider), per call;
// - a warm renewal (discovery cached; leg 1 at the IdP + leg 2 at the AS, the AS answering
//   `expires_in: 0` so every call renews): wall time per renewal, against the server's own
//   cost (the same two exchanges by a minimal keep-alive `node:http` client with pre-built
//   bodies), and the same renewal through the SDK's CrossAppAccessProvider (`auth()` with the
//   SDK's `requestJwtAuthorizationGrant` as its assertion callback) with the requests each
//   makes, counted by the testkit;
// - N concurrent first token requests through one provider: exchanges made.
import { createRequire } from 'node:module'
import { execFileSync, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { dirname, join, resolve } from 'node:path'
import os from 'node:os'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PKG = join(ROOT, 'bindings-node', 'package.json')
const require = createRequire(PKG)
const sdk = require('@modelcontextprotocol/client')
const { Session } = require('idjag')
const { IdjagAuthProvider, assertionCallback } = require('idjag/mcp')

const args = process.argv.slice(2)
const QUICK = args.includes('--quick')
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

// ---- testkit --------------------------------------------------------------------------------
async function startKit() {
  let bin = process.env.IDJAG_TESTKIT
  if (!bin) {
    execFileSync('cargo', ['build', '-q', '--release', '-p', 'idjag-testkit'], { cwd: ROOT, stdio: 'inherit' })
    bin = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'release', 'idjag-testkit')
  }
  // Plain secrets: the SDK's HTTP Basic skips the RFC 6749 §2.3.1 form-encoding.
  const proc = spawn(bin, ['serve', '--json', '--plain-secrets'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const line = await new Promise((res) => createInterface({ input: proc.stdout }).once('line', res))
  const info = JSON.parse(line)
  const admin = async (path, body) => {
    const r = await fetch(`${info.admin_url}/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return r.json()
  }
  const counters = async () =>
    Object.fromEntries(Object.entries((await admin('counters')).endpoints).map(([k, v]) => [k, v.requests]))
  return { proc, info, admin, counters }
}

// ---- import time ----------------------------------------------------------------------------
function importMs(what, n, esm = false) {
  // The module's own load time, measured inside a fresh process (startup noise excluded).
  const code = `const t = performance.now(); ${what}; process.stdout.write(String(performance.now() - t))`
  const argv = esm ? ['--input-type=module', '-e', code] : ['-e', code]
  const once = () => Number(execFileSync(process.execPath, argv, { cwd: join(ROOT, 'bindings-node') }).toString())
  const ms = median(Array.from({ length: n }, once))
  return ms
}

// ---- per-call loops -------------------------------------------------------------------------
async function perCallNs(f, n, rounds) {
  const r = []
  for (let k = 0; k < rounds; k++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await f()
    r.push(Number(process.hrtime.bigint() - t0) / n)
  }
  return median(r)
}
function perCallNsSync(f, n, rounds) {
  const r = []
  for (let k = 0; k < rounds; k++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) f()
    r.push(Number(process.hrtime.bigint() - t0) / n)
  }
  return median(r)
}

// ---- the server's own cost: the two exchanges by a minimal raw-socket client -----------------
// Pre-built HTTP/1.1 requests on kept-alive sockets, responses read by Content-Length: about
// the least any client can do, so every client is measured against one baseline.
function rawConnection(url) {
  const u = new URL(url)
  const sock = net.connect({ host: u.hostname, port: Number(u.port) })
  sock.setNoDelay(true)
  let buf = Buffer.alloc(0)
  let waiting = null
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d])
    if (waiting) waiting()
  })
  const response = () =>
    new Promise((res) => {
      const tryParse = () => {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return false
        const head = buf.subarray(0, end).toString()
        const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0)
        if (buf.length < end + 4 + len) return false
        const body = buf.subarray(end + 4, end + 4 + len).toString()
        buf = buf.subarray(end + 4 + len)
        waiting = null
        res(body)
        return true
      }
      if (!tryParse()) waiting = tryParse
    })
  return {
    post(body, auth) {
      sock.write(
        `POST ${u.pathname} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/x-www-form-urlencoded\r\n` +
          `authorization: ${auth}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      )
      return response()
    },
    close: () => sock.destroy(),
  }
}

function rawPair(kit, subjectToken) {
  const { info } = kit
  const basic = (c) =>
    'Basic ' + Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString('base64')
  const idpAuth = basic(info.clients.idp)
  const asAuth = basic(info.clients.as)
  const leg1 = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag',
    audience: info.as_issuer,
    resource: info.mcp_url,
    subject_token: subjectToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
  }).toString()
  const leg2Prefix = `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&resource=${encodeURIComponent(info.mcp_url)}&assertion=`
  const idp = rawConnection(info.idp_token_endpoint)
  const as = rawConnection(info.as_token_endpoint)
  const pair = async () => {
    const j = await idp.post(leg1, idpAuth)
    const jag = /"access_token":"([^"]+)"/.exec(j)?.[1]
    const t = await as.post(leg2Prefix + jag, asAuth)
    if (!t.includes('access_token')) throw new Error(`raw pair failed: ${t.slice(0, 200)}`)
  }
  pair.close = () => {
    idp.close()
    as.close()
  }
  return pair
}

async function main() {
  const N = QUICK ? 20000 : 200000
  const ROUNDS = QUICK ? 3 : 7
  const RENEWALS = QUICK ? 40 : 150
  const RROUNDS = QUICK ? 3 : 9
  const rows = []
  const row = (measure, idjag, sdkValue, note) => rows.push({ measure, idjag, sdk: sdkValue, note })

  const imports = QUICK ? 5 : 15
  row('`require("idjag")`', `${importMs("require('idjag')", imports).toFixed(1)} ms`, '—', 'in a fresh process; loads the native addon')
  row('`await import("idjag")` (ESM)', `${importMs("await import('idjag')", imports, true).toFixed(1)} ms`, '—', 'the .mjs re-exports the CommonJS entry')
  row(
    '`require("idjag/mcp")` / the SDK',
    `${importMs("require('idjag/mcp')", imports).toFixed(1)} ms`,
    `${importMs("require('@modelcontextprotocol/client')", imports).toFixed(1)} ms`,
    'idjag/mcp loads idjag, not the SDK',
  )

  const kit = await startKit()
  try {
    const { info } = kit
    const idToken = (await kit.admin('id_token', { user: 'alice', ttl_secs: 86400 })).id_token
    const config = {
      idp: { issuer: info.idp_issuer, client_id: info.clients.idp.client_id, client_secret: info.clients.idp.client_secret },
      subject_token: idToken,
      client: { client_id: info.clients.as.client_id, client_secret: info.clients.as.client_secret },
      client_issuers: [info.as_issuer],
      timeout_ms: 10000,
    }
    const url = info.mcp_url

    // Cached token.
    const session = new Session(config)
    await session.accessToken(url)
    const provider = new IdjagAuthProvider(session, url)
    row('cached token, `await session.accessToken(url)`', `**${(await perCallNs(() => session.accessToken(url), N, ROUNDS) / 1000).toFixed(2)} µs**`, '—', 'goal < 10 µs; includes the `await`')
    row('cached token, `session.cachedToken(url)`', `${(perCallNsSync(() => session.cachedToken(url), N, ROUNDS) / 1000).toFixed(2)} µs`, '—', 'synchronous, no Promise')
    const sdkProvider = new sdk.CrossAppAccessProvider({
      assertion: assertionCallback(session),
      clientId: info.clients.as.client_id,
      clientSecret: info.clients.as.client_secret,
      expectedIssuer: info.as_issuer,
    })
    sdkProvider.saveTokens({ access_token: 'x', token_type: 'Bearer' })
    row(
      'auth per request, token cached: `token()` / `tokens()`',
      `${(await perCallNs(() => provider.token(), N, ROUNDS) / 1000).toFixed(2)} µs`,
      `${(await perCallNs(async () => sdkProvider.tokens()?.access_token, N, ROUNDS) / 1000).toFixed(2)} µs`,
      'IdjagAuthProvider vs the SDK provider\'s stored tokens (no expiry check)',
    )

    // Warm renewal: the AS answers expires_in 0, so every accessToken renews.
    await kit.admin('faults', { endpoint: 'as_token', fault: { type: 'patch', set: { expires_in: 0 } } })
    const renew = new Session(config)
    await renew.accessToken(url)
    const raw = rawPair(kit, idToken)
    await raw()
    const sdkRenew = new sdk.CrossAppAccessProvider({
      assertion: async (ctx) =>
        (
          await sdk.requestJwtAuthorizationGrant({
            tokenEndpoint: info.idp_token_endpoint,
            audience: ctx.authorizationServerUrl,
            resource: ctx.resourceUrl,
            idToken,
            clientId: info.clients.idp.client_id,
            clientSecret: info.clients.idp.client_secret,
            scope: ctx.scope,
          })
        ).jwtAuthGrant,
      clientId: info.clients.as.client_id,
      clientSecret: info.clients.as.client_secret,
      expectedIssuer: info.as_issuer,
    })
    const sdkAuth = async () => {
      sdkRenew.saveTokens(undefined)
      const r = await sdk.auth(sdkRenew, { serverUrl: url })
      if (r !== 'AUTHORIZED') throw new Error(`sdk auth: ${r}`)
    }
    await sdkAuth()
    const series = { idjag: [], raw: [], sdk: [] }
    const reqs = { idjag: 0, sdk: 0 }
    const total = (c) => Object.values(c).reduce((a, b) => a + b, 0)
    for (let k = 0; k < RROUNDS; k++) {
      for (const [name, f] of [
        ['idjag', () => renew.accessToken(url)],
        ['raw', raw],
        ['sdk', sdkAuth],
      ]) {
        const before = total(await kit.counters())
        const t0 = process.hrtime.bigint()
        for (let i = 0; i < RENEWALS; i++) await f()
        series[name].push(Number(process.hrtime.bigint() - t0) / RENEWALS / 1000)
        if (name !== 'raw') reqs[name] += total(await kit.counters()) - before
      }
    }
    const m = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, median(v)]))
    const per = (n) => (n / (RROUNDS * RENEWALS)).toFixed(2)
    row('warm renewal (leg 1 + leg 2), wall', `${m.idjag.toFixed(1)} µs`, `${m.sdk.toFixed(1)} µs`, 'SDK: `auth()` with `requestJwtAuthorizationGrant` as its assertion')
    row('the server\'s own cost: same two exchanges, raw socket', `${m.raw.toFixed(1)} µs`, `${m.raw.toFixed(1)} µs`, 'one baseline for both')
    row('**warm renewal above the server\'s own cost**', `**${(m.idjag - m.raw).toFixed(1)} µs**`, `**${(m.sdk - m.raw).toFixed(1)} µs**`, 'includes the libuv pool hop')
    row('requests per renewal', `**${per(reqs.idjag)}**`, per(reqs.sdk), 'the SDK rediscovers (PRM + AS metadata) on every `auth()`')
    raw.close()
    await kit.admin('faults', { clear: true })

    // Concurrency: N first-token requests at once through one provider.
    const C = 20
    await kit.admin('reset', {})
    const fresh = new IdjagAuthProvider(new Session(config), url)
    await Promise.all(Array.from({ length: C }, () => fresh.token()))
    const idjagC = await kit.counters()
    await kit.admin('reset', {})
    // The transport calls auth() on each 401; C requests that all see a 401 call it C times.
    await Promise.all(Array.from({ length: C }, () => sdk.auth(sdkRenew, { serverUrl: url })))
    const sdkCounts = await kit.counters()
    row(`${C} concurrent first-token requests, IdP + AS exchanges`, `**${idjagC.idp_token} + ${idjagC.as_token}**`, `${sdkCounts.idp_token} + ${sdkCounts.as_token}`, 'IdjagAuthProvider shares one renewal; `auth()` per 401')

    const env = `Node ${process.version}, ${os.cpus().length} cores ${os.arch()}, @modelcontextprotocol/client ${JSON.parse(readFileSync(join(ROOT, 'bindings-node', 'node_modules', '@modelcontextprotocol', 'client', 'package.json'), 'utf8')).version}, idjag ${require('idjag').VERSION}`
    console.log(`\n${env}\n`)
    console.log('| measure | idjag | SDK CrossAppAccessProvider | note |\n| --- | --- | --- | --- |')
    for (const r of rows) console.log(`| ${r.measure} | ${r.idjag} | ${r.sdk} | ${r.note} |`)
    if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ env, rows, series }, null, 2))
  } finally {
    kit.proc.stdin.end()
  }
}

await main()
