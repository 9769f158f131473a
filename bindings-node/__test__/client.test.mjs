// Client: the two legs as plain calls against the testkit (requests in the shared JSON shape,
// parsed by the core's IdJagRequest/RedeemRequest::from_json), AS metadata, events and aborts.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { Client, IdjagError } from 'idjag'
import { Kit } from './kit.mjs'

let kit
before(async () => {
  kit = await Kit.start()
})
after(async () => {
  await kit.stop()
})
beforeEach(async () => {
  await kit.reset()
})

test('leg 1 then leg 2, with events', async () => {
  const events = []
  const client = new Client({ http: { timeout_ms: 5000, connect_timeout_ms: 1000 }, onEvent: (e) => events.push(e) })
  const jag = await client.requestIdJag({
    token_endpoint: kit.idpTokenEndpoint,
    issuer: kit.idpIssuer,
    audience: kit.asIssuer,
    subject_token: await kit.idToken(),
    client: kit.idpClient,
    resource: kit.mcpUrl,
    scope: 'mcp:read',
  })
  assert.equal(jag.issuedTokenType, 'urn:ietf:params:oauth:token-type:id-jag')
  assert.equal(jag.tokenType, 'N_A')
  assert.equal(jag.scope, 'mcp:read')
  // A JSON string works as well as an object.
  const at = await client.redeemIdJag(
    JSON.stringify({
      token_endpoint: kit.asTokenEndpoint,
      issuer: kit.asIssuer,
      auth_methods_supported: ['client_secret_basic'],
      assertion: jag.assertion,
      client: kit.asClient,
      resource: kit.mcpUrl,
      scope: 'mcp:read',
    }),
  )
  assert.equal(at.tokenType, 'Bearer')
  assert.ok(at.expiresIn > 0 && at.expiresAt > Date.now() / 1000)
  assert.deepEqual(
    events.map((e) => [e.type, e.step, e.method, e.status, e.note]),
    [
      ['http', 'idp_exchange', 'POST', 200, null],
      ['http', 'as_grant', 'POST', 200, null],
    ],
  )
  // An ID-JAG is single-use at the AS.
  await assert.rejects(
    client.redeemIdJag({ token_endpoint: kit.asTokenEndpoint, assertion: jag.assertion, client: kit.asClient }),
    (e) => e instanceof IdjagError && e.code === 'oauth_error' && e.oauthError === 'invalid_grant' && e.step === 'as_grant',
  )
})

test('authorizationServerMetadata, and the legs with bad credentials', async () => {
  const client = new Client()
  const m = await client.authorizationServerMetadata(kit.asIssuer)
  assert.equal(m.issuer, kit.asIssuer)
  assert.equal(m.token_endpoint, kit.asTokenEndpoint)
  await assert.rejects(
    client.requestIdJag({
      token_endpoint: kit.idpTokenEndpoint,
      audience: kit.asIssuer,
      subject_token: await kit.idToken(),
      client: { client_id: kit.idpClient.client_id, client_secret: 'wrong' },
    }),
    (e) => e.code === 'oauth_error' && e.number === 6 && e.oauthError === 'invalid_client' && e.step === 'idp_exchange',
  )
})

test('malformed requests and HTTP settings are the core\'s typed errors, naming the key, sending nothing', async () => {
  const client = new Client()
  const leg1 = { token_endpoint: kit.idpTokenEndpoint, audience: kit.asIssuer, subject_token: 'x', client: kit.idpClient }
  const cases = [
    [{ ...leg1, client: { nope: 1 } }, 'nope'],
    [{ ...leg1, subjectToken: 'camelCase is not the shape' }, 'subjectToken'],
    [{ ...leg1, subject_token: undefined }, 'subject_token'],
    [{ ...leg1, token_endpoint: 'http://idp.example/token' }, 'token_endpoint'],
    [{ ...leg1, subject_token_type: 'jwt-with-a-secret-in-it' }, 'subject_token_type'],
    ['{"token_endpoint": ', 'not valid JSON'],
  ]
  for (const [req, named] of cases) {
    await assert.rejects(client.requestIdJag(req), (e) => {
      assert.ok(e instanceof IdjagError)
      assert.equal(e.code, 'invalid_argument', e.message)
      assert.equal(e.step, 'idp_exchange', e.message)
      assert.ok(e.message.includes(named), e.message)
      assert.ok(!e.message.includes('secret-in-it') && !e.message.includes(kit.idpClient.client_secret), e.message)
      return true
    })
  }
  await assert.rejects(
    client.redeemIdJag({ token_endpoint: kit.asTokenEndpoint, client: kit.asClient }),
    (e) => e.code === 'invalid_argument' && e.step === 'as_grant' && e.message.includes('assertion'),
  )
  assert.equal((await kit.counters()).idp_token ?? 0, 0, 'nothing was sent')
  for (const [http, named] of [
    [{ timeout_ms: 0 }, 'timeout_ms'],
    [{ proxy: 'ftp://proxy.example' }, 'proxy'],
    [{ timeoutMs: 5000 }, 'timeoutMs'],
    ['{', 'not valid JSON'],
  ]) {
    assert.throws(
      () => new Client({ http }),
      (e) => e instanceof IdjagError && e.code === 'configuration' && e.message.includes(named),
      JSON.stringify(http),
    )
  }
  assert.throws(() => new Client({ http: 5 }), (e) => e.code === 'invalid_argument')
})

test('HTTP settings take effect: timeout_ms bounds a request', async () => {
  await kit.fault('idp_token', { type: 'delay', ms: 1500 }, 1)
  const client = new Client({ http: { timeout_ms: 300 } })
  const t0 = performance.now()
  await assert.rejects(
    client.requestIdJag({
      token_endpoint: kit.idpTokenEndpoint,
      audience: kit.asIssuer,
      subject_token: await kit.idToken(),
      client: kit.idpClient,
    }),
    (e) => e.code === 'timeout' && e.step === 'idp_exchange',
  )
  assert.ok(performance.now() - t0 < 1400, 'the 1.5 s delay was not waited for')
})

test('an aborted leg rejects promptly', async () => {
  await kit.fault('as_metadata', { type: 'delay', ms: 1500 }, 1)
  const client = new Client()
  const ac = new AbortController()
  const t0 = performance.now()
  const p = client.authorizationServerMetadata(kit.asIssuer, { signal: ac.signal })
  setTimeout(() => ac.abort(new Error('user cancelled')), 30)
  await assert.rejects(p, (e) => e.message === 'user cancelled')
  // Well before the 1.5 s answer (the margin is for a loaded machine, not the expected time).
  assert.ok(performance.now() - t0 < 1200)
})
