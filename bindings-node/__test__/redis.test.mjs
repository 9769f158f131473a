// The Redis replay store (`replay: {"redis_url": …}`, core feature `redis`, shipped by the
// addon): two Verifiers sharing one real `redis-server` (started here on a random loopback
// port, stopped at the end) accept an ID-JAG exactly once — also when both see it at the
// same moment — and an unreachable Redis fails closed.
//
// These tests FAIL when `redis-server` is not installed (run scripts/ensure-redis.sh), unless
// IDJAG_ALLOW_NO_REDIS=1 is set explicitly — as core/tests/verify_redis.rs and cli/tests/redis.rs.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { Verifier, IdjagError, tokenErrorResponse } from 'idjag'
import { Kit } from './kit.mjs'

const BIN = process.env.IDJAG_REDIS_SERVER ?? 'redis-server'
const MISSING = spawnSync(BIN, ['--version']).error !== undefined
const SKIP = MISSING && process.env.IDJAG_ALLOW_NO_REDIS === '1'
if (MISSING && !SKIP) {
  throw new Error('redis-server not found: run scripts/ensure-redis.sh (or set IDJAG_ALLOW_NO_REDIS=1 to skip the Redis tests)')
}

/** A loopback port nobody listens on right now. */
async function freePort() {
  const s = createServer()
  await new Promise((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address()
  await new Promise((r) => s.close(r))
  return port
}

/** One RESP command (inline form) on a fresh connection; the raw reply. */
function redisCommand(port, line) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1')
    let out = ''
    const t = setTimeout(() => {
      sock.destroy()
      resolve(out)
    }, 300)
    sock.on('connect', () => sock.write(`${line}\r\n`))
    sock.on('data', (d) => {
      out += d
      if (out.endsWith('\r\n')) {
        clearTimeout(t)
        sock.end()
        resolve(out)
      }
    })
    sock.on('error', (e) => {
      clearTimeout(t)
      reject(e)
    })
  })
}

let kit
let redis
let port

async function startRedis() {
  for (let attempt = 0; attempt < 5; attempt++) {
    port = await freePort()
    const child = spawn(BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    })
    let exited = false
    child.once('exit', () => (exited = true))
    for (let i = 0; i < 250 && !exited; i++) {
      const pong = await redisCommand(port, 'PING').catch(() => '')
      if (pong === '+PONG\r\n') return child
      await new Promise((r) => setTimeout(r, 20))
    }
    child.kill()
  }
  throw new Error('redis-server did not start')
}

before(async () => {
  if (SKIP) return
  kit = await Kit.start()
  redis = await startRedis()
})
after(async () => {
  if (redis) {
    const gone = new Promise((r) => redis.once('exit', r))
    redis.kill()
    await gone
  }
  if (kit) await kit.stop()
})

let prefixes = 0
/** A verifier config for the kit's AS; `replay` as given. */
const config = (replay) => ({
  issuer: kit.asIssuer,
  resources: [kit.mcpUrl],
  trusted_idps: [{ issuer: kit.idpIssuer }],
  ...(replay ? { replay } : {}),
})
const mint = async () => (await kit.admin('id_jag', { claims: { scope: 'mcp:read' } })).id_jag

test('two Verifiers sharing one Redis accept an ID-JAG exactly once', { skip: SKIP && 'IDJAG_ALLOW_NO_REDIS=1 and no redis-server' }, async () => {
  const prefix = `idjag-node-test-${process.pid}-${prefixes++}:`
  const replay = { redis_url: `redis://127.0.0.1:${port}/0`, key_prefix: prefix }
  const a = new Verifier(config(replay))
  const b = new Verifier(JSON.stringify(config(replay)))
  const client = kit.asClient.client_id

  // One after the other: A accepts, B (another replica) sees the replay.
  const first = await mint()
  const g = await a.verify(first, client, 'mcp:read')
  assert.equal(g.scope, 'mcp:read')
  await assert.rejects(b.verify(first, client), (e) => {
    assert.ok(e instanceof IdjagError)
    assert.deepEqual([e.code, e.reason], ['verification_failed', 'replayed'])
    assert.deepEqual(tokenErrorResponse(e), { status: 400, body: { error: 'invalid_grant', error_description: 'the assertion is not valid' } })
    return true
  })
  await assert.rejects(a.verify(first, client), (e) => e.reason === 'replayed')
  // The record is in Redis, under the configured prefix; a verifier with its own in-memory
  // store (the default) does not see it — the sharing is Redis's.
  assert.match(await redisCommand(port, `KEYS ${prefix}*`), /^\*1\r\n/)
  assert.equal((await new Verifier(config()).verify(first, client)).jti, g.jti)

  // At the same moment, many times over: exactly one of the two accepts each ID-JAG.
  for (let i = 0; i < 10; i++) {
    const jag = await mint()
    const results = await Promise.allSettled([a.verify(jag, client), b.verify(jag, client), a.verify(jag, client), b.verify(jag, client)])
    const accepted = results.filter((r) => r.status === 'fulfilled')
    assert.equal(accepted.length, 1, JSON.stringify(results.map((r) => r.status)))
    for (const r of results.filter((x) => x.status === 'rejected')) assert.equal(r.reason.reason, 'replayed')
  }
  assert.match(await redisCommand(port, `KEYS ${prefix}*`), /^\*11\r\n/, 'one record per accepted ID-JAG')
})

test('an unreachable Redis fails closed (transport, 503), its URL never shown', { skip: SKIP && 'IDJAG_ALLOW_NO_REDIS=1 and no redis-server' }, async () => {
  const closed = await freePort()
  const v = new Verifier(config({ redis_url: `redis://:hunter2-redis-password@127.0.0.1:${closed}/0`, redis_timeout_ms: 500 }))
  const jag = await mint()
  for (let i = 0; i < 2; i++) {
    await assert.rejects(v.verify(jag, kit.asClient.client_id), (e) => {
      assert.ok(e instanceof IdjagError)
      assert.equal(e.code, 'transport', e.message)
      assert.equal(e.reason, undefined)
      assert.equal(tokenErrorResponse(e).status, 503)
      assert.ok(!`${e.message} ${e.stack} ${e.cause?.message}`.includes('hunter2'), e.message)
      return true
    })
  }
  // Not accepted by the failure either: once Redis is back (here: the live one), it is fresh.
  const live = new Verifier(config({ redis_url: `redis://127.0.0.1:${port}/0`, key_prefix: `idjag-node-test-${process.pid}-closed:` }))
  assert.equal((await live.verify(jag, kit.asClient.client_id)).sub, 'alice')
  assert.throws(
    () => new Verifier(config({ redis_url: 'not a url with hunter2-secret' })),
    (e) => e instanceof IdjagError && e.code === 'configuration' && !e.message.includes('hunter2'),
  )
})
