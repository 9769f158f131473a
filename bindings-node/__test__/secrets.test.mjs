// Results holding secrets never show them: util.inspect, console.log, JSON.stringify,
// String(), template literals; errors never carry them either.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { inspect, format } from 'node:util'
import { Session, Client, IdjagError } from 'idjag'
import { Kit } from './kit.mjs'

let kit
before(async () => {
  kit = await Kit.start()
})
after(async () => {
  await kit.stop()
})

/** Every way a value is usually printed. */
function renderings(v) {
  return [
    inspect(v),
    inspect(v, { showHidden: true, getters: true, depth: 10 }),
    format('%o %O %s %j', v, v, v, v),
    JSON.stringify(v),
    JSON.stringify({ nested: v }),
    String(v),
    `${v}`,
  ]
}

function assertHidden(v, secret) {
  assert.ok(secret && secret.length > 10)
  for (const r of renderings(v)) assert.ok(!r.includes(secret), `secret visible in: ${r}`)
}

test('Token: only the explicit getters expose the token', async () => {
  const session = new Session(await kit.config())
  const t = await session.accessToken(kit.mcpUrl)
  assertHidden(t, t.accessToken)
  assert.match(String(t), /accessToken=<redacted>/)
  const j = JSON.parse(JSON.stringify(t))
  assert.equal(j.resource, kit.mcpUrl)
  assert.equal(j.tokenType, 'Bearer')
  assert.equal(j.expiresAt, t.expiresAt)
  assert.equal(j.accessToken, undefined)
  assert.deepEqual(Object.keys(t), [], 'no own enumerable properties')
  assert.throws(() => new t.constructor(), 'not constructible from JavaScript')
  // console.log goes through util.format: capture it.
  const lines = []
  const orig = console.log
  console.log = (...a) => lines.push(format(...a))
  try {
    console.log(t)
    console.log('token: %s', t)
  } finally {
    console.log = orig
  }
  for (const l of lines) assert.ok(!l.includes(t.accessToken), l)
  assertHidden(session, (await kit.config()).client.client_secret)
})

test('IdJag and AccessToken hide the assertion and the token', async () => {
  const session = new Session(await kit.config())
  const jag = await session.requestIdJag(kit.asIssuer, kit.mcpUrl, 'mcp:read')
  assertHidden(jag, jag.assertion)
  assert.match(String(jag), /assertion=<redacted>/)
  assert.equal(JSON.parse(JSON.stringify(jag)).scope, 'mcp:read')

  const client = new Client({ http: { timeout_ms: 5000 } })
  const at = await client.redeemIdJag({
    token_endpoint: kit.asTokenEndpoint,
    assertion: jag.assertion,
    client: kit.asClient,
    resource: kit.mcpUrl,
    scope: 'mcp:read',
  })
  assertHidden(at, at.accessToken)
  assert.equal(JSON.parse(JSON.stringify(at)).tokenType, 'Bearer')
  assert.match(String(at), /accessToken=<redacted>/)
})

test('errors never contain a secret, even when the server echoes one', async () => {
  await kit.reset()
  const cfg = await kit.config()
  const session = new Session(cfg)
  const echo = JSON.stringify({
    error: 'invalid_client',
    error_description: `bad secret ${cfg.client.client_secret} for ${cfg.subject_token}`,
  })
  await kit.fault('as_token', { type: 'status', status: 401, body: echo })
  const err = await session.accessToken(kit.mcpUrl).then(() => null, (e) => e)
  assert.ok(err instanceof IdjagError)
  assert.equal(err.oauthError, 'invalid_client')
  for (const r of [...renderings(err), err.stack, err.errorDescription]) {
    assert.ok(!r.includes(cfg.client.client_secret), r)
  }
  assert.throws(
    () => new Session({ ...cfg, client: { client_id: 'x', client_secret: cfg.client.client_secret, bogus: true } }),
    (e) => !e.message.includes(cfg.client.client_secret),
  )
  // A malformed leg-1 request (a secret where an enum is expected) is refused without it.
  const e = await new Client()
    .requestIdJag({ token_endpoint: kit.idpTokenEndpoint, audience: kit.asIssuer, subject_token: 'x', subject_token_type: cfg.subject_token, client: kit.idpClient })
    .then(() => null, (x) => x)
  assert.ok(e instanceof IdjagError && e.code === 'invalid_argument', `${e}`)
  for (const r of [...renderings(e), e.stack]) {
    assert.ok(!r.includes(cfg.subject_token) && !r.includes(kit.idpClient.client_secret), r)
  }
})
