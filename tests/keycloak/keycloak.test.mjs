// Stock Keycloak 26.7 accepting ID-JAGs, driven from the Node binding (`idjag` `Client`).
//
// The same realm (tests/keycloak/realm.json) and chain as core/tests/keycloak.rs and
// tests/keycloak/test_keycloak.py: leg 1 at the testkit IdP (RFC 8693, audience = the realm
// issuer), Keycloak's metadata through idjag's discovery, leg 2 at Keycloak (RFC 7523,
// SPEC §2.E/§2.F), a replay (`invalid_grant`) and a wrong client secret (`unauthorized_client`,
// action `reconfigure`). Run by tests/keycloak/run.sh, which starts Keycloak and sets
// IDJAG_KEYCLOAK_URL; the test fails (it does not skip) without it.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { inspect as utilInspect } from 'node:util'
import { Kit, recordMatrix } from '../../bindings-node/__test__/kit.mjs'

const require = createRequire(new URL('../../bindings-node/package.json', import.meta.url))
const { Client, IdjagError, Session, inspect } = require('idjag')
// The MCP TypeScript SDK as bindings-node/ pins it (devDependency, the same 2.4.0 as tests/peers/).
const sdk = require('@modelcontextprotocol/client')

const TEMPLATE = readFileSync(new URL('./realm.json', import.meta.url), 'utf8')
const BASE = (process.env.IDJAG_KEYCLOAK_URL ?? '').replace(/\/+$/, '')

async function adminToken() {
  const r = await fetch(`${BASE}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'admin-cli',
      username: process.env.IDJAG_KEYCLOAK_ADMIN ?? 'admin',
      password: process.env.IDJAG_KEYCLOAK_ADMIN_PASSWORD ?? 'admin',
    }),
    signal: AbortSignal.timeout(60000),
  })
  assert.equal(r.status, 200, 'admin token')
  return (await r.json()).access_token
}

async function admin(method, path, body) {
  const r = await fetch(`${BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${await adminToken()}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60000),
  })
  return r.status
}

let kit, realm, issuer
before(async () => {
  assert.ok(BASE, 'IDJAG_KEYCLOAK_URL is not set: run tests/keycloak/run.sh (it starts Keycloak)')
  realm = `idjag-node-${randomUUID().slice(0, 8)}`
  issuer = `${BASE}/realms/${realm}`
  // The kit's MCP server names the realm as its authorization server (RFC 9728) and accepts
  // the realm's access tokens (`aud` = its URL, by the realm's audience mapper). The realm
  // defines no scopes and Keycloak refuses unknown ones: the MCP server has none either.
  kit = await Kit.start(['--mcp-authorization-server', issuer, '--mcp-scopes', ''])
  const doc = TEMPLATE.replaceAll('{{REALM}}', realm)
    .replaceAll('{{IDP_ISSUER}}', kit.idpIssuer)
    .replaceAll('{{IDP_JWKS_URL}}', kit.info.idp_jwks_uri)
    .replaceAll('{{MCP_AUDIENCE}}', kit.mcpUrl)
  assert.equal(await admin('POST', '/admin/realms', JSON.parse(doc)), 201, `create realm ${realm}`)
})
after(async () => {
  if (realm) await admin('DELETE', `/admin/realms/${realm}`)
  await kit?.stop()
})

const clientJson = (secret) => {
  const c = JSON.parse(TEMPLATE).clients[0]
  return { client_id: c.clientId, client_secret: secret ?? c.secret }
}

test('Keycloak redeems an ID-JAG from Node', async () => {
  const client = new Client({ http: { timeout_ms: 30000 } })
  const meta = await client.authorizationServerMetadata(issuer)
  assert.equal(meta.issuer, issuer)
  assert.ok(meta.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:jwt-bearer'))

  const leg1 = async () =>
    client.requestIdJag({
      token_endpoint: kit.idpTokenEndpoint,
      issuer: kit.idpIssuer,
      client: kit.idpClient,
      audience: issuer,
      subject_token: await kit.idToken(),
      resource: kit.mcpUrl,
      scope: 'mcp:read',
    })
  const redeem = (assertion, secret) =>
    client.redeemIdJag({
      token_endpoint: meta.token_endpoint,
      issuer,
      auth_methods_supported: meta.token_endpoint_auth_methods_supported ?? null,
      client: clientJson(secret),
      assertion,
    })

  const jag = await leg1()
  assert.equal(jag.issuedTokenType, 'urn:ietf:params:oauth:token-type:id-jag')
  assert.equal(inspect(jag.assertion).claims.aud, issuer)

  const at = await redeem(jag.assertion)
  assert.equal(at.tokenType, 'Bearer')
  const claims = inspect(at.accessToken).claims
  assert.equal(claims.iss, issuer)
  assert.equal(claims.azp, 'mcp-client')
  assert.ok([claims.aud].flat().includes(kit.mcpUrl), `aud ${claims.aud}`)

  // The same ID-JAG again: Keycloak enforces single use of its jti.
  await assert.rejects(redeem(jag.assertion), (e) => {
    assert.ok(e instanceof IdjagError)
    assert.equal(e.oauthError, 'invalid_grant')
    assert.equal(e.step, 'as_grant')
    return true
  })

  // A wrong client secret: client authentication fails, the error names no secret.
  const fresh = await leg1()
  const wrong = 'wrong-secret-0123456789'
  await assert.rejects(redeem(fresh.assertion, wrong), (e) => {
    assert.ok(e instanceof IdjagError)
    assert.ok(['invalid_client', 'unauthorized_client'].includes(e.oauthError), e.oauthError)
    assert.equal(e.action, 'reconfigure')
    const text = `${e.message} ${utilInspect(e)} ${JSON.stringify(e)}`
    for (const s of [wrong, fresh.assertion, clientJson().client_secret]) assert.ok(!text.includes(s))
    return true
  })
  recordMatrix('node', 'keycloak', 'tests/keycloak/keycloak.test.mjs::Keycloak redeems an ID-JAG from Node')
})

test('Session discovers Keycloak through the MCP server metadata (PRM → AS metadata → leg 1 → leg 2)', async () => {
  // Keycloak refuses scopes it does not know on the jwt-bearer request (the realm defines
  // none): no `scope` in leg 2 (`jwt_bearer_scope` "omit", the setting idjag's error names).
  const session = new Session(
    await kit.config({ client: clientJson(), client_issuers: [issuer], jwt_bearer_scope: { [issuer]: 'omit' } }),
  )
  const d = await session.discover(kit.mcpUrl)
  assert.equal(d.audience, issuer)
  assert.equal(d.authorizationServer.issuer, issuer)
  const token = await session.accessToken(kit.mcpUrl)
  assert.equal(token.authorizationServer, issuer)
  const claims = inspect(token.accessToken).claims
  assert.equal(claims.iss, issuer)
  assert.equal(claims.azp, 'mcp-client')
  assert.ok([claims.aud].flat().includes(kit.mcpUrl), `aud ${claims.aud}`)
  assert.equal((await session.accessToken(kit.mcpUrl)).accessToken, token.accessToken, 'cached')
  // The kit's MCP server accepts Keycloak's token, and checks its signature.
  const who = await whoami(token.authorization)
  assert.deepEqual([who.sub, who.client_id], ['alice', 'mcp-client'])
  const [head, payload, sig] = token.accessToken.split('.')
  const forged = `${head}.${payload}.${sig.slice(0, -4)}${sig.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`
  assert.equal(await mcpStatus(`Bearer ${forged}`), 401)
  recordMatrix('node', 'keycloak', 'tests/keycloak/keycloak.test.mjs::Session discovers Keycloak through the MCP server metadata')
})

/** The kit MCP server's `whoami` tool with this Authorization header (one JSON-RPC POST). */
function callWhoami(authorization) {
  return fetch(kit.mcpUrl, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
    signal: AbortSignal.timeout(30000),
  })
}

async function whoami(authorization) {
  const r = await callWhoami(authorization)
  assert.equal(r.status, 200)
  return JSON.parse((await r.json()).result.content[0].text)
}

async function mcpStatus(authorization) {
  const r = await callWhoami(authorization)
  await r.body?.cancel()
  return r.status
}

test('the TS SDK CrossAppAccessProvider gets a Keycloak token and calls a tool', async () => {
  // The SDK's `client_secret_basic` does not form-encode the secret (docs/GUIDE.md), which
  // Keycloak decodes strictly: the realm's `sdk-client` has a plain secret. The SDK signs in
  // at the IdP as its public client, whose ID-JAGs name `sdk-client`.
  const sdkClient = JSON.parse(TEMPLATE).clients.find((c) => c.clientId === 'sdk-client')
  const publicIdp = kit.info.clients.idp_public.client_id
  await kit.admin('client_map', { idp_client_id: publicIdp, as_client_id: sdkClient.clientId })
  const provider = new sdk.CrossAppAccessProvider({
    // Leg 1 by the SDK too (RFC 8693 at the testkit IdP, found through its metadata).
    assertion: async (ctx) => {
      assert.equal(ctx.authorizationServerUrl.replace(/\/$/, ''), issuer)
      const r = await sdk.discoverAndRequestJwtAuthGrant({
        idpUrl: kit.idpIssuer,
        audience: ctx.authorizationServerUrl,
        resource: ctx.resourceUrl,
        idToken: await kit.idToken({ aud: publicIdp }),
        clientId: publicIdp,
        fetchFn: ctx.fetchFn,
      })
      return r.jwtAuthGrant
    },
    clientId: sdkClient.clientId,
    clientSecret: sdkClient.secret,
    expectedIssuer: issuer,
  })
  const transport = new sdk.StreamableHTTPClientTransport(new URL(kit.mcpUrl), { authProvider: provider })
  const client = new sdk.Client({ name: 'idjag-keycloak-ts-sdk', version: '1.0.0' })
  await client.connect(transport)
  try {
    const r = await client.callTool({ name: 'whoami', arguments: {} })
    assert.equal(r.isError, false)
    const who = JSON.parse(r.content[0].text)
    assert.deepEqual([who.sub, who.client_id], ['alice', sdkClient.clientId])
  } finally {
    await client.close()
  }
  const claims = inspect(provider.tokens().access_token).claims
  assert.equal(claims.iss, issuer, "Keycloak's token")
  recordMatrix('ts-sdk', 'keycloak', 'tests/keycloak/keycloak.test.mjs::the TS SDK CrossAppAccessProvider gets a Keycloak token and calls a tool')
})
