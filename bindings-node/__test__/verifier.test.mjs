// Verifier (authorization-server side) against ID-JAGs minted by the testkit IdP.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Verifier, IdjagError, rejectReasons, tokenErrorResponse } from 'idjag'
import { Kit } from './kit.mjs'

let kit
before(async () => {
  kit = await Kit.start()
})
after(async () => {
  await kit.stop()
})

const config = (overrides = {}) => ({
  issuer: kit.asIssuer,
  resources: [kit.mcpUrl],
  trusted_idps: [{ issuer: kit.idpIssuer }],
  ...overrides,
})

async function mint(claims, header) {
  const body = {}
  if (claims) body.claims = claims
  if (header) body.header = header
  return (await kit.admin('id_jag', body)).id_jag
}

test('verify accepts once, then rejects the replay', async () => {
  const events = []
  const v = new Verifier(config(), { onEvent: (e) => events.push(e) })
  assert.equal(v.issuer, kit.asIssuer)
  const jag = await mint({ scope: 'mcp:read mcp:write' })
  const g = await v.verify(jag, kit.asClient.client_id, 'mcp:read')
  // The core's VerifiedGrant view, top-level keys in camelCase, claims with their wire names.
  assert.deepEqual(Object.keys(g).sort(), [
    'acr',
    'audSub',
    'audTenant',
    'authTime',
    'claims',
    'clientId',
    'exp',
    'firstUse',
    'iat',
    'iss',
    'jti',
    'resource',
    'resourceDefaulted',
    'scope',
    'scopeSource',
    'sub',
    'tenant',
  ])
  assert.equal(g.firstUse, true)
  assert.equal(g.tenant, null)
  assert.equal(g.iss, kit.idpIssuer)
  assert.equal(g.sub, 'alice')
  assert.equal(g.clientId, kit.asClient.client_id)
  assert.deepEqual(g.resource, [kit.mcpUrl])
  assert.equal(g.resourceDefaulted, false)
  assert.equal(g.scope, 'mcp:read', 'the ID-JAG scope narrowed to the request')
  assert.equal(g.scopeSource, 'id_jag')
  assert.ok(g.exp > Date.now() / 1000 && g.jti)
  assert.equal(g.claims.email, 'alice@example.com')
  assert.equal(g.claims.client_id, kit.asClient.client_id)
  assert.deepEqual(new Set(events.map((e) => e.step)), new Set(['discovery', 'verify']))
  const e = await v.verify(jag, kit.asClient.client_id).then(() => null, (x) => x)
  assert.ok(e instanceof IdjagError)
  assert.deepEqual([e.code, e.reason, e.step, e.action], ['verification_failed', 'replayed', 'verify', 'denied'])
  assert.ok(!e.message.includes(jag))
  const r = tokenErrorResponse(e)
  assert.equal(r.status, 400)
  assert.equal(r.body.error, 'invalid_grant')
  assert.ok(!JSON.stringify(r).includes('replay'), 'generic on the wire')
  assert.equal(tokenErrorResponse('transport').status, 503)
})

test('scope policy: no scope claim grants nothing; default_scope and client_scopes; invalid_scope on the wire', async () => {
  const client = kit.asClient.client_id
  const v = new Verifier(config())
  // An ID-JAG without a scope claim: nothing is granted, and asking for a scope is refused.
  let g = await v.verify(await mint(), client)
  assert.equal(g.scope, null)
  assert.equal(g.scopeSource, 'no_statement')
  const e = await v.verify(await mint(), client, 'mcp:read').then(() => null, (x) => x)
  assert.ok(e instanceof IdjagError)
  assert.deepEqual([e.code, e.reason, e.action], ['verification_failed', 'scope_not_granted', 'denied'])
  assert.deepEqual(tokenErrorResponse(e), {
    status: 400,
    body: { error: 'invalid_scope', error_description: 'the requested scope cannot be granted' },
  })
  // The IdjagError's code and reason are what the answer is made from.
  assert.equal(tokenErrorResponse({ code: 'verification_failed', reason: 'scope_not_granted' }).body.error, 'invalid_scope')
  assert.equal(tokenErrorResponse({ code: 'verification_failed', reason: 'expired' }).body.error, 'invalid_grant')
  assert.equal(tokenErrorResponse('verification_failed').body.error, 'invalid_grant')
  // A request is narrowed to the ID-JAG's scope, never widened; nothing in common is refused.
  g = await v.verify(await mint({ scope: 'mcp:read' }), client, 'mcp:read mcp:admin')
  assert.deepEqual([g.scope, g.scopeSource], ['mcp:read', 'id_jag'])
  await assert.rejects(v.verify(await mint({ scope: 'mcp:read' }), client, 'mcp:admin'), (x) => x.reason === 'scope_not_granted')

  // default_scope stands in for a missing claim; client_scopes caps every grant.
  const policy = new Verifier(
    config({ default_scope: 'mcp:read mcp:write', client_scopes: { [client]: 'mcp:read', 'agent-2': 'mcp:write' } }),
  )
  g = await policy.verify(await mint(), client)
  assert.deepEqual([g.scope, g.scopeSource], ['mcp:read', 'default_scope'])
  g = await policy.verify(await mint({ scope: 'mcp:read mcp:write mcp:admin' }), client)
  assert.deepEqual([g.scope, g.scopeSource], ['mcp:read', 'id_jag'])
  await assert.rejects(policy.verify(await mint({ scope: 'mcp:read mcp:write' }), client, 'mcp:write'), (x) => x.reason === 'scope_not_granted')
  assert.throws(() => new Verifier(config({ default_scope: 'bad"scope' })), (x) => x.code === 'configuration')
})

const REJECTIONS = [
  ['audience_mismatch', { aud: 'https://other-as.example' }, undefined, undefined],
  ['expired', { exp: 1_000_000, iat: 999_000 }, undefined, undefined],
  ['untrusted_issuer', { iss: 'https://evil.example' }, undefined, undefined],
  ['resource_mismatch', { resource: 'https://other.example/mcp' }, undefined, undefined],
  ['missing_claim', { jti: null }, undefined, undefined],
  ['invalid_typ', undefined, { typ: 'JWT' }, undefined],
  ['header_key_injection', undefined, { jku: 'https://evil.example/jwks' }, undefined],
  ['client_mismatch', undefined, undefined, 'someone-else'],
]

for (const [reason, claims, header, client] of REJECTIONS) {
  test(`rejects: ${reason}`, async () => {
    const v = new Verifier(config())
    const jag = await mint(claims, header)
    const e = await v.verify(jag, client ?? kit.asClient.client_id).then(() => null, (x) => x)
    assert.ok(e instanceof IdjagError)
    assert.equal(e.reason, reason)
    assert.ok(rejectReasons().includes(e.reason))
    assert.ok(!e.message.includes(jag))
  })
}

test('offline rejections and unreachable keys', async () => {
  const v = new Verifier(config({ max_assertion_bytes: 1024 }))
  for (const [assertion, reason] of [
    ['x'.repeat(2000), 'too_large'],
    ['a.b.c', 'malformed'],
    ['a.b.c.d.e', 'encrypted_unsupported'],
  ]) {
    await assert.rejects(v.verify(assertion, 'c'), (e) => e.reason === reason)
  }
  const dead = new Verifier(config({ trusted_idps: [{ issuer: kit.idpIssuer, jwks_uri: 'http://127.0.0.1:9/jwks' }] }))
  const e = await dead.verify(await mint(), kit.asClient.client_id).then(() => null, (x) => x)
  assert.equal(e.code, 'transport')
  assert.equal(e.reason, undefined)
  assert.equal(tokenErrorResponse(e).status, 503)
  await new Verifier(config()).prefetchKeys()
  assert.throws(() => new Verifier({ issuer: 'x' }), (x) => x instanceof IdjagError && x.code === 'configuration')
})

test('step-up policy: the rejection carries the requirement and tokenErrorResponse sends it (RFC 9470)', async () => {
  const v = new Verifier(config({ user_authentication: { acr_values: ['phrh', 'mfa'], max_auth_age_s: 300 } }))
  const now = Math.floor(Date.now() / 1000)
  const want = {
    status: 400,
    body: {
      error: 'insufficient_user_authentication',
      error_description: "the user's authentication does not meet this server's requirements",
      acr_values: 'phrh mfa',
      max_age: 300,
    },
  }
  for (const [claims, reason] of [
    [{ auth_time: now }, 'acr_not_accepted'],
    [{ acr: 'pwd', auth_time: now }, 'acr_not_accepted'],
    [{ acr: 'mfa' }, 'auth_time_too_old'],
    [{ acr: 'mfa', auth_time: now - 1000 }, 'auth_time_too_old'],
  ]) {
    const e = await v.verify(await mint(claims), kit.asClient.client_id).then(
      () => assert.fail('accepted'),
      (e) => e,
    )
    assert.ok(e instanceof IdjagError)
    assert.deepEqual([e.reason, e.action, e.acrValues, e.maxAge], [reason, 'reauthenticate', 'phrh mfa', 300])
    assert.deepEqual(tokenErrorResponse(e), want)
  }
  const g = await v.verify(await mint({ acr: 'phrh', auth_time: now - 10 }), kit.asClient.client_id)
  assert.deepEqual([g.acr, g.authTime], ['phrh', now - 10])
  // Other rejections carry no requirement, and their wire answer has none, whatever is passed.
  const other = await v.verify(await mint({ aud: 'https://other-as.example' }), kit.asClient.client_id).then(
    () => assert.fail('accepted'),
    (e) => e,
  )
  assert.deepEqual([other.acrValues, other.maxAge], [undefined, undefined])
  assert.deepEqual(Object.keys(tokenErrorResponse(other).body).sort(), ['error', 'error_description'])
  const parts = { code: 'verification_failed', reason: 'replayed', acrValues: 'x', maxAge: 1 }
  assert.deepEqual(Object.keys(tokenErrorResponse(parts).body).sort(), ['error', 'error_description'])
  const zero = tokenErrorResponse({ code: 'verification_failed', reason: 'auth_time_too_old', maxAge: 0 })
  assert.equal(zero.body.max_age, 0)
  assert.equal(tokenErrorResponse({ ...parts, reason: 'acr_not_accepted', maxAge: -1 }).body.max_age, undefined)
})
