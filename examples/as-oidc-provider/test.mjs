// End to end on loopback: idjag-testkit's IdP mints ID-JAGs for this example AS
// (server.mjs, run as its own process); idjag's Rust, Node, Python, C and CLI clients and the MCP
// TypeScript SDK's CrossAppAccessProvider get tokens from it and call its /mcp; forged,
// replayed and wrong-audience ID-JAGs and bad client credentials are refused.
// Run by test.sh (which builds the addon, the wheel, the CLI and the testkit).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto'
import { Session } from 'idjag'
import { recordMatrix } from '../../bindings-node/__test__/kit.mjs'
import { auth, CrossAppAccessProvider, discoverAndRequestJwtAuthGrant } from '@modelcontextprotocol/client'
import { Kit } from '../../bindings-node/__test__/kit.mjs'

const HERE = dirname(fileURLToPath(import.meta.url))
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
const GENERIC = { error: 'invalid_grant', error_description: 'the assertion is not valid' }
// The ID-JAGs name `mcp-client` (the kit's AS client). Its secret here has the characters
// RFC 6749 §2.3.1 form-encodes in HTTP Basic; the TS SDK's client has a plain one (it
// does not form-encode, docs/GUIDE.md) and its own client_id.
const CLIENT = { client_id: 'mcp-client', client_secret: 's3:cr+t/% &=x' }
const SDK_CLIENT = { client_id: 'sdk-client', client_secret: 'plainSdkSecret42' }

let kit, as, issuer, resource, tmp
const log = []

async function freePort() {
  const s = createServer().listen(0, '127.0.0.1')
  await new Promise((r) => s.once('listening', r))
  const { port } = s.address()
  await new Promise((r) => s.close(r))
  return port
}

function record(client, name) {
  recordMatrix(client, 'oidc-provider', `examples/as-oidc-provider/test.mjs::${name}`)
}

before(async () => {
  issuer = `http://127.0.0.1:${await freePort()}`
  resource = `${issuer}/mcp`
  kit = await Kit.start(['--extra-audience', issuer, '--extra-resource', resource])
  // The TS SDK signs in at the IdP as its public client, whose ID-JAGs name `sdk-client`.
  await kit.admin('client_map', { idp_client_id: 'idp-public-client', as_client_id: SDK_CLIENT.client_id })
  tmp = mkdtempSync(join(tmpdir(), 'as-oidc-provider-'))
  writeFileSync(join(tmp, 'verifier.json'), JSON.stringify({
    issuer,
    resources: [resource],
    trusted_idps: [{ issuer: kit.idpIssuer, jwks_uri: kit.info.idp_jwks_uri }],
  }))
  writeFileSync(join(tmp, 'clients.json'), JSON.stringify([
    { ...CLIENT, token_endpoint_auth_method: 'client_secret_basic' },
    { ...SDK_CLIENT, token_endpoint_auth_method: 'client_secret_basic' },
  ]))
  as = spawn(process.execPath, [join(HERE, 'server.mjs'), join(tmp, 'verifier.json'), join(tmp, 'clients.json')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  createInterface({ input: as.stderr }).on('line', (l) => log.push(l))
  const line = await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('the example AS did not start in 20 s')), 20000)
    createInterface({ input: as.stdout }).once('line', (l) => { clearTimeout(t); res(l) })
    as.once('exit', (code) => rej(new Error(`the example AS exited (${code}): ${log.join('\n')}`)))
  })
  assert.equal(line, `listening on ${issuer}`)
})

after(async () => {
  as?.kill()
  await kit?.stop()
})

const sessionConfig = async () => ({
  idp: { issuer: kit.idpIssuer, ...kit.idpClient },
  subject_token: await kit.idToken(),
  client: CLIENT,
  client_issuers: [issuer],
  timeout_ms: 10000,
})

async function callMcp(accessToken) {
  const r = await fetch(resource, { headers: { authorization: `Bearer ${accessToken}` } })
  return [r.status, r.ok ? await r.json() : null]
}

/** A jwt-bearer request to the example AS (HTTP Basic; `secret: null`: none): [status, body, Cache-Control]. */
async function redeem(assertion, { id = CLIENT.client_id, secret = CLIENT.client_secret } = {}) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' }
  if (secret !== null) {
    const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+')
    headers.authorization = `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`
  }
  const body = new URLSearchParams({ grant_type: JWT_BEARER, assertion })
  if (secret === null) body.set('client_id', id)
  const r = await fetch(`${issuer}/token`, { method: 'POST', headers, body })
  return [r.status, await r.json(), r.headers.get('cache-control')]
}

/** An ID-JAG from the kit's IdP for this AS (claims overridable). */
const mint = async (claims = {}) => (await kit.admin('id_jag', { claims: { aud: issuer, resource, ...claims } })).id_jag

const lastReason = () => log.filter((l) => l.startsWith('token: refused')).at(-1)

test('metadata: RFC 8414 with the jwt-bearer grant and the id-jag profile, RFC 9728 PRM, 401 challenge', async () => {
  const md = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()
  assert.equal(md.issuer, issuer)
  assert.equal(md.token_endpoint, `${issuer}/token`)
  assert.ok(md.grant_types_supported.includes(JWT_BEARER))
  assert.deepEqual(md.authorization_grant_profiles_supported, ['urn:ietf:params:oauth:grant-profile:id-jag'])
  assert.deepEqual(md.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post'])
  const prmUrl = `${issuer}/.well-known/oauth-protected-resource/mcp`
  const prm = await (await fetch(prmUrl)).json()
  assert.deepEqual([prm.resource, prm.authorization_servers], [resource, [issuer]])
  const r = await fetch(resource)
  assert.equal(r.status, 401)
  assert.equal(r.headers.get('www-authenticate'), `Bearer resource_metadata="${prmUrl}"`)
  assert.equal((await callMcp('not-a-token'))[0], 401)
})

test('node: idjag Session discovers the example AS, gets a token and calls /mcp', async () => {
  const session = new Session(await sessionConfig())
  const token = await session.accessToken(resource)
  assert.equal(token.authorizationServer, issuer)
  const [status, who] = await callMcp(token.accessToken)
  assert.equal(status, 200)
  assert.deepEqual(who, { sub: 'alice', client_id: CLIENT.client_id, scope: null })
  record('node', 'node: idjag Session discovers the example AS, gets a token and calls /mcp')
})

/** Runs a test driver (`command ...args`) with the session configuration on stdin: its JSON line. */
async function driver(command, args) {
  const out = execFileSync(command, args, {
    input: JSON.stringify(await sessionConfig()),
    encoding: 'utf8',
    timeout: 30000,
  })
  return JSON.parse(out)
}

/** A driver's answer: the authenticated GET of /mcp succeeded, with a token from this AS. */
function calledMcp(r) {
  assert.equal(r.status, 200)
  assert.deepEqual(r.body, { sub: 'alice', client_id: CLIENT.client_id, scope: null })
  assert.equal(r.authorization_server, issuer)
}

test('python: idjag.Session gets a token and calls /mcp', async () => {
  const py = process.env.IDJAG_PYTHON ?? 'python3'
  calledMcp(await driver(py, [join(HERE, '..', 'clients', 'idjag_session.py'), resource]))
  record('python', 'python: idjag.Session gets a token and calls /mcp')
})

test('rust: idjag::Session (the crate) gets a token and calls /mcp', async () => {
  assert.ok(process.env.IDJAG_RUST_SESSION, 'IDJAG_RUST_SESSION: core/examples/session_token.rs (test.sh builds it)')
  calledMcp(await driver(process.env.IDJAG_RUST_SESSION, [resource]))
  record('rust', 'rust: idjag::Session (the crate) gets a token and calls /mcp')
})

test('cli: idjag token gets a token that /mcp accepts', async () => {
  assert.ok(process.env.IDJAG_CLI, 'IDJAG_CLI: the idjag binary (test.sh builds it)')
  const t = await driver(process.env.IDJAG_CLI, ['token', '--server', resource, '--config', '-', '--json'])
  const [status, who] = await callMcp(t.access_token)
  assert.equal(status, 200)
  assert.equal(who.sub, 'alice')
  record('cli', 'cli: idjag token gets a token that /mcp accepts')
})

test('c: libidjag idjag_session_access_token gets a token that /mcp accepts', async () => {
  assert.ok(process.env.IDJAG_C_SESSION, 'IDJAG_C_SESSION: examples/clients/idjag_session.c (test.sh builds it)')
  const t = await driver(process.env.IDJAG_C_SESSION, [resource])
  assert.equal(t.authorization_server, issuer)
  const [status, who] = await callMcp(t.access_token)
  assert.equal(status, 200)
  assert.deepEqual(who, { sub: 'alice', client_id: CLIENT.client_id, scope: null })
  record('c', 'c: libidjag idjag_session_access_token gets a token that /mcp accepts')
})

test('ts-sdk: CrossAppAccessProvider (leg 1 and leg 2 by the SDK) gets a token and calls /mcp', async () => {
  const provider = new CrossAppAccessProvider({
    assertion: async (ctx) => {
      assert.equal(ctx.authorizationServerUrl.replace(/\/$/, ''), issuer)
      const r = await discoverAndRequestJwtAuthGrant({
        idpUrl: kit.idpIssuer,
        audience: ctx.authorizationServerUrl,
        resource: ctx.resourceUrl,
        idToken: await kit.idToken({ aud: kit.info.clients.idp_public.client_id }),
        clientId: kit.info.clients.idp_public.client_id,
        fetchFn: ctx.fetchFn,
      })
      return r.jwtAuthGrant
    },
    ...{ clientId: SDK_CLIENT.client_id, clientSecret: SDK_CLIENT.client_secret },
    expectedIssuer: issuer,
  })
  assert.equal(await auth(provider, { serverUrl: resource }), 'AUTHORIZED')
  const [status, who] = await callMcp(provider.tokens().access_token)
  assert.equal(status, 200)
  assert.deepEqual(who, { sub: 'alice', client_id: SDK_CLIENT.client_id, scope: null })
  record('ts-sdk', 'ts-sdk: CrossAppAccessProvider (leg 1 and leg 2 by the SDK) gets a token and calls /mcp')
})

/** Checks a refusal: the status, the generic body, the reason in the AS's log, no secret. */
function refused([status, body, cacheControl], reason, secrets) {
  assert.equal(status, 400)
  assert.deepEqual(body, GENERIC)
  assert.equal(cacheControl, 'no-store')
  const text = JSON.stringify(body)
  for (const s of secrets) assert.ok(!text.includes(s))
  assert.match(lastReason(), new RegExp(`reason=${reason}$`))
}

test('replayed: the same ID-JAG twice is refused the second time with invalid_grant', async () => {
  const jag = await mint()
  const [status, body] = await redeem(jag)
  assert.equal(status, 200, JSON.stringify(body))
  assert.equal((await callMcp(body.access_token))[0], 200)
  refused(await redeem(jag), 'replayed', [jag, CLIENT.client_secret, body.access_token])
})

test('forged: an ID-JAG signed by a key the IdP does not publish is refused with invalid_grant', async () => {
  const real = await mint()
  const [h, c] = real.split('.')
  // Same header (kid of the IdP's published key) and claims, signed with our own P-256 key.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const input = `${h}.${c}`
  const sig = sign('sha256', Buffer.from(input), { key: createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })), dsaEncoding: 'ieee-p1363' })
  const forged = `${input}.${sig.toString('base64url')}`
  refused(await redeem(forged), 'bad_signature', [forged, CLIENT.client_secret])
  // The genuine one is still unused and accepted: the forgery did not burn its jti.
  assert.equal((await redeem(real))[0], 200)
})

test('wrong audience: an ID-JAG for another AS is refused with invalid_grant', async () => {
  const other = (await kit.admin('id_jag', { claims: { resource } })).id_jag // aud = the kit's AS
  refused(await redeem(other), 'audience_mismatch', [other, CLIENT.client_secret])
})

test('client authentication: a missing or wrong secret is invalid_client (401), before the ID-JAG is looked at', async () => {
  const jag = await mint()
  for (const creds of [{ secret: null }, { secret: 'wrong' }, { id: 'nobody', secret: 'x' }]) {
    const [status, body] = await redeem(jag, creds)
    assert.equal(status, 401, JSON.stringify(creds))
    assert.equal(body.error, 'invalid_client')
    assert.ok(!JSON.stringify(body).includes(jag) && !JSON.stringify(body).includes(CLIENT.client_secret))
  }
  assert.equal((await redeem(jag))[0], 200, 'the ID-JAG was not consumed by the refused requests')
})
