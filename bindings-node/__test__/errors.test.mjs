// IdjagError: the ErrorCode union against the core's list, fields on throws and rejections,
// panics, and one class for ESM and CommonJS.
import { test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as idjag from 'idjag'
import { Session, IdjagError, errorCodes, stepCodes, actionCodes, rejectReasons } from 'idjag'
import { Kit } from './kit.mjs'

const require = createRequire(import.meta.url)
const DTS = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8')

/** The members of `export type NAME = 'a' | 'b' ...` in index.d.ts. */
function union(name) {
  const m = DTS.match(new RegExp(`export type ${name} =([^]*?)\\n\\n`))
  assert.ok(m, `type ${name} in index.d.ts`)
  return [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1])
}

for (const [name, core] of [
  ['ErrorCode', errorCodes],
  ['ErrorStep', stepCodes],
  ['ErrorAction', actionCodes],
  ['RejectReason', rejectReasons],
]) {
  test(`the ${name} union is the core's list`, () => {
    const want = core()
    assert.deepEqual(
      union(name),
      want,
      `dts-header.d.ts should read:\nexport type ${name} =\n${want.map((c) => `  | '${c}'`).join('\n')}\n`,
    )
  })
}

test('ESM and CommonJS load one native instance', () => {
  const cjs = require('idjag')
  assert.equal(cjs.Session, Session)
  assert.equal(cjs.IdjagError, IdjagError)
  assert.equal(idjag.default.Session, Session)
  assert.equal(require('idjag/mcp').IdjagAuthProvider.name, 'IdjagAuthProvider')
  assert.equal(typeof idjag.VERSION, 'string')
  const pkg = require('idjag/package.json')
  assert.equal(idjag.VERSION, pkg.version, 'the crate and the package have one version')
})

test('IdjagError is an Error subclass', () => {
  const e = new IdjagError('m', { code: 'internal', number: 16, step: 'config', action: 'retry', cause: 'why' })
  assert.ok(e instanceof Error && e instanceof IdjagError)
  assert.equal(e.name, 'IdjagError')
  assert.equal(e.code, 'internal')
  assert.equal(e.cause.message, 'why')
  assert.match(String(e), /^IdjagError: m/)
  assert.ok(e.stack.includes('IdjagError'))
})

test('a Rust panic rejects with an internal error and Node keeps running', async () => {
  for (let i = 0; i < 3; i++) {
    await assert.rejects(idjag.default._panicForTests(), (e) => {
      assert.ok(e instanceof IdjagError)
      assert.equal(e.code, 'internal')
      assert.match(e.message, /panicked/)
      return true
    })
  }
})

test('argument errors throw invalid_argument synchronously', () => {
  assert.throws(() => idjag.inspect('not a jwt'), (e) => e instanceof IdjagError && e.code === 'invalid_argument')
})

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

test('an OAuth error carries oauthError, errorDescription, errorUri and status', async () => {
  const session = new Session(await kit.config())
  const body = JSON.stringify({
    error: 'invalid_grant',
    error_description: 'the assertion was refused',
    error_uri: 'https://as.example/errors/1',
  })
  await kit.fault('as_token', { type: 'status', status: 400, body })
  await assert.rejects(session.accessToken(kit.mcpUrl), (e) => {
    assert.ok(e instanceof IdjagError && e instanceof Error)
    assert.equal(e.code, 'oauth_error')
    assert.equal(e.number, 6, 'the stable number of oauth_error')
    assert.equal(e.step, 'as_grant')
    assert.equal(e.oauthError, 'invalid_grant')
    assert.equal(e.errorDescription, 'the assertion was refused')
    assert.equal(e.errorUri, 'https://as.example/errors/1')
    assert.equal(e.status, 400)
    assert.ok(['reauthenticate', 'reconfigure', 'retry', 'denied'].includes(e.action))
    assert.equal(e.reason, undefined, 'absent fields are not set')
    assert.ok(!('reason' in e))
    return true
  })
})

test('every rejection carries the stable number of its code', async () => {
  // The numbers are public API (the C ABI returns them, the CLI exits with 9 + number); the
  // core pins the table, errorCodes() lists the codes in ascending number order.
  const PINNED = { invalid_argument: 1, configuration: 2, transport: 3, http_status: 5, response_invalid: 7, verification_failed: 15 }
  const codes = errorCodes()
  for (const [code, number] of Object.entries(PINNED)) assert.equal(codes[number - 1], code)
  assert.throws(() => new Session(42), (e) => e.number === PINNED.invalid_argument)
  assert.throws(() => new Session({ surprise: 1 }), (e) => e.number === PINNED.configuration)
  await assert.rejects(new idjag.Verifier({ issuer: kit.asIssuer, resources: [kit.mcpUrl], trusted_idps: [{ issuer: kit.idpIssuer }] }).verify('a.b.c', 'c'), (e) => e.number === PINNED.verification_failed)
})

test('transport, http_status and response errors', async () => {
  const dead = new Session(await kit.config({ idp: { ...(await kit.config()).idp, issuer: 'http://127.0.0.1:9' } }))
  await assert.rejects(dead.accessToken(kit.mcpUrl), (e) => {
    assert.equal(e.code, 'transport')
    assert.equal(e.step, 'discovery')
    assert.equal(e.action, 'retry')
    return true
  })
  const s = new Session(await kit.config())
  await kit.fault('idp_token', { type: 'status', status: 502, body: 'bad gateway', content_type: 'text/plain' }, 1)
  await assert.rejects(s.accessToken(kit.mcpUrl), (e) => e.code === 'http_status' && e.number === 5 && e.status === 502 && e.step === 'idp_exchange')
  await kit.fault('as_token', { type: 'malformed_json' }, 1)
  await assert.rejects(s.accessToken(kit.mcpUrl), (e) => e.code === 'response_invalid' && e.number === 7 && e.step === 'as_grant')
  await assert.rejects(s.accessToken('not a url'), (e) => e.code === 'invalid_argument')
})

test('wrong argument types throw invalid_argument without echoing the value', async () => {
  const session = new Session(await kit.config())
  const secretish = 'eyJ-this-could-be-a-token'
  const cases = [
    () => session.accessToken(42),
    () => session.accessToken(kit.mcpUrl, 'not options'),
    () => session.cachedToken({ toString: () => secretish }),
    () => session.handleChallenge(kit.mcpUrl, '401'),
    () => session.handleChallenge(kit.mcpUrl, 401, 7),
    () => session.setSubjectToken(Buffer.from(secretish)),
    () => session.setSubjectToken(secretish, 5),
    () => session.requestIdJag(kit.asIssuer, [secretish]),
    () => session.invalidate(),
    () => new idjag.Client({ http: 42 }),
    () => new idjag.Client({ timeoutMs: 'soon' }),
    () => new idjag.Client().redeemIdJag(42),
    () => new idjag.Client().requestIdJag([secretish]),
    () => idjag.inspect({ jwt: secretish }),
    () => idjag.parseWwwAuthenticate([secretish, 3]),
  ]
  for (const f of cases) {
    assert.throws(f, (e) => {
      assert.ok(e instanceof IdjagError, `${f}: ${e}`)
      assert.equal(e.code, 'invalid_argument', `${f}`)
      assert.ok(!e.message.includes(secretish) && !/\b42\b/.test(e.message), e.message)
      return true
    })
  }
  // URL objects are accepted where a server URL is expected.
  assert.equal((await session.accessToken(new URL(kit.mcpUrl))).resource, kit.mcpUrl)
})
