// The MCP TypeScript SDK (@modelcontextprotocol/client 2.4.0, pinned in tests/peers/package.json),
// unmodified, against the testkit: its IdP for leg 1 (RFC 8693 token exchange with the SDK's own
// discoverAndRequestJwtAuthGrant inside CrossAppAccessProvider's `assertion` callback), its AS
// for leg 2 (RFC 7523 jwt-bearer; the AS verifies the ID-JAG with idjag's IdJagVerifier) and its
// MCP server (StreamableHTTPClientTransport + Client, a tool call).
//
// The first test is the interop cell (matrix row ts-sdk, column testkit). Each other test pins
// one way the SDK's requests differ from idjag's (tests/vectors/client.json, core/src/exchange.rs)
// and whether the testkit AS accepts it, with the spec section that decides.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  AuthorizationServerMismatchError,
  Client,
  CrossAppAccessProvider,
  StreamableHTTPClientTransport,
  discoverAndRequestJwtAuthGrant,
} from '@modelcontextprotocol/client'
import { Kit, basicAsIdjagSendsIt, form, recordMatrix, recordingFetch } from './kit.mjs'

const TIMEOUT = { timeout: 60000 }
const sorted = (scope) => (scope ?? '').split(' ').filter(Boolean).sort()
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

/**
 * The SDK used the way its docs say (index.d.mts, CrossAppAccessProvider example): leg 1 with
 * discoverAndRequestJwtAuthGrant in the `assertion` callback, the MCP client id and secret,
 * `expectedIssuer` pinned to the AS. `rec` only observes what the SDK sends.
 */
async function connect(kit, { rec = recordingFetch(), expectedIssuer = kit.asIssuer, onAssertion } = {}) {
  const idToken = await kit.idToken()
  const provider = new CrossAppAccessProvider({
    assertion: async (ctx) => {
      onAssertion?.(ctx)
      const result = await discoverAndRequestJwtAuthGrant({
        idpUrl: kit.idpIssuer,
        audience: ctx.authorizationServerUrl,
        resource: ctx.resourceUrl,
        idToken,
        clientId: kit.idpClient.client_id,
        clientSecret: kit.idpClient.client_secret,
        scope: ctx.scope,
        fetchFn: ctx.fetchFn,
      })
      return result.jwtAuthGrant
    },
    clientId: kit.asClient.client_id,
    clientSecret: kit.asClient.client_secret,
    expectedIssuer,
    fetchFn: rec,
  })
  const transport = new StreamableHTTPClientTransport(new URL(kit.mcpUrl), { authProvider: provider, fetch: rec })
  const client = new Client({ name: 'idjag-peer-ts-sdk', version: '1.0.0' })
  await client.connect(transport)
  return { client, rec }
}

async function whoami(client) {
  const r = await client.callTool({ name: 'whoami', arguments: {} })
  assert.equal(r.isError, false)
  return JSON.parse(r.content[0].text)
}

/** The recorded token requests to the AS and the IdP. */
function tokenRequests(kit, rec) {
  return { as: rec.to(kit.info.as_token_endpoint), idp: rec.to(kit.info.idp_token_endpoint) }
}

/** Compares values that hold a secret; on failure the message names only what differs. */
function secretEqual(actual, expected, what) {
  assert.ok(actual === expected, what)
}

/** Connects and expects the SDK to fail; returns the error. */
async function connectFails(kit, opts) {
  let client
  try {
    ;({ client } = await connect(kit, opts))
  } catch (e) {
    return e
  }
  await client.close()
  assert.fail('the SDK connected although it should not have')
}

// --- a kit with plain secrets (letters and digits): the SDK's Basic header is then valid ----

describe('testkit --plain-secrets', () => {
  let kit
  before(async () => { kit = await Kit.start(['--plain-secrets']) })
  after(async () => { await kit?.stop() })

  const name1 = 'CrossAppAccessProvider gets a token from the testkit AS (idjag IdJagVerifier) and calls a tool'
  test(name1, TIMEOUT, async () => {
    await kit.reset()
    const { client } = await connect(kit)
    try {
      const tools = await client.listTools()
      assert.ok(tools.tools.some((t) => t.name === 'whoami'))
      const who = await whoami(client)
      assert.deepEqual(who, { sub: 'alice', client_id: kit.asClient.client_id, scope: 'mcp:read mcp:write' })
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'hello' } })
      assert.equal(echo.content[0].text, 'hello')
    } finally {
      await client.close()
    }
    const c = await kit.counters()
    assert.equal(c.idp_token, 1)
    assert.equal(c.as_token, 1)
    assert.equal((await kit.admin('last_rejection')).reason, null)
    recordMatrix(name1)
  })

  const name2 = 'client_secret_basic without form-encoding is accepted with a plain secret'
  test(name2, TIMEOUT, async () => {
    await kit.reset()
    const { client, rec } = await connect(kit)
    await whoami(client)
    await client.close()
    const [req] = tokenRequests(kit, rec).as
    const { client_id: id, client_secret: secret } = kit.asClient
    // btoa(id + ":" + secret): identical to idjag's header only because nothing needs encoding.
    secretEqual(req.headers.authorization, 'Basic ' + btoa(`${id}:${secret}`), 'Authorization is not btoa(id:secret)')
    secretEqual(req.headers.authorization, basicAsIdjagSendsIt(id, secret), 'Authorization differs from idjag\'s')
    const names = form(req).map(([k]) => k)
    assert.ok(!names.includes('client_id') && !names.includes('client_secret'))
    recordMatrix(name2)
  })

  const name3 = 'jwt-bearer request: grant_type, assertion, scope from the 401 challenge, resource from PRM (as idjag)'
  test(name3, TIMEOUT, async () => {
    await kit.reset()
    const { client, rec } = await connect(kit)
    await whoami(client)
    await client.close()
    const [req] = tokenRequests(kit, rec).as
    const params = form(req)
    assert.deepEqual(params.map(([k]) => k), ['grant_type', 'assertion', 'scope', 'resource'])
    const p = Object.fromEntries(params)
    assert.equal(p.grant_type, JWT_BEARER)
    assert.equal(p.scope, 'mcp:read mcp:write')
    assert.equal(p.resource, kit.mcpUrl)
    // The PRM was fetched from the challenge's resource_metadata (RFC 9728 §5.1).
    assert.ok(rec.seen.some((r) => r.url === kit.info.prm_url))
    recordMatrix(name3)
  })

  const name4 = 'leg 1 always uses client_secret_post at the IdP (idjag: client_secret_basic when advertised)'
  test(name4, TIMEOUT, async () => {
    await kit.reset()
    const { client, rec } = await connect(kit)
    await whoami(client)
    await client.close()
    const [req] = tokenRequests(kit, rec).idp
    assert.ok(req.headers.authorization === undefined, 'an Authorization header was sent')
    const p = Object.fromEntries(form(req))
    assert.equal(p.client_id, kit.idpClient.client_id)
    secretEqual(p.client_secret, kit.idpClient.client_secret, 'client_secret is not the IdP client secret')
    assert.equal(p.grant_type, 'urn:ietf:params:oauth:grant-type:token-exchange')
    assert.equal(p.requested_token_type, 'urn:ietf:params:oauth:token-type:id-jag')
    assert.equal(p.subject_token_type, 'urn:ietf:params:oauth:token-type:id_token')
    assert.equal(p.audience, kit.asIssuer)
    assert.equal(p.resource, kit.mcpUrl)
    assert.equal(p.scope, 'mcp:read mcp:write')
    const log = (await kit.requests()).filter((r) => r.endpoint === 'idp_token')
    assert.deepEqual(log.map((r) => r.status), [200])
    recordMatrix(name4)
  })

  const name5 = 'IdP discovery: RFC 8414 well-known first, OIDC never needed (as idjag)'
  test(name5, TIMEOUT, async () => {
    await kit.reset()
    const { client, rec } = await connect(kit)
    await whoami(client)
    await client.close()
    const idpMeta = rec.seen.filter((r) => r.url.startsWith(kit.idpIssuer + '/.well-known/')).map((r) => r.url)
    assert.deepEqual(idpMeta, [`${kit.idpIssuer}/.well-known/oauth-authorization-server`])
    recordMatrix(name5)
  })

  const name6 = '403 insufficient_scope: step-up re-runs the assertion callback with the challenged scope'
  test(name6, TIMEOUT, async () => {
    await kit.reset()
    const scopes = []
    const { client, rec } = await connect(kit, { onAssertion: (ctx) => scopes.push(ctx.scope) })
    try {
      const r = await client.callTool({ name: 'admin_reset', arguments: {} })
      assert.equal(r.content[0].text, 'reset done')
      const who = await whoami(client)
      assert.deepEqual(sorted(who.scope), ['mcp:admin', 'mcp:read', 'mcp:write'])
    } finally {
      await client.close()
    }
    // The union of the granted scope and the challenge's (computeScopeUnion), sent to the IdP
    // (through the callback) and to the AS.
    assert.deepEqual(scopes.map(sorted), [['mcp:read', 'mcp:write'], ['mcp:admin', 'mcp:read', 'mcp:write']])
    const { as, idp } = tokenRequests(kit, rec)
    assert.equal(as.length, 2)
    assert.equal(idp.length, 2)
    assert.deepEqual(sorted(Object.fromEntries(form(as[1])).scope), ['mcp:admin', 'mcp:read', 'mcp:write'])
    assert.deepEqual(sorted(Object.fromEntries(form(idp[1])).scope), ['mcp:admin', 'mcp:read', 'mcp:write'])
    recordMatrix(name6)
  })

  const name7 = '401 invalid_token after revocation: a new ID-JAG and a new grant (no refresh, no reuse)'
  test(name7, TIMEOUT, async () => {
    await kit.reset()
    const { client } = await connect(kit)
    try {
      await whoami(client)
      const { revoked } = await kit.admin('revoke_access_tokens', {})
      assert.ok(revoked >= 1)
      assert.equal((await whoami(client)).sub, 'alice')
    } finally {
      await client.close()
    }
    const c = await kit.counters()
    assert.equal(c.idp_token, 2)
    assert.equal(c.as_token, 2)
    const mcp401 = (await kit.requests()).filter((r) => r.endpoint === 'mcp' && r.status === 401)
    assert.ok(mcp401.some((r) => r.error === 'invalid_token'))
    recordMatrix(name7)
  })

  const name8 = 'ID-JAG response with token_type Bearer is accepted by the SDK (idjag refuses it); the AS still verifies the ID-JAG'
  test(name8, TIMEOUT, async () => {
    await kit.reset()
    await kit.fault('idp_token', { type: 'patch', set: { token_type: 'Bearer' } }, 1)
    const { client } = await connect(kit)
    assert.equal((await whoami(client)).sub, 'alice')
    await client.close()
    recordMatrix(name8)
  })

  const name9 = 'ID-JAG response without token_type is accepted (as idjag)'
  test(name9, TIMEOUT, async () => {
    await kit.reset()
    await kit.fault('idp_token', { type: 'patch', set: { token_type: null } }, 1)
    const { client } = await connect(kit)
    assert.equal((await whoami(client)).sub, 'alice')
    await client.close()
    recordMatrix(name9)
  })

  const name10 = 'ID-JAG response with another issued_token_type is refused by the SDK (as idjag); nothing reaches the AS'
  test(name10, TIMEOUT, async () => {
    await kit.reset()
    await kit.fault('idp_token', {
      type: 'patch',
      set: { issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' },
    })
    try {
      const err = await connectFails(kit)
      assert.match(String(err?.message ?? err), /Invalid token exchange response/)
    } finally {
      await kit.admin('faults', { clear: true })
    }
    assert.equal((await kit.counters()).as_token, 0)
    // No matrix line: the peer did not get a token (kit.mjs, recordMatrix).
  })

  const name11 = 'expectedIssuer pins the AS: another issuer gets no client secret (AuthorizationServerMismatchError)'
  test(name11, TIMEOUT, async () => {
    await kit.reset()
    const err = await connectFails(kit, { expectedIssuer: 'https://as.elsewhere.example' })
    assert.ok(err instanceof AuthorizationServerMismatchError, String(err))
    const c = await kit.counters()
    assert.equal(c.idp_token, 0)
    assert.equal(c.as_token, 0)
    // No matrix line: the peer did not get a token (kit.mjs, recordMatrix).
  })
})

// --- the testkit's default secrets contain `: + / % & =` and a space ----------------------

describe('testkit default (reserved-character secrets)', () => {
  let kit
  before(async () => { kit = await Kit.start([]) })
  after(async () => { await kit?.stop() })

  const name = 'client_secret_basic without form-encoding is refused with invalid_client for a reserved-character secret'
  test(name, TIMEOUT, async () => {
    await kit.reset()
    const rec = recordingFetch()
    const err = await connectFails(kit, { rec })
    // The SDK reports the AS's OAuth error code.
    assert.equal(err?.code, 'invalid_client', String(err))
    const { as, idp } = tokenRequests(kit, rec)
    assert.ok(as.length >= 1)
    const { client_id: id, client_secret: secret } = kit.asClient
    secretEqual(as[0].headers.authorization, 'Basic ' + btoa(`${id}:${secret}`), 'Authorization is not btoa(id:secret)')
    assert.ok(as[0].headers.authorization !== basicAsIdjagSendsIt(id, secret), 'Authorization equals idjag\'s')
    // Leg 1 went through (client_secret_post is form-encoded by URLSearchParams).
    assert.ok(idp.length >= 1)
    const log = (await kit.requests()).filter((r) => r.endpoint === 'as_token')
    // auth() retries once after invalid_client (the provider has no invalidateCredentials),
    // minting a second ID-JAG for it; then the error reaches the caller.
    assert.equal(log.length, 2)
    assert.equal(idp.length, 2)
    for (const r of log) {
      assert.equal(r.status, 401)
      assert.equal(r.error, 'invalid_client')
    }
    // The AS refused the client, not the ID-JAG: the verifier was never asked.
    assert.equal((await kit.admin('last_rejection')).reason, null)
    // No matrix line: the peer did not get a token (kit.mjs, recordMatrix).
  })
})

describe('testkit --lenient-basic (reserved-character secrets)', () => {
  let kit
  before(async () => { kit = await Kit.start(['--lenient-basic']) })
  after(async () => { await kit?.stop() })

  const name = 'client_secret_basic without form-encoding is accepted by an AS that also takes raw Basic credentials'
  test(name, TIMEOUT, async () => {
    await kit.reset()
    const { client } = await connect(kit)
    assert.equal((await whoami(client)).sub, 'alice')
    await client.close()
    recordMatrix(name)
  })
})

describe('testkit --as-auth-methods client_secret_post (reserved-character secrets)', () => {
  let kit
  before(async () => { kit = await Kit.start(['--as-auth-methods', 'client_secret_post']) })
  after(async () => { await kit?.stop() })

  const name = 'client_secret_post chosen from the AS metadata is accepted with a reserved-character secret'
  test(name, TIMEOUT, async () => {
    await kit.reset()
    const { client, rec } = await connect(kit)
    assert.equal((await whoami(client)).sub, 'alice')
    await client.close()
    const [req] = tokenRequests(kit, rec).as
    assert.ok(req.headers.authorization === undefined, 'an Authorization header was sent')
    const p = Object.fromEntries(form(req))
    assert.equal(p.client_id, kit.asClient.client_id)
    secretEqual(p.client_secret, kit.asClient.client_secret, 'client_secret is not the AS client secret')
    recordMatrix(name)
  })
})

describe('testkit --as-path /as --plain-secrets', () => {
  let kit
  before(async () => { kit = await Kit.start(['--as-path', '/as', '--plain-secrets']) })
  after(async () => { await kit?.stop() })

  const name = 'AS issuer with a path: RFC 8414 path insertion first (as idjag)'
  test(name, TIMEOUT, async () => {
    await kit.reset()
    const { client, rec } = await connect(kit)
    assert.equal((await whoami(client)).sub, 'alice')
    await client.close()
    const origin = new URL(kit.asIssuer).origin
    const asMeta = rec.seen.filter((r) => r.url.startsWith(origin) && r.url.includes('/.well-known/')).map((r) => r.url)
    assert.deepEqual(asMeta, [`${origin}/.well-known/oauth-authorization-server/as`])
    recordMatrix(name)
  })
})

describe('testkit --as-path /as --as-metadata oidc-append-only --plain-secrets', () => {
  let kit
  before(async () => {
    kit = await Kit.start(['--as-path', '/as', '--as-metadata', 'oidc-append-only', '--plain-secrets'])
  })
  after(async () => { await kit?.stop() })

  // The SDK validates a document found at an openid-configuration URL as OpenID Provider
  // Metadata (OIDC Discovery 1.0 §3: jwks_uri, subject_types_supported and
  // id_token_signing_alg_values_supported are REQUIRED there; idjag does not require them).
  // The kit's AS served its bare RFC 8414 document there until this test found it; it now adds
  // those members at OIDC URLs (testkit/src/authz.rs).
  const name = 'AS discovery: RFC 8414 path insertion, OIDC path insertion, then OIDC path append, validated as OIDC metadata (as idjag)'
  test(name, TIMEOUT, async () => {
    await kit.reset()
    const { client, rec } = await connect(kit)
    assert.equal((await whoami(client)).sub, 'alice')
    await client.close()
    const origin = new URL(kit.asIssuer).origin
    const asMeta = rec.seen.filter((r) => r.url.startsWith(origin) && r.url.includes('/.well-known/')).map((r) => r.url)
    assert.deepEqual(asMeta, [
      `${origin}/.well-known/oauth-authorization-server/as`,
      `${origin}/.well-known/openid-configuration/as`,
      `${origin}/as/.well-known/openid-configuration`,
    ])
    recordMatrix(name)
  })
})

describe('testkit --plain-secrets --as-token-ttl 2', () => {
  let kit
  before(async () => { kit = await Kit.start(['--plain-secrets', '--as-token-ttl', '2']) })
  after(async () => { await kit?.stop() })

  // The provider keeps no expiry (saveTokens stores expires_in, nothing reads it): the expired
  // token is sent, the MCP server answers 401 invalid_token, and the SDK runs both legs again.
  // idjag renews before expiry instead (renewal_margin_s) and never presents an expired token.
  const name = 'expired access token: sent anyway, 401 invalid_token, then a new ID-JAG and grant (idjag renews before expiry)'
  test(name, TIMEOUT, async () => {
    await kit.reset()
    const { client } = await connect(kit)
    try {
      await whoami(client)
      await new Promise((r) => setTimeout(r, 2500))
      assert.equal((await whoami(client)).sub, 'alice')
    } finally {
      await client.close()
    }
    const c = await kit.counters()
    assert.equal(c.idp_token, 2)
    assert.equal(c.as_token, 2)
    const expired = (await kit.requests()).filter((r) => r.endpoint === 'mcp' && r.status === 401 && r.error === 'invalid_token')
    assert.ok(expired.length >= 1, 'no 401 invalid_token: the SDK did not send the expired token')
    recordMatrix(name)
  })
})
