// The real `@modelcontextprotocol/client` (pinned in package.json) against the testkit's MCP
// server through `idjag/mcp`: the AuthProvider, the fetch middleware and the `assertion`
// callback of the SDK's own CrossAppAccessProvider.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import {
  Client,
  CrossAppAccessProvider,
  InsufficientScopeError,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client'
import { Session, IdjagError } from 'idjag'
import { IdjagAuthProvider, assertionCallback, withIdjag } from 'idjag/mcp'
import { Kit, recordMatrix } from './kit.mjs'

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

async function connect(options) {
  const client = new Client({ name: 'idjag-node-test', version: '0.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(kit.mcpUrl), options))
  return client
}

const text = (r) => r.content[0].text

/** The idjag error inside an SDK error (it wraps auth failures). */
function idjagError(e) {
  for (let x = e; x; x = x.cause) if (x instanceof IdjagError) return x
  return null
}

test('IdjagAuthProvider: list tools and call them with one exchange', async () => {
  const session = new Session(await kit.config())
  const client = await connect({ authProvider: new IdjagAuthProvider(session, kit.mcpUrl) })
  try {
    const tools = (await client.listTools()).tools.map((t) => t.name)
    for (const n of ['whoami', 'echo', 'admin_reset']) assert.ok(tools.includes(n), n)
    const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })))
    assert.equal(who.sub, 'alice')
    assert.equal(who.client_id, kit.asClient.client_id)
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'hello' } })), 'hello')
  } finally {
    await client.close()
  }
  const c = await kit.counters()
  assert.deepEqual([c.idp_token, c.as_token], [1, 1], 'one exchange for the whole conversation')
  recordMatrix('node', 'testkit', 'bindings-node/__test__/mcp.test.mjs::IdjagAuthProvider: list tools and call them with one exchange')
})

test('IdjagAuthProvider: a 401 is answered by handleChallenge and the request retried', async () => {
  const session = new Session(await kit.config())
  const client = await connect({ authProvider: new IdjagAuthProvider(session, kit.mcpUrl) })
  try {
    await client.listTools()
    // The server's clock jumps past every token's expiry: the next call gets a 401.
    await kit.admin('clock', { offset_secs: 400 })
    const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })))
    assert.equal(who.sub, 'alice')
    // The SDK steps up only for its own OAuth providers; with an AuthProvider it throws.
    await assert.rejects(client.callTool({ name: 'admin_reset', arguments: {} }), (e) => e instanceof InsufficientScopeError)
  } finally {
    await client.close()
  }
  assert.equal((await kit.counters()).as_token, 2)
})

test('withIdjag: 401 recovery and 403 insufficient_scope step-up', async () => {
  const session = new Session(await kit.config())
  const client = await connect({ fetch: withIdjag(session)(fetch) })
  try {
    await client.listTools()
    await kit.admin('clock', { offset_secs: 400 })
    const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })))
    assert.ok(!who.scope.split(' ').includes('mcp:admin'))
    assert.equal(text(await client.callTool({ name: 'admin_reset', arguments: {} })), 'reset done')
    const after = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })))
    assert.ok(after.scope.split(' ').includes('mcp:admin'))
  } finally {
    await client.close()
  }
  assert.equal((await kit.counters()).as_token, 3, 'initial, after the 401, step-up')
})

test('assertionCallback: the SDK CrossAppAccessProvider with idjag doing leg 1', async () => {
  // The SDK sends HTTP Basic credentials without the RFC 6749 §2.3.1 form-encoding
  // (docs/GUIDE.md, "Interoperability notes"), so this kit uses secrets that need none.
  const plain = await Kit.start(['--plain-secrets'])
  try {
    const session = new Session(await plain.config())
    const provider = new CrossAppAccessProvider({
      assertion: assertionCallback(session),
      clientId: plain.asClient.client_id,
      clientSecret: plain.asClient.client_secret,
      expectedIssuer: plain.asIssuer,
    })
    const client = new Client({ name: 'idjag-node-test', version: '0.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(plain.mcpUrl), { authProvider: provider }))
    try {
      const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })))
      assert.equal(who.sub, 'alice')
    } finally {
      await client.close()
    }
    const c = await plain.counters()
    assert.equal(c.idp_token, 1)
    assert.equal(c.as_token, 1)
  } finally {
    await plain.stop()
  }
})

test('concurrent requests through one provider share one exchange', async () => {
  const session = new Session(await kit.config())
  const provider = new IdjagAuthProvider(session, kit.mcpUrl)
  const tokens = await Promise.all(Array.from({ length: 50 }, () => provider.token()))
  assert.equal(new Set(tokens).size, 1)
  const c = await kit.counters()
  assert.deepEqual([c.idp_token, c.as_token], [1, 1])
  assert.ok(!JSON.stringify(provider).includes(tokens[0]))
  assert.ok(!String(provider).includes(tokens[0]))
})

test('reauthentication_required reaches the caller through the SDK', async () => {
  const now = Math.floor(Date.now() / 1000)
  const expired = await kit.idToken({ exp: now - 60, iat: now - 600 })
  const session = new Session(await kit.config({ subject_token: expired }))
  const e = await connect({ authProvider: new IdjagAuthProvider(session, kit.mcpUrl) }).then(
    () => null,
    (x) => x,
  )
  const err = idjagError(e)
  assert.ok(err, `an IdjagError inside ${e}`)
  assert.equal(err.code, 'reauthentication_required')
  assert.throws(() => new IdjagAuthProvider({}, kit.mcpUrl), TypeError)
  assert.throws(() => new IdjagAuthProvider(session), TypeError)
})
