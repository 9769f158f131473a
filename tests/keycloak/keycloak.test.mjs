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

const TEMPLATE = readFileSync(new URL('./realm.json', import.meta.url), 'utf8')
const MCP_AUDIENCE = 'http://127.0.0.1:8000/mcp'
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
  // The kit's MCP server names the realm as its authorization server (RFC 9728).
  kit = await Kit.start(['--mcp-authorization-server', issuer])
  const doc = TEMPLATE.replaceAll('{{REALM}}', realm)
    .replaceAll('{{IDP_ISSUER}}', kit.idpIssuer)
    .replaceAll('{{IDP_JWKS_URL}}', kit.info.idp_jwks_uri)
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
  assert.ok([claims.aud].flat().includes(MCP_AUDIENCE), `aud ${claims.aud}`)

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
  assert.ok([claims.aud].flat().includes(MCP_AUDIENCE), `aud ${claims.aud}`)
  assert.equal((await session.accessToken(kit.mcpUrl)).accessToken, token.accessToken, 'cached')
  recordMatrix('node', 'keycloak', 'tests/keycloak/keycloak.test.mjs::Session discovers Keycloak through the MCP server metadata')
})
