// Session against `idjag-testkit serve` over loopback: the flow, the cache, challenges,
// events, concurrency, the event loop during a slow IdP, aborts.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { Session, Token, IdjagError } from 'idjag'
import { Kit, timed } from './kit.mjs'

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

test('accessToken runs the whole flow once, then answers from the cache without I/O', async () => {
  const session = new Session(await kit.config())
  const t = await session.accessToken(kit.mcpUrl)
  assert.ok(t instanceof Token)
  assert.equal(t.tokenType, 'Bearer')
  assert.equal(t.resource, kit.mcpUrl)
  assert.equal(t.authorizationServer, kit.asIssuer)
  assert.ok(t.expiresAt > Date.now() / 1000)
  assert.ok(t.accessToken.length > 10)
  assert.equal(t.authorization, `Bearer ${t.accessToken}`)
  assert.ok(t.matches(t.authorization) && t.matches(t.accessToken) && !t.matches('nope'))
  assert.equal(t.idJagClaims.sub, 'alice')
  let c = await kit.counters()
  assert.equal(c.idp_token, 1)
  assert.equal(c.as_token, 1)

  const again = await session.accessToken(kit.mcpUrl)
  assert.equal(again.accessToken, t.accessToken)
  const cached = session.cachedToken(kit.mcpUrl)
  assert.equal(cached.accessToken, t.accessToken)
  assert.equal(session.cachedToken(kit.mcp2Url), null)
  c = await kit.counters()
  assert.equal(c.idp_token, 1, 'a cached token costs no request')
  assert.equal(c.as_token, 1)
})

test('the configuration may be a JSON string; bad configurations throw IdjagError synchronously', async () => {
  const cfg = await kit.config()
  const s = new Session(JSON.stringify(cfg))
  assert.equal((await s.accessToken(kit.mcpUrl)).resource, kit.mcpUrl)
  assert.throws(() => new Session({ ...cfg, surprise: 1 }), (e) => {
    assert.ok(e instanceof IdjagError)
    assert.equal(e.code, 'configuration')
    assert.equal(e.step, 'config')
    assert.equal(e.action, 'reconfigure')
    return true
  })
  assert.throws(() => new Session(42), (e) => e instanceof IdjagError && e.code === 'invalid_argument')
  assert.throws(() => new Session('{'), (e) => e instanceof IdjagError && e.code === 'configuration')
  assert.throws(() => new Session(cfg, { onEvent: 'nope' }), (e) => e.code === 'invalid_argument')
  assert.throws(
    () => new Session(cfg, { onevent() {} }),
    (e) => e.code === 'invalid_argument' && e.message.includes('unknown option `onevent`'),
  )
})

test('discover and requestIdJag', async () => {
  const session = new Session(await kit.config())
  const d = await session.discover(kit.mcpUrl)
  // The core's Discovery view, top-level keys in camelCase, documents with their wire names.
  assert.deepEqual(Object.keys(d).sort(), [
    'audience',
    'authorizationServer',
    'challengedScope',
    'defaultScope',
    'internal',
    'resource',
    'resourceMetadata',
    'resourceMetadataUrl',
    'serverUrl',
  ])
  assert.equal(d.serverUrl, kit.mcpUrl)
  assert.equal(d.resource, kit.mcpUrl)
  assert.equal(d.audience, kit.asIssuer)
  assert.equal(d.internal, true, 'a loopback server')
  assert.equal(d.resourceMetadata.resource, kit.mcpUrl)
  assert.equal(d.authorizationServer.issuer, kit.asIssuer)
  assert.equal(d.authorizationServer.token_endpoint, kit.asTokenEndpoint)
  const j = await session.requestIdJag(kit.asIssuer, kit.mcpUrl, 'mcp:read')
  assert.equal(j.issuedTokenType, 'urn:ietf:params:oauth:token-type:id-jag')
  assert.equal(j.scope, 'mcp:read')
  assert.ok(j.expiresAt > Date.now() / 1000)
  assert.equal(j.assertion.split('.').length, 3)
  const j2 = await session.requestIdJag(kit.asIssuer, kit.mcpUrl)
  assert.notEqual(j2.assertion, j.assertion, 'a fresh ID-JAG every time')
  assert.equal((await kit.counters()).idp_token, 2)
})

test('invalidate drops the cache; setSubjectToken replaces the identity', async () => {
  const session = new Session(await kit.config())
  await session.accessToken(kit.mcpUrl)
  session.invalidate(kit.mcpUrl)
  assert.equal(session.cachedToken(kit.mcpUrl), null)
  await session.accessToken(kit.mcpUrl)
  const c = await kit.counters()
  assert.equal(c.as_token, 2)
  assert.ok(c.prm >= 2, 'rediscovered')

  const bob = await kit.idToken({ user: 'bob' })
  session.setSubjectToken(bob)
  session.invalidate(kit.mcpUrl)
  const t = await session.accessToken(kit.mcpUrl)
  assert.equal(t.idJagClaims.sub, 'bob')
  assert.throws(() => session.setSubjectToken(''), (e) => e.code === 'invalid_argument')
  assert.throws(() => session.setSubjectToken(bob, 'kerberos'), (e) => e.code === 'invalid_argument')
})

test('an expired ID token without a refresh token: reauthentication_required', async () => {
  const now = Math.floor(Date.now() / 1000)
  const expired = await kit.idToken({ exp: now - 60, iat: now - 600 })
  const session = new Session(await kit.config({ subject_token: expired }))
  await assert.rejects(session.accessToken(kit.mcpUrl), (e) => {
    assert.ok(e instanceof IdjagError)
    assert.equal(e.code, 'reauthentication_required')
    assert.equal(e.action, 'reauthenticate')
    assert.ok(!e.message.includes(expired))
    return true
  })
})

test('handleChallenge: 401 after revocation gets a new token; 403 insufficient_scope steps up', async () => {
  const session = new Session(await kit.config())
  const t1 = await session.accessToken(kit.mcpUrl)
  await kit.admin('revoke_access_tokens', {})
  const t2 = await session.handleChallenge(kit.mcpUrl, 401, 'Bearer error="invalid_token"', t1.accessToken)
  assert.notEqual(t2.accessToken, t1.accessToken)
  // A 401 against an older token is answered with the current one, without an exchange.
  const t3 = await session.handleChallenge(kit.mcpUrl, 401, 'Bearer error="invalid_token"', t1.accessToken)
  assert.equal(t3.accessToken, t2.accessToken)
  assert.equal((await kit.counters()).as_token, 2)
  assert.equal(session.cachedToken(kit.mcpUrl).accessToken, t2.accessToken)

  const up = await session.handleChallenge(
    kit.mcpUrl,
    403,
    'Bearer error="insufficient_scope", scope="mcp:admin"',
    t2.accessToken,
  )
  assert.ok(up.scope.split(' ').includes('mcp:admin'))
  await assert.rejects(session.handleChallenge(kit.mcpUrl, 403, 'Bearer error="forbidden"', up.accessToken), (e) => {
    assert.ok(e instanceof IdjagError)
    assert.equal(e.action, 'denied')
    return true
  })
  assert.throws(() => session.handleChallenge(kit.mcpUrl, 70000), (e) => e.code === 'invalid_argument')
})

test('onEvent: every exchange and notice, in order, delivered before the call settles; the callback may call back', async () => {
  const events = []
  const session = new Session(await kit.config(), {
    onEvent(e) {
      events.push(e)
      // Re-entrant: no idjag lock is held while the callback runs.
      session.cachedToken(kit.mcpUrl)
    },
  })
  await session.accessToken(kit.mcpUrl)
  const http = events.filter((e) => e.type === 'http')
  const notices = events.filter((e) => e.type === 'notice')
  assert.equal(http.length + notices.length, events.length, 'every event has a type')
  assert.ok(http.length >= 4, JSON.stringify(events))
  const steps = new Set(http.map((e) => e.step))
  for (const s of ['discovery', 'idp_exchange', 'as_grant']) assert.ok(steps.has(s), s)
  for (const e of http) {
    assert.equal(typeof e.durationMs, 'number')
    assert.ok(e.method === 'GET' || e.method === 'POST')
    assert.ok(!e.url.includes('?'))
    assert.equal(e.note, null)
  }
  // The first use of the AS client's credentials is announced once, before leg 1 for it.
  assert.equal(notices.length, 1, JSON.stringify(notices))
  const [n] = notices
  assert.deepEqual(Object.keys(n).sort(), ['clientId', 'issuer', 'kind', 'message', 'step', 'type'])
  assert.equal(n.kind, 'credentials_first_use')
  assert.equal(n.step, 'as_grant')
  assert.equal(n.issuer, kit.asIssuer)
  assert.equal(n.clientId, kit.asClient.client_id)
  assert.match(n.message, /client_issuers/)
  const at = (pred) => events.findIndex(pred)
  assert.ok(at((e) => e === n) < at((e) => e.step === 'idp_exchange'), 'the notice comes before leg 1')
  const shown = JSON.stringify(events)
  for (const s of kit.secrets()) assert.ok(!shown.includes(s))
  assert.equal(Object.keys(session).length, 0, 'the callback is not an enumerable property')

  // Renewing for the same AS announces nothing new.
  events.length = 0
  session.invalidate(kit.mcpUrl)
  await session.accessToken(kit.mcpUrl)
  assert.ok(events.length > 0 && events.every((e) => e.type === 'http'), JSON.stringify(events))
})

test('a client secret goes only to the AS issuers in client_issuers: refused before anything is sent', async () => {
  const { client_issuers, ...unlisted } = await kit.config()
  assert.deepEqual(client_issuers, [kit.asIssuer])
  const events = []
  for (const cfg of [unlisted, { ...unlisted, client_issuers: ['https://other-as.example'] }]) {
    await kit.reset()
    const session = new Session(cfg, { onEvent: (e) => events.push(e) })
    await assert.rejects(session.accessToken(kit.mcpUrl), (e) => {
      assert.ok(e instanceof IdjagError)
      assert.equal(e.code, 'configuration', e.message)
      assert.equal(e.action, 'reconfigure')
      assert.ok(e.message.includes(kit.asIssuer), e.message)
      assert.ok(!e.message.includes(kit.asClient.client_secret))
      return true
    })
    const c = await kit.counters()
    assert.equal(c.idp_token ?? 0, 0, 'no ID-JAG was requested')
    assert.equal(c.as_token ?? 0, 0, 'the secret was not sent')
  }
  assert.ok(!events.some((e) => e.type === 'notice'), 'no credentials were used')
  // "any" allows every AS the IdP issues for.
  const any = new Session({ ...unlisted, client_issuers: 'any' })
  assert.equal((await any.accessToken(kit.mcpUrl)).authorizationServer, kit.asIssuer)
})

test('work identity expired: one notice, reauthentication_required for every server, setSubjectToken ends it', async () => {
  const now = Math.floor(Date.now() / 1000)
  const expired = await kit.idToken({ exp: now - 3600, iat: now - 7200 })
  const events = []
  const session = new Session(await kit.config({ subject_token: expired, idp_refresh_token: 'not-a-refresh-token-the-idp-knows' }), {
    onEvent: (e) => events.push(e),
  })
  for (const url of [kit.mcpUrl, kit.mcp2Url]) {
    await assert.rejects(session.accessToken(url), (e) => {
      assert.equal(e.code, 'reauthentication_required', e.message)
      assert.equal(e.action, 'reauthenticate')
      return true
    })
  }
  const expiredNotices = events.filter((e) => e.type === 'notice' && e.kind === 'work_identity_expired')
  assert.equal(expiredNotices.length, 1, JSON.stringify(events.filter((e) => e.type === 'notice')))
  const [n] = expiredNotices
  assert.equal(n.step, 'idp_exchange')
  assert.equal(n.clientId, kit.idpClient.client_id)
  assert.match(n.message, /sign in again/)
  assert.ok(!JSON.stringify(events).includes('not-a-refresh-token'))
  session.setSubjectToken(await kit.idToken())
  for (const url of [kit.mcpUrl, kit.mcp2Url]) assert.equal((await session.accessToken(url)).resource, url)
})

test('a throwing onEvent callback does not affect the call (process warning)', async () => {
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    const session = new Session(await kit.config(), {
      onEvent() {
        throw new Error('callback bug')
      },
    })
    const t = await session.accessToken(kit.mcpUrl)
    assert.equal(t.resource, kit.mcpUrl)
    await new Promise((r) => setImmediate(r))
    assert.ok(warnings.some((w) => w.name === 'IdjagWarning' && /callback bug/.test(w.message)))
  } finally {
    process.off('warning', onWarning)
  }
})

test('100 concurrent accessToken calls: one exchange per server', async () => {
  // A kit of its own: the sessions of the other tests keep idle keep-alive connections to the
  // kit until they are garbage-collected, and tiny_http parks a thread on each
  // (testkit/README.md, "Known limitation").
  const fresh = await Kit.start()
  try {
    const session = new Session(await fresh.config())
    const calls = []
    for (let i = 0; i < 100; i++) calls.push(session.accessToken(i % 2 ? fresh.mcpUrl : fresh.mcp2Url))
    const tokens = await Promise.all(calls)
    assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 2)
    const c = await fresh.counters()
    assert.equal(c.idp_token, 2, 'one leg 1 per server')
    assert.equal(c.as_token, 2, 'one leg 2 per server')
  } finally {
    await fresh.stop()
  }
})

test('the event loop keeps running a 1 ms timer while the IdP is slow', async () => {
  const session = new Session(await kit.config())
  await kit.fault('idp_token', { type: 'delay', ms: 400 }, 1)
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  const [, ms] = await timed(() => session.accessToken(kit.mcpUrl))
  clearInterval(timer)
  assert.ok(ms >= 400, `${ms} ms`)
  // A blocked loop would see no tick at all until the call returned; allow for very coarse
  // timers on a loaded machine (≥ 400 ms of 1 ms intervals).
  assert.ok(ticks >= 20, `${ticks} ticks in ${ms.toFixed(0)} ms`)
})

test('an aborted call rejects promptly with signal.reason; a pre-aborted call does no I/O', async () => {
  const session = new Session(await kit.config())
  await kit.fault('idp_token', { type: 'delay', ms: 1500 }, 1)
  const ac = new AbortController()
  const p = session.accessToken(kit.mcpUrl, { signal: ac.signal })
  setTimeout(() => ac.abort(), 50)
  const [err, ms] = await timed(() => p.then(() => null, (e) => e))
  assert.ok(err, 'rejected')
  assert.equal(err.name, 'AbortError')
  // Well before the 1.5 s answer (the margin is for a loaded machine, not the expected time).
  assert.ok(ms < 1200, `rejected after ${ms.toFixed(0)} ms`)

  await kit.reset()
  const before = await kit.counters()
  const reason = new Error('stop')
  await assert.rejects(session.discover(kit.mcp2Url, { signal: AbortSignal.abort(reason) }), (e) => e === reason)
  assert.deepEqual(await kit.counters(), before)
  assert.throws(() => session.accessToken(kit.mcpUrl, { signal: {} }), (e) => e.code === 'invalid_argument')

  // A signal that never fires: the call settles normally and removes its listener.
  const idle = new AbortController()
  await kit.reset()
  const t = await session.accessToken(kit.mcp2Url, { signal: idle.signal })
  assert.equal(t.resource, kit.mcp2Url)
  idle.abort()
})

test('AbortSignal.timeout rejects with a TimeoutError', async () => {
  const session = new Session(await kit.config())
  await kit.fault('prm', { type: 'delay', ms: 1500 }, 1)
  await assert.rejects(session.discover(kit.mcpUrl, { signal: AbortSignal.timeout(50) }), (e) => e.name === 'TimeoutError')
})
